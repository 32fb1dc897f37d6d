"""Bringing a database to life: migrations, core fields, the first admin, demo data."""

from __future__ import annotations

import random
from datetime import timedelta

from alembic import command
from alembic.config import Config
from sqlmodel import Session, select

from mautic_app.db import get_engine
from mautic_app.models import Contact
from mautic_app.models.base import utcnow
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
    from mautic_app.services import fields, users

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


def seed_demo(*, session: Session, contacts: int = 300, seed: int = 7) -> bool:
    """Demo data, once: contacts spread over the last 60 days, companies, tags and stages."""
    from mautic_app.services import companies, stages
    from mautic_app.services import contacts as contact_service

    if session.exec(select(Contact.id)).first() is not None:
        return False
    rnd = random.Random(seed)
    stage_ids = [stages.save_stage(session=session, stage_id=None, name=n, weight=w).id for n, w in STAGES]
    company_ids = [companies.create(session=session, values={"companyname": n, "companycity": rnd.choice(CITIES)[0]}) for n in COMPANIES]
    now = utcnow()
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
            Contact.__table__.update().where(Contact.__table__.c.id == cid).values(
                date_added=added, last_active=min(now, added + timedelta(hours=rnd.randint(0, 72)))
            )
        )
        if not anonymous and rnd.random() < 0.6:
            companies.link_contact(session=session, company_id=rnd.choice(company_ids), contact_id=cid)
        if rnd.random() < 0.1:
            contact_service.add_note(session=session, contact_id=cid, text="Met at the spring trade show.", type="meeting")
    return True
