"""Bringing a database to life: migrations, core fields, the first admin, demo data."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from alembic import command
from alembic.config import Config
from sqlmodel import Session, col, select

from mautic_app.db import get_engine, session_scope
from mautic_app.domain import email_templates
from mautic_app.domain import tracking as rules
from mautic_app.models import Campaign, Contact, ContactEvent, Email, EmailLink, EmailStat, Segment
from mautic_app.models.base import utcnow
from mautic_app.services import (
    campaign_engine,
    campaigns,
    companies,
    email_sends,
    email_tracking,
    emails,
    fields,
    mailer,
    segments,
    stages,
    tracking,
    users,
)
from mautic_app.services import contacts as contact_service
from mautic_app.settings import PROJECT_ROOT


def migrate() -> None:
    """``alembic upgrade head`` on the configured database (never ``create_all``)."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["configure_logger"] = False
    with get_engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def bootstrap(*, session: Session, admin_user: str, admin_password: str | None) -> str | None:
    fields.ensure_core_fields(session=session)
    return users.ensure_admin(session=session, username=admin_user, password=admin_password)


FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "John", "Radia",
         "Tim", "Hedy", "Edsger", "Karen", "Donald", "Sophie", "Yukihiro", "Guido", "Anita"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
        "McCarthy", "Perlman", "Berners-Lee", "Lamarr", "Dijkstra", "Jones", "Knuth", "Wilson", "Matsumoto", "Rossum", "Borg"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises", "Soylent"]
CITIES = [("Paris", "France"), ("Berlin", "Germany"), ("Boston", "United States"), ("Tokyo", "Japan"),
          ("London", "United Kingdom"), ("Madrid", "Spain"), ("Toronto", "Canada")]
TAGS = ["newsletter", "customer", "lead", "vip", "webinar", "trial"]
STAGES = [("Lead", 10), ("Marketing qualified", 20), ("Sales qualified", 30), ("Customer", 40)]
SITE = "https://www.example.com"
# Eight addresses in all (the campaign's landing counts as one): every demo page stays in the top ten.
PAGES = [("/", "Acme Cloud: analytics for busy teams"), ("/features", "Features | Acme Cloud"),
         ("/pricing", "Pricing | Acme Cloud"), ("/blog/spring-launch", "Spring launch: what's new | Acme Cloud"),
         ("/docs/getting-started", "Getting started | Acme Cloud docs"), ("/customers", "Customer stories | Acme Cloud"),
         ("/contact", "Talk to sales | Acme Cloud")]
CAMPAIGN_LANDING = ("/?utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch", PAGES[0][1])
REFERRERS = [None, None, "https://www.google.com/", "https://www.linkedin.com/", "https://news.ycombinator.com/"]
AGENTS = [  # desktop more often than phones, as on a B2B site
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
]


def seed_demo(*, session: Session, contacts: int = 300, seed: int = 7) -> bool:
    """Demo data, once: contacts spread over the last 60 days, companies, tags, stages and site visits."""
    if session.exec(select(Contact.id)).first() is not None:
        return False
    rnd = random.Random(seed)
    stage_ids = [stages.save_stage(session=session, stage_id=None, name=n, weight=w).id for n, w in STAGES]
    company_ids = [companies.create(session=session, values={"companyname": n, "companycity": rnd.choice(CITIES)[0]}) for n in COMPANIES]
    now = utcnow()
    visitors: list[tuple[int, datetime]] = []
    for i in range(contacts):
        anonymous = i % 5 == 0
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        city, country = rnd.choice(CITIES)
        values = {"city": city, "country": country, "points": rnd.randint(0, 120)}
        if not anonymous:
            values |= {"firstname": first, "lastname": last, "email": f"{first}.{last}.{i}@example.com".lower()}
        cid, _ = contact_service.create(
            session=session, values=values, check_required=False, source="demo",
            stage_id=rnd.choice(stage_ids + [None]) if not anonymous else None,
            tags=rnd.sample(TAGS, rnd.randint(0, 2)),
        )
        added = now - timedelta(days=rnd.randint(0, 59), minutes=rnd.randint(0, 1440))
        session.execute(
            Contact.__table__.update().where(Contact.__table__.c.id == cid).values(  # type: ignore[attr-defined]
                date_added=added, last_active=min(now, added + timedelta(hours=rnd.randint(0, 72)))
            )
        )
        if not anonymous and rnd.random() < 0.6:
            companies.link_contact(session=session, company_id=rnd.choice(company_ids), contact_id=cid)
        if rnd.random() < 0.1:
            contact_service.add_note(session=session, contact_id=cid, text="Met at the spring trade show.", type="meeting")
        if rnd.random() < 0.6:
            visitors.append((cid, added))
    session.flush()
    events, people = ContactEvent.__table__, Contact.__table__  # type: ignore[attr-defined]  # SQLModel does not declare it
    session.execute(  # timelines so far (created, identified, linked, noted) date from when each contact was added
        events.update().values(occurred_at=select(people.c.date_added).where(people.c.id == events.c.contact_id).scalar_subquery())
    )
    _seed_visits(session=session, rnd=rnd, visitors=visitors, now=now)
    return True


