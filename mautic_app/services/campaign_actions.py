"""What each campaign action does, for a batch of contacts, through the services of its area (tags, points,
segments, e-mail, ...). Each handler runs inside the engine's transaction, so a batch is done entirely or not at
all; work outside the database (messages, webhooks) is queued to follow the commit."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app import changefeed, db, outgoing
from mautic_app.domain import campaigns as rules
from mautic_app.models import Campaign, CampaignMember, Company, CompanyContact, Contact, Email, Stage, User
from mautic_app.models.base import table_of
from mautic_app.services import bulk, campaign_engine, companies, contacts, email_sends, points, segments

Handler = Callable[[Session, int, rules.Event, list[int], datetime], "campaign_engine.Outcome"]


class ActionError(ValueError):
    """The action cannot run for anyone in the batch (its e-mail was deleted, ...): the batch fails and is retried."""


def _outcome(**kw: Any) -> campaign_engine.Outcome:
    return campaign_engine.Outcome(**kw)


def _one_id(value: Any) -> int | None:
    ids = rules.ids_of(value)
    return ids[0] if ids else None


# ------------------------------------------------------------------ e-mail


def send_email(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    email_id = _one_id(e.properties.get("email"))
    if email_id is None:
        raise ActionError("No e-mail chosen.")
    marketing = str(e.properties.get("email_type") or "marketing") != "transactional"
    try:
        stats = email_sends.send_to_contacts(session=session, email_id=email_id, contact_ids=ids, source="campaign", source_id=int(e.id),
                                             marketing=marketing)
    except email_sends.SendError as exc:
        raise ActionError(str(exc)) from exc
    return _outcome(skipped={c: st.error for c, st in stats.items() if st.status == "skipped"})


def send_email_to_user(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    p = e.properties
    email_id = _one_id(p.get("useremail"))
    if email_id is None or session.get(Email, email_id) is None:
        raise ActionError("The e-mail to send no longer exists.")
    users = rules.ids_of(p.get("user_id"))
    fixed = [a for a in rules.texts_of(p.get("to"))]
    fixed += [addr for addr in session.execute(sa.select(col(User.email)).where(col(User.id).in_(users))).scalars() if addr]
    owners = dict(session.execute(sa.select(col(Contact.id), col(User.email)).join(User, col(User.id) == col(Contact.owner_id))
                                  .where(col(Contact.id).in_(ids))).tuples().all()) if p.get("to_owner") else {}
    for cid in ids:
        for address in sorted({*fixed, *([owners[cid]] if owners.get(cid) else [])}):
            db.enqueue(session, email_sends.SEND_COPY_TASK, email_id, address, cid)
    return _outcome()


# ------------------------------------------------------------------ the contact


def change_points(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    """Set-based: one statement for the batch. The timeline shows the campaign log's line ("Campaign …: 5 points"),
    so no line of its own is written; group points keep theirs, with each contact's new score."""
    try:
        delta = int(str(e.properties.get("points") or 0))
    except ValueError as exc:
        raise ActionError("Points must be a whole number.") from exc
    group = _one_id(e.properties.get("group"))
    if group is not None:
        name = session.execute(sa.select(col(Campaign.name)).where(col(Campaign.id) == campaign_id)).scalar() or ""
        reason = f"Campaign {name}: {e.name}"[:191]
        for cid in ids:
            points.adjust(session=session, contact_id=cid, delta=delta, reason=reason, group_id=group)
        return _outcome()
    if delta == 0:
        return _outcome()
    t = table_of(Contact)
    step = max(len(ids), 1) if session.get_bind().dialect.name == "postgresql" else 1000  # one array parameter there
    for i in range(0, len(ids), step):
        session.execute(sa.update(t).where(db.among(session, t.c.id, ids[i:i + step])).values(points=t.c.points + delta, date_modified=now))
    if points.has_triggers(session=session):
        for cid in ids:
            points.run_triggers(session=session, contact_id=cid, at=now)
    changefeed.publish_after_commit(session, "contacts", {"ids": ids[:1000], "action": "points"})
    return _outcome()