def _seed_visits(*, session: Session, rnd: random.Random, visitors: list[tuple[int, datetime]], now: datetime) -> None:
    """Visits to a demo site, written as the hit writer writes tracked hits: devices, pages, UTM tags, timelines.

    Each visitor comes back now and then from when they were added (up to 60 days ago, so some of
    the last 30 days' visitors are returning ones); a few visitors are on the site now.
    """
    hits: list[dict[str, Any]] = []
    for n, (cid, added) in enumerate(visitors):
        device, pid, agent = rules.new_id(), tracking.ensure_public_id(session=session, contact_id=cid), rnd.choice(AGENTS)
        ip = f"203.0.113.{rnd.randint(1, 254)}"
        starts = sorted(added + (now - added) * rnd.random() for _ in range(rnd.randint(1, 4)))
        if n < 3:  # on the site right now, for the live panel
            starts.append(now - timedelta(minutes=rnd.randint(1, 20)))
        for visit, at in enumerate(starts):
            pages = rnd.sample(PAGES, rnd.randint(1, 4))
            if visit == 0 and rnd.random() < 0.3:
                pages[0] = CAMPAIGN_LANDING
            referrer = rnd.choice(REFERRERS) if pages[0] is not CAMPAIGN_LANDING else None
            for path, title in pages:
                hits.append({"at": at.isoformat(), "ip": ip, "ua": agent, "device": device, "pid": pid, "source": "mtc",
                             "page": {"url": SITE + path, "title": title, "referrer": referrer, "language": "en"},
                             "langs": ["en-US", "en"]})
                referrer = SITE + path
                at += timedelta(seconds=rnd.randint(15, 240))
    hits.sort(key=lambda h: h["at"])
    tracking.record_hits(session=session, hits=hits, max_age=timedelta(days=61))


def seed_demo_emails(*, seed: int = 7, recipients: int = 60) -> int:
    """Demo e-mails, once: a welcome template and a newsletter really sent (through the outbox) to a demo
    segment, some of it opened and clicked. Only while no transport is configured: demo mail never leaves."""
    rnd = random.Random(seed)
    with session_scope() as session:
        if mailer.config(session=session).kind != "outbox" or session.exec(select(Email.id)).first() is not None:
            return 0
        ids = [i for i in session.exec(select(col(Contact.id)).where(col(Contact.email).is_not(None)).order_by(col(Contact.id)).limit(recipients)) if i]
        segment = segments.save_segment(session=session, values={"name": "Newsletter readers", "description": "Demo: the newsletter's audience"})
        assert segment.id is not None
        segments.add_contacts(session=session, segment_id=segment.id, contact_ids=ids)
        emails.save_email(session=session, values={"name": "Welcome", "subject": "Welcome, {contactfield=firstname|friend}!",
                                                   "content_mjml": email_templates.source("announcement"), "template": "announcement"})
        news = emails.save_email(session=session, values={
            "name": "Monthly news", "email_type": "list", "subject": "{contactfield=firstname|Hello}, our monthly news",
            "preheader": "What happened this month", "content_mjml": email_templates.source("newsletter"), "template": "newsletter",
            "utm_tags": {"utmSource": "mautic", "utmMedium": "email", "utmCampaign": "monthly-news"}}, segment_ids=[segment.id])
        assert news.id is not None
        send_id = email_sends.start_broadcast(session=session, email_id=news.id).id
        assert send_id is not None
    while email_sends.run_broadcast(send_id=send_id, chain="demo"):
        pass
    with session_scope() as session:
        link = session.exec(select(EmailLink).where(EmailLink.email_id == news.id)).first()
        for stat in session.exec(select(EmailStat).where(EmailStat.send_id == send_id)).all():
            if rnd.random() < 0.5:
                email_tracking.record_open(session=session, tracking_hash=stat.tracking_hash)
                if link is not None and rnd.random() < 0.4:
                    email_tracking.record_click(session=session, redirect_id=link.redirect_id, tracking_hash=stat.tracking_hash)
    return len(ids)


def seed_demo_campaign(*, seed: int = 7) -> int:
    """A demo campaign, once, running on the demo newsletter's readers: the welcome e-mail, then an open decision
    (three days): openers get points and a tag, the others a "needs a nudge" tag. Some open at once."""
    rnd = random.Random(seed)
    with session_scope() as session:
        segment = session.exec(select(Segment).where(Segment.name == "Newsletter readers")).first()
        welcome = session.exec(select(Email).where(Email.name == "Welcome")).first()
        if segment is None or welcome is None or session.exec(select(Campaign.id)).first() is not None:
            return 0
        wait = {"triggerMode": "interval", "triggerInterval": 3, "triggerIntervalUnit": "d"}
        c = campaigns.save_campaign(session=session, values={
            "name": "Welcome journey", "description": "Demo: welcome new readers and see who engages", "category": "Onboarding",
            "lists": [{"id": segment.id}], "isPublished": True, "events": [
                {"id": "new1", "name": "Send the welcome", "type": "email.send", "eventType": "action", "properties": {"email": welcome.id}},
                {"id": "new2", "name": "Opens the welcome", "type": "email.open", "eventType": "decision", "parent": "new1"},
                {"id": "new3", "name": "Reward the reader", "type": "lead.changepoints", "eventType": "action", "parent": "new2",
                 "decisionPath": "yes", "properties": {"points": 10}},
                {"id": "new4", "name": "Tag as engaged", "type": "lead.changetags", "eventType": "action", "parent": "new3",
                 "properties": {"add_tags": ["engaged"]}},
                {"id": "new5", "name": "Tag for a nudge", "type": "lead.changetags", "eventType": "action", "parent": "new2",
                 "decisionPath": "no", "properties": {"add_tags": ["needs-nudge"]}, **wait},
            ]})
        campaign_id = int(c.id or 0)
    with session_scope() as session:
        campaign_engine.sync_members(session=session, campaign_id=campaign_id)
    campaign_engine.run_due()
    with session_scope() as session:
        sent = session.exec(select(EmailStat).where(EmailStat.source == "campaign")).all()
        email_tracking.record_opens(session=session, hashes=[st.tracking_hash for st in sent if rnd.random() < 0.4])
    campaign_engine.run_due()
    return campaign_id