def change_segments(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    segments.change_by_hand(session=session, contact_ids=ids, add=rules.ids_of(e.properties.get("addToLists")),
                            remove=rules.ids_of(e.properties.get("removeFromLists")))
    return _outcome()


def change_tags(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    add = rules.texts_of(e.properties.get("add_tags"))
    remove = rules.texts_of(e.properties.get("remove_tags"))
    # the timeline shows the campaign log's line for it
    contacts.modify_tags(session=session, contact_ids=ids, tags=[*add, *(f"-{r}" for r in remove)], log_event=False)
    return _outcome()


def update_contact(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    values = _values(e.properties)
    failed: dict[int, str] = {}
    for cid in ids:
        try:
            with session.begin_nested():
                contacts.update(session=session, contact_id=cid, values=values, source="campaign")
        except contacts.ContactError as exc:
            failed[cid] = str(exc)
    return _outcome(failed=failed)


def update_company(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    values = _values(e.properties)
    cc = table_of(CompanyContact)
    primary = dict(session.execute(sa.select(cc.c.contact_id, cc.c.company_id).where(cc.c.contact_id.in_(ids), cc.c.is_primary.is_(True)))
                   .tuples().all())
    skipped = {cid: "No primary company." for cid in ids if cid not in primary}
    for company_id in sorted(set(primary.values())):
        companies.update(session=session, company_id=company_id, values=values)
    return _outcome(skipped=skipped)


def _values(p: dict[str, Any]) -> dict[str, Any]:
    """Mautic posts the fields either flat or under ``fields``."""
    raw = p.get("fields") if isinstance(p.get("fields"), dict) else {k: v for k, v in p.items() if k != "fields"}
    return {str(k): v for k, v in (raw or {}).items() if v not in (None, "")}


def add_to_company(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    company_id = _one_id(e.properties.get("company"))
    if company_id is None or session.get(Company, company_id) is None:
        raise ActionError("The company no longer exists.")
    for cid in ids:
        companies.link_contact(session=session, company_id=company_id, contact_id=cid)
    return _outcome()


def change_owner(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    owner = _one_id(e.properties.get("owner"))
    if owner is None or session.get(User, owner) is None:
        raise ActionError("The owner no longer exists.")
    contacts.set_owner(session=session, contact_ids=ids, owner_id=owner)
    return _outcome()


def company_score(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    try:
        score = int(str(e.properties.get("score") or 0))
    except ValueError as exc:
        raise ActionError("The score must be a whole number.") from exc
    cc, co = table_of(CompanyContact), table_of(Company)
    company_ids = set(session.execute(sa.select(cc.c.company_id).where(cc.c.contact_id.in_(ids))).scalars())
    if company_ids:
        session.execute(sa.update(co).where(co.c.id.in_(company_ids)).values(score=co.c.score + score))
    return _outcome(skipped={cid: "No company." for cid in ids} if not company_ids else {})


def add_dnc(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    reason = str(e.properties.get("reason") or "")[:1000]
    for cid in ids:
        for channel in rules.texts_of(e.properties.get("channels")) or ["email"]:
            contacts.add_dnc(session=session, contact_id=cid, channel=channel, reason=3, comments=reason or f"Campaign {campaign_id}")
    return _outcome()


def remove_dnc(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    for cid in ids:
        for channel in rules.texts_of(e.properties.get("channels")) or ["email"]:
            contacts.remove_dnc(session=session, contact_id=cid, channel=channel)
    return _outcome()


def delete_contact(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    contacts.delete(session=session, contact_ids=ids)
    return _outcome(stopped=set(ids))


def change_stage(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    """Refused (left as it is) for a contact already there or in a stage that weighs more, as in Mautic."""
    stage = session.get(Stage, _one_id(e.properties.get("stage")) or 0)
    if stage is None:
        raise ActionError("The stage no longer exists.")
    weights = dict(session.execute(sa.select(col(Stage.id), col(Stage.weight))).tuples().all())
    current = dict(session.execute(sa.select(col(Contact.id), col(Contact.stage_id)).where(col(Contact.id).in_(ids))).tuples().all())
    skipped: dict[int, str] = {}
    moving = []
    for cid in ids:
        now_in = current.get(cid)
        if now_in == stage.id:
            skipped[cid] = "Already in this stage."
        elif now_in is not None and weights.get(now_in, 0) > stage.weight:
            skipped[cid] = "Already in a stage that weighs more."
        else:
            moving.append(cid)
    if moving:
        contacts.set_stage(session=session, contact_ids=moving, stage_id=stage.id)
    return _outcome(skipped=skipped)


# ------------------------------------------------------------------ campaigns


def change_campaigns(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    def resolve(value: Any) -> list[int]:
        items = value if isinstance(value, list) else [value] if value not in (None, "") else []
        out = []
        for item in items:
            out.append(campaign_id) if str(item) == rules.THIS_CAMPAIGN else out.extend(rules.ids_of(item))
        return out

    stopped: set[int] = set()
    for target in resolve(e.properties.get("removeFrom")):
        campaign_engine.remove_contacts(session=session, campaign_id=target, contact_ids=ids, manually=False, now=now)
        if target == campaign_id:
            stopped = set(ids)
    for target in resolve(e.properties.get("addTo")):
        if target != campaign_id and session.get(Campaign, target) is not None:
            campaign_engine.add_contacts(session=session, campaign_id=target, contact_ids=ids, manually=False, now=now)
    return _outcome(stopped=stopped)


def jump_to_event(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    g = campaign_engine.graph(session=session, campaign_id=campaign_id)
    target = g.events.get(_one_id(e.properties.get("jumpToEvent")) or -1)
    if target is None:
        raise ActionError("The event to jump to was deleted.")
    m = table_of(CampaignMember)
    rotations = dict(session.execute(sa.select(m.c.contact_id, m.c.rotation).where(m.c.campaign_id == campaign_id, m.c.contact_id.in_(ids)))
                     .tuples().all())
    campaign_engine.jump(session=session, campaign_id=campaign_id, target=target, members=[(c, rotations.get(c, 1)) for c in ids], now=now)
    return _outcome()


# ------------------------------------------------------------------ the outside world


def send_webhook(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    """Checked now (a public http(s) host, unless ``MAUTIC_OUTGOING_ALLOW_PRIVATE`` allows it), sent after the commit
    by a task that retries."""
    url = str(e.properties.get("url") or "")
    problem = rules.webhook_url_problem(url) or outgoing.url_refusal(url)
    if problem:
        raise ActionError(problem)
    for cid in ids:
        db.enqueue(session, campaign_engine.WEBHOOK_TASK, campaign_id, int(e.id), cid)
    return _outcome()


def webhook_request(*, session: Session, campaign_id: int, event_id: int, contact_id: int) -> dict[str, Any] | None:
    """What the webhook task sends: the event's URL, method and headers, and a JSON body with the contact, signed
    with the instance's key (``X-Mautic-Signature``: base64 HMAC-SHA256 of the body) so the receiver can trust it."""
    from mautic_app.models import CampaignEvent
    from mautic_app.settings import get_settings
    row = session.get(CampaignEvent, event_id)
    contact = contacts.read(session=session, contact_id=contact_id)
    if row is None or contact is None:
        return None
    p = row.properties or {}
    extra = p.get("additional_data") if isinstance(p.get("additional_data"), dict) else {}
    body = json.dumps({"campaign_id": campaign_id, "event_id": event_id, "contact": contacts.jsonable(contact),
                       "data": extra}, default=str, sort_keys=True)
    headers = {str(k): str(v) for k, v in (p.get("headers") or {}).items()} if isinstance(p.get("headers"), dict) else {}
    import base64
    signature = base64.b64encode(hmac.new(get_settings().secret_key.encode(), body.encode(), hashlib.sha256).digest()).decode()
    headers |= {"Content-Type": "application/json", "X-Mautic-Signature": signature}
    method = str(p.get("method") or "post").upper()
    try:
        timeout = max(1, min(int(str(p.get("timeout") or 10)), 30))
    except ValueError:
        timeout = 10
    return {"url": str(p.get("url") or ""), "method": method if method in ("GET", "POST", "PUT", "PATCH", "DELETE") else "POST",
            "headers": headers, "body": body, "timeout": timeout}


def tracking_event(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    """Kept on the timeline; ``mtc.js`` hands it to the site's analytics on the contact's next page view."""
    p = e.properties
    details = {"category": str(p.get("category") or "")[:191], "action": str(p.get("action") or "")[:191],
               "label": str(p.get("label") or "")[:191], "campaign_id": campaign_id, "pending": True}
    bulk.log_events(session=session, events=[{"contact_id": c, "event_type": "campaign.tracking_event", "occurred_at": now,
                                              "details": details} for c in ids])
    return _outcome()


def show_focus(session: Session, campaign_id: int, e: rules.Event, ids: list[int], now: datetime) -> campaign_engine.Outcome:
    """Kept on the timeline; the focus item's script shows it on the contact's next page view."""
    focus_id = _one_id(e.properties.get("focus"))
    if focus_id is None:
        raise ActionError("No focus item chosen.")
    bulk.log_events(session=session, events=[{"contact_id": c, "event_type": "campaign.show_focus", "occurred_at": now,
                                              "details": {"focus_id": focus_id, "campaign_id": campaign_id, "pending": True}} for c in ids])
    return _outcome()


HANDLERS: dict[str, Handler] = {
    "email.send": send_email,
    "email.send.to.user": send_email_to_user,
    "lead.changepoints": change_points,
    "lead.changelist": change_segments,
    "lead.updatelead": update_contact,
    "lead.updatecompany": update_company,
    "lead.changetags": change_tags,
    "lead.addtocompany": add_to_company,
    "lead.changeowner": change_owner,
    "lead.scorecontactscompanies": company_score,
    "lead.adddnc": add_dnc,
    "lead.removednc": remove_dnc,
    "lead.deletecontact": delete_contact,
    "stage.change": change_stage,
    "campaign.addremovelead": change_campaigns,
    "campaign.jump_to_event": jump_to_event,
    "campaign.sendwebhook": send_webhook,
    "campaign.sendtrackingevent": tracking_event,
    "focus.show": show_focus,
}
