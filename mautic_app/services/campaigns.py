"""Campaigns as marketers and API clients edit them: saved in Mautic's JSON shape (``lists``, ``forms``, ``events``
with ``new1`` ids and ``parent`` links, ``canvasSettings``), so the builder, the API and an import share one path;
publishing checks the campaign first; and the counts the canvas and the stats page show."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app import changefeed, clock, db, outgoing
from mautic_app.domain import campaign_schedule as timing_rules
from mautic_app.domain import campaigns as rules
from mautic_app.models import (
    Campaign,
    CampaignEvent,
    CampaignForm,
    CampaignLog,
    CampaignMember,
    CampaignSegment,
    Contact,
    Email,
    Form,
    Segment,
    Stage,
)
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import campaign_engine

SYNC_TASK = "mautic.campaigns.sync_members"
MAX_EVENTS = 500
MAX_NAME = 191


class CampaignError(ValueError):
    """What is wrong with a campaign: ``errors`` by field, ``events`` by event id (shown on the node)."""

    def __init__(self, errors: dict[str, str], events: dict[str, list[str]] | None = None, status: int = 400) -> None:
        super().__init__("; ".join([*(f"{k}: {v}" for k, v in errors.items()), *(f"event {k}: {' '.join(v)}" for k, v in (events or {}).items())]))
        self.errors = errors
        self.events = events or {}
        self.status = status


# ------------------------------------------------------------------ reading


def get_campaign(*, session: Session, campaign_id: int) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def status_of(c: Campaign, now: datetime | None = None) -> str:
    """Draft, published, scheduled (published with a start date to come) or expired."""
    now = now or clock.now()
    if not c.is_published:
        return "draft"
    if c.publish_up is not None and _aware(c.publish_up) > now:
        return "scheduled"
    if c.publish_down is not None and _aware(c.publish_down) <= now:
        return "expired"
    return "published"


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def list_campaigns(*, session: Session, search: str = "", category: str = "", start: int = 0, limit: int = 30,
                   order_by: str = "name", descending: bool = False) -> tuple[int, list[dict[str, Any]]]:
    q = sa.select(Campaign)
    if search.strip():
        like = f"%{search.strip().lower()}%"
        q = q.where(sa.or_(sa.func.lower(col(Campaign.name)).like(like), sa.func.lower(col(Campaign.category)).like(like)))
    if category:
        q = q.where(col(Campaign.category) == category)
    total = session.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
    column = {"name": col(Campaign.name), "date_added": col(Campaign.date_added), "category": col(Campaign.category),
              "id": col(Campaign.id)}.get(order_by, col(Campaign.name))
    rows = list(session.execute(q.order_by(column.desc() if descending else column, col(Campaign.id)).offset(max(0, start)).limit(limit)).scalars())
    counts = member_counts(session=session, campaign_ids=[c.id for c in rows if c.id is not None])
    return total, [summary(c, counts.get(c.id or 0, 0)) for c in rows]


def summary(c: Campaign, members: int) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "category": c.category, "description": c.description, "status": status_of(c),
            "is_published": c.is_published, "members": members,
            "publish_up": c.publish_up.isoformat() if c.publish_up else "", "publish_down": c.publish_down.isoformat() if c.publish_down else "",
            "date_added": c.date_added.isoformat() if c.date_added else ""}


def member_counts(*, session: Session, campaign_ids: list[int]) -> dict[int, int]:
    m = table_of(CampaignMember)
    return dict(session.execute(sa.select(m.c.campaign_id, sa.func.count()).where(m.c.campaign_id.in_(campaign_ids), m.c.removed.is_(False))
                                .group_by(m.c.campaign_id)).tuples().all()) if campaign_ids else {}


def categories(*, session: Session) -> list[str]:
    return [c for c in session.execute(sa.select(col(Campaign.category)).distinct().order_by(col(Campaign.category))).scalars() if c]


def events_of(*, session: Session, campaign_id: int) -> list[CampaignEvent]:
    return list(session.execute(sa.select(CampaignEvent).where(col(CampaignEvent.campaign_id) == campaign_id, col(CampaignEvent.deleted).is_(False))
                                .order_by(col(CampaignEvent.order), col(CampaignEvent.id))).scalars())


def sources_of(*, session: Session, campaign_id: int) -> tuple[list[int], list[int]]:
    segs = list(session.execute(sa.select(col(CampaignSegment.segment_id)).where(col(CampaignSegment.campaign_id) == campaign_id)).scalars())
    forms = list(session.execute(sa.select(col(CampaignForm.form_id)).where(col(CampaignForm.campaign_id) == campaign_id)).scalars())
    return sorted(segs), sorted(forms)


def event_json(e: CampaignEvent) -> dict[str, Any]:
    """An event in Mautic's API shape."""
    return {"id": e.id, "name": e.name, "description": e.description, "type": e.event_type, "eventType": e.kind, "order": e.order,
            "properties": e.properties or {}, "triggerMode": e.trigger_mode, "triggerInterval": e.trigger_interval,
            "triggerIntervalUnit": e.trigger_interval_unit, "triggerDate": e.trigger_date.isoformat() if e.trigger_date else None,
            "triggerHour": e.trigger_hour or None, "triggerRestrictedStartHour": e.trigger_window_start or None,
            "triggerRestrictedStopHour": e.trigger_window_stop or None, "triggerRestrictedDaysOfWeek": list(e.trigger_weekdays or []),
            "decisionPath": e.decision_path, "parent": {"id": e.parent_id} if e.parent_id else None,
            "channel": e.channel or None, "channelId": e.channel_id}


def campaign_json(*, session: Session, campaign_id: int) -> dict[str, Any]:
    """The whole campaign in Mautic's API shape (what GET /api/campaigns/{id} returns and the builder loads)."""
    c = session.get(Campaign, campaign_id)
    if c is None:
        raise CampaignError({"id": f"Campaign {campaign_id} not found."}, status=404)
    segs, forms = sources_of(session=session, campaign_id=campaign_id)
    names = dict(session.execute(sa.select(col(Segment.id), col(Segment.name)).where(col(Segment.id).in_(segs))).tuples().all())
    form_names = dict(session.execute(sa.select(col(Form.id), col(Form.name)).where(col(Form.id).in_(forms))).tuples().all())
    return {"id": c.id, "name": c.name, "description": c.description, "category": c.category or None, "isPublished": c.is_published,
            "publishUp": c.publish_up.isoformat() if c.publish_up else None, "publishDown": c.publish_down.isoformat() if c.publish_down else None,
            "allowRestart": c.allow_restart, "dateAdded": c.date_added.isoformat() if c.date_added else None,
            "dateModified": c.date_modified.isoformat() if c.date_modified else None, "createdBy": c.created_by,
            "events": [event_json(e) for e in events_of(session=session, campaign_id=campaign_id)],
            "lists": [{"id": i, "name": names.get(i, "")} for i in segs], "forms": [{"id": i, "name": form_names.get(i, "")} for i in forms],
            "canvasSettings": c.canvas_settings or {}}


# ------------------------------------------------------------------ saving (the builder, the API and imports)


def _text(value: Any, limit: int = MAX_NAME) -> str:
    return str(value or "").strip()[:limit]


def _bool(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "yes", "on")


def _when(value: Any, key: str, errors: dict[str, str]) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return _aware(value)
    try:
        return _aware(datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T")))
    except ValueError:
        errors[key] = "Use a date and time like 2026-12-24T09:00."
        return None


def _ref(value: Any) -> str | None:
    """An event reference as posted: 12, "12", "new3", {"id": 12}."""
    if isinstance(value, dict):
        value = value.get("id")
    return None if value in (None, "", 0, "0") else str(value)


def _source_ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value] if value not in (None, "") else []
    out = []
    for item in items:
        out.extend(rules.ids_of(item.get("id") if isinstance(item, dict) else item))
    return sorted(set(out))


def save_campaign(*, session: Session, campaign_id: int | None = None, values: dict[str, Any], user_id: int | None = None,
                  partial: bool = False) -> Campaign:
    """Create or edit a campaign from Mautic's JSON. Events missing from ``events`` are removed (kept, marked deleted,
    when they ran for someone); ``partial`` (PATCH) keeps whatever is not given. Publishing checks the whole
    campaign first and refuses, naming each event's problem."""
    errors: dict[str, str] = {}
    c = Campaign(name="") if campaign_id is None else session.get(Campaign, campaign_id)
    if c is None:
        raise CampaignError({"id": f"Campaign {campaign_id} not found."}, status=404)
    db.take_sqlite_write_lock(session.connection())
    was_live = campaign_engine.is_live(c, clock.now()) if c.id else False
    if not partial or "name" in values:
        c.name = _text(values.get("name"))
        if not c.name:
            errors["name"] = "A campaign needs a name."
    for key, attr, limit in (("description", "description", 65535), ("category", "category", MAX_NAME)):
        if not partial or key in values:
            setattr(c, attr, _text(values.get(key), limit) if not isinstance(values.get(key), dict) else _text(values[key].get("title")))
    if not partial or "allowRestart" in values:
        c.allow_restart = _bool(values.get("allowRestart"))
    if not partial or "publishUp" in values:
        c.publish_up = _when(values.get("publishUp"), "publishUp", errors)
    if not partial or "publishDown" in values:
        c.publish_down = _when(values.get("publishDown"), "publishDown", errors)
    if c.publish_up and c.publish_down and c.publish_down <= c.publish_up:
        errors["publishDown"] = "The end must come after the start."
    publish = _bool(values.get("isPublished")) if "isPublished" in values else (c.is_published if c.id else False)
    if errors:
        raise CampaignError(errors)
    c.date_modified = utcnow()
    if c.id is None:
        c.created_by = user_id
    session.add(c)
    session.flush()
    assert c.id is not None
    if not partial or "lists" in values:
        _set_sources(session, c.id, CampaignSegment, "segment_id", _source_ids(values.get("lists")), Segment, errors, "lists")
    if not partial or "forms" in values:
        _set_sources(session, c.id, CampaignForm, "form_id", _source_ids(values.get("forms")), Form, errors, "forms")
    mapping: dict[str, int] = {}
    if not partial or "events" in values:
        mapping = _set_events(session, c.id, values.get("events") or [], errors)
    if not partial or "canvasSettings" in values:
        c.canvas_settings = _canvas(values.get("canvasSettings"), mapping)
    if errors:
        raise CampaignError(errors)
    if publish:
        found = validate(session=session, campaign_id=c.id)
        if found:
            by_event: dict[str, list[str]] = defaultdict(list)
            general = []
            for p in found:
                (by_event[str(p.event)].append(p.message) if p.event is not None else general.append(p.message))
            raise CampaignError({"isPublished": " ".join(general) or "Fix the events marked on the canvas before publishing."}, dict(by_event))
    c.is_published = publish
    session.add(c)
    session.flush()
    changefeed.publish_after_commit(session, campaign_engine.TOPIC, {"ids": [c.id], "action": "saved"})
    changefeed.publish_after_commit(session, f"campaign:{c.id}", {"action": "saved"})
    if publish:
        db.enqueue(session, SYNC_TASK, c.id)
        if not was_live:
            db.enqueue(session, campaign_engine.RUN_TASK)
    return c


def _set_sources(session: Session, campaign_id: int, model: Any, column: str, ids: list[int], target: Any, errors: dict[str, str],
                 key: str) -> None:
    known = set(session.execute(sa.select(col(target.id)).where(col(target.id).in_(ids))).scalars()) if ids else set()
    missing = [i for i in ids if i not in known]
    if missing:
        errors[key] = f"Not found: {', '.join(map(str, missing))}."
        return
    t = table_of(model)
    session.execute(sa.delete(t).where(t.c.campaign_id == campaign_id, t.c[column].not_in(ids)))
    have = set(session.execute(sa.select(t.c[column]).where(t.c.campaign_id == campaign_id)).scalars())
    for i in ids:
        if i not in have:
            session.add(model(campaign_id=campaign_id, **{column: i}))
    session.flush()


def _set_events(session: Session, campaign_id: int, posted: Any, errors: dict[str, str]) -> dict[str, int]:
    """Create, update and remove events; returns posted id → saved id (``new1`` → 31)."""
    if not isinstance(posted, list) or len(posted) > MAX_EVENTS:
        errors["events"] = f"Events must be a list of at most {MAX_EVENTS}."
        return {}
    existing = {str(e.id): e for e in session.execute(sa.select(CampaignEvent).where(col(CampaignEvent.campaign_id) == campaign_id)).scalars()}
    mapping: dict[str, int] = {}
    rows: list[tuple[dict[str, Any], CampaignEvent]] = []
    for i, raw in enumerate(posted):
        if not isinstance(raw, dict):
            errors[f"events[{i}]"] = "Each event must be an object."
            continue
        ref = _ref(raw.get("id")) or f"new{i}"
        key = str(raw.get("type") or "")
        kind = str(raw.get("eventType") or (rules.EVENT_TYPES[key].kind if key in rules.EVENT_TYPES else ""))
        t = rules.EVENT_TYPES.get(key)
        if t is None:
            errors[f"events[{i}]"] = f"Unknown event type {key[:40]!r}."
            continue
        if kind != t.kind:
            errors[f"events[{i}]"] = f"{t.label} is a {t.kind}."
            continue
        e = existing.get(ref) if ref in existing and not existing[ref].deleted else None
        if e is None:
            e = CampaignEvent(campaign_id=campaign_id, name="", event_type=key, kind=kind)
        try:
            timing = timing_rules.Timing.from_mautic(raw)
        except ValueError as exc:
            errors[f"events[{i}]"] = str(exc)
            continue
        props: dict[str, Any] = raw["properties"] if isinstance(raw.get("properties"), dict) else {}
        e.name = _text(raw.get("name")) or t.label
        e.description = _text(raw.get("description"), 2000)
        e.event_type, e.kind = key, kind
        e.properties = _clean_properties(props)
        e.order = int(raw.get("order") or i + 1) if str(raw.get("order") or "").lstrip("-").isdigit() else i + 1
        e.trigger_mode, e.trigger_interval, e.trigger_interval_unit = timing.mode, timing.interval, timing.unit
        e.trigger_date = _aware(timing.date) if timing.date else None
        e.trigger_hour = timing.hour.strftime("%H:%M") if timing.hour else ""
        e.trigger_window_start = timing.window_start.strftime("%H:%M") if timing.window_start else ""
        e.trigger_window_stop = timing.window_stop.strftime("%H:%M") if timing.window_stop else ""
        e.trigger_weekdays = list(timing.weekdays)
        path = str(raw.get("decisionPath") or "").lower()
        e.decision_path = path if path in (rules.YES, rules.NO) else None
        e.channel = t.channel
        e.channel_id = rules.ids_of(props.get("email") or props.get("focus") or props.get("forms"))[0] \
            if rules.ids_of(props.get("email") or props.get("focus") or props.get("forms")) else None
        session.add(e)
        rows.append((raw, e))
    session.flush()
    for raw, e in rows:
        assert e.id is not None
        mapping[_ref(raw.get("id")) or f"new{posted.index(raw)}"] = e.id
    for raw, e in rows:
        parent = _ref(raw.get("parent") if "parent" in raw else raw.get("parentId"))
        e.parent_id = mapping.get(parent) if parent is not None else None
        if parent is not None and e.parent_id is None:
            errors[f"events.{e.id}"] = f"Its parent {parent!r} is not an event of this campaign."
        if e.event_type == "campaign.jump_to_event":
            target = _ref(e.properties.get("jumpToEvent"))
            e.properties = {**e.properties, "jumpToEvent": mapping.get(target or "", int(target) if target and target.isdigit() else None)}
        session.add(e)
    kept = {e.id for _, e in rows}
    gone = [e for e in existing.values() if e.id not in kept and not e.deleted]
    if gone:
        ran = set(session.execute(sa.select(col(CampaignLog.event_id)).where(col(CampaignLog.event_id).in_([e.id for e in gone])).distinct()).scalars())
        log_t = table_of(CampaignLog)
        session.execute(sa.update(log_t).where(log_t.c.event_id.in_([e.id for e in gone]), log_t.c.status.in_(campaign_engine.OPEN))
                        .values(status="cancelled"))
        for e in gone:
            if e.id in ran:
                e.deleted, e.parent_id = True, None
                session.add(e)
        session.flush()
        for e in gone:
            if e.id not in ran:
                session.execute(sa.update(table_of(CampaignEvent)).where(table_of(CampaignEvent).c.parent_id == e.id).values(parent_id=None))
                session.execute(sa.delete(log_t).where(log_t.c.event_id == e.id))  # its cancelled rows
                session.delete(e)
    session.flush()
    return mapping


def _clean_properties(props: dict[str, Any]) -> dict[str, Any]:
    """Stored as given (it is JSON, never executed), minus Mautic's form-only noise, within a sane size."""
    out = {str(k)[:64]: v for k, v in props.items() if k not in ("_token", "buttons")}
    if len(repr(out)) > 20000:
        raise CampaignError({"properties": "An event's settings are too large."})
    return out


def _canvas(raw: Any, mapping: dict[str, int]) -> dict[str, Any]:
    """Node positions in Mautic's shape, with posted ids (``new1``) turned into saved ones."""
    if not isinstance(raw, dict):
        return {}
    nodes = []
    for n in raw.get("nodes") or []:
        if not isinstance(n, dict):
            continue
        ident = str(n.get("id") or "")
        ident = str(mapping.get(ident, ident))
        try:
            nodes.append({"id": ident[:64], "positionX": float(n.get("positionX") or 0), "positionY": float(n.get("positionY") or 0)})
        except (TypeError, ValueError):
            continue
    return {"nodes": nodes[:MAX_EVENTS + 50]}


def validate(*, session: Session, campaign_id: int) -> list[rules.Problem]:
    segs, forms = sources_of(session=session, campaign_id=campaign_id)
    g = campaign_engine.graph(session=session, campaign_id=campaign_id)
    exists = {"email": set(session.execute(sa.select(col(Email.id))).scalars()), "form": set(session.execute(sa.select(col(Form.id))).scalars()),
              "stage": set(session.execute(sa.select(col(Stage.id))).scalars()), "segments": set(session.execute(sa.select(col(Segment.id))).scalars())}
    found = rules.problems(g, sources=len(segs) + len(forms), exists=exists)
    for e in g.events.values():  # a webhook's host must be public (checked again at every send)
        url = str(e.properties.get("url") or "")
        refusal = outgoing.url_refusal(url) if e.type == "campaign.sendwebhook" and url and not rules.webhook_url_problem(url) else None
        if refusal:
            found.append(rules.Problem(e.id, refusal))
    return found


def set_published(*, session: Session, campaign_id: int, published: bool) -> Campaign:
    return save_campaign(session=session, campaign_id=campaign_id, values={"isPublished": published}, partial=True)


def clone(*, session: Session, campaign_id: int, user_id: int | None = None) -> Campaign:
    data = campaign_json(session=session, campaign_id=campaign_id)
    data = copy.deepcopy(data)
    ids = {str(e["id"]): f"new{e['id']}" for e in data["events"]}
    for e in data["events"]:
        e["id"] = ids[str(e["id"])]
        e["parent"] = ids.get(str((e.get("parent") or {}).get("id"))) if e.get("parent") else None
        if e["type"] == "campaign.jump_to_event":
            e["properties"]["jumpToEvent"] = ids.get(str(e["properties"].get("jumpToEvent")))
    data["canvasSettings"] = {"nodes": [{**n, "id": ids.get(str(n.get("id")), n.get("id"))} for n in (data.get("canvasSettings") or {}).get("nodes", [])]}
    data["name"] = f"{data['name']} (copy)"[:MAX_NAME]
    data["isPublished"] = False
    return save_campaign(session=session, values=data, user_id=user_id)


def delete(*, session: Session, campaign_ids: list[int]) -> int:
    db.take_sqlite_write_lock(session.connection())
    t, log_t = table_of(Campaign), table_of(CampaignLog)
    # Locked first: an engine batch running them (it holds a share lock) finishes, so its log rows are deleted too.
    ids = session.execute(sa.select(t.c.id).where(t.c.id.in_(campaign_ids)).order_by(t.c.id).with_for_update()).scalars().all()
    if ids:
        session.execute(sa.delete(log_t).where(log_t.c.campaign_id.in_(ids)))
    n = db.rows_changed(session.execute(sa.delete(t).where(t.c.id.in_(ids))))
    changefeed.publish_after_commit(session, campaign_engine.TOPIC, {"ids": campaign_ids, "action": "deleted"})
    return n


# ------------------------------------------------------------------ what the canvas and stats page show


def node_counts(*, session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per event: contacts there now (scheduled or waiting), done, failed, and on each path; per source: members."""
    t = table_of(CampaignLog)
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"now": 0, "done": 0, "scheduled": 0, "failed": 0, "yes": 0, "no": 0})
    for event_id, status, path, n in session.execute(
            sa.select(t.c.event_id, t.c.status, t.c.path, sa.func.count()).where(t.c.campaign_id == campaign_id)
            .group_by(t.c.event_id, t.c.status, t.c.path)).tuples():
        c = out[str(event_id)]
        if status in ("scheduled", "waiting"):
            c["now"] += n
            if status == "scheduled":
                c["scheduled"] += n
        elif status == "done":
            c["done"] += n
            if path in (rules.YES, rules.NO):
                c[path] += n
        elif status == "failed":
            c["failed"] += n
    m = table_of(CampaignMember)
    out["members"]["now"] = session.execute(sa.select(sa.func.count()).where(m.c.campaign_id == campaign_id, m.c.removed.is_(False))).scalar_one()
    return dict(out)


def contact_exists(*, session: Session, contact_id: int) -> bool:
    return session.get(Contact, contact_id) is not None


def members_page(*, session: Session, campaign_id: int, start: int = 0, limit: int = 30) -> tuple[int, list[dict[str, Any]]]:
    m = table_of(CampaignMember)
    where = sa.and_(m.c.campaign_id == campaign_id, m.c.removed.is_(False))
    total = session.execute(sa.select(sa.func.count()).where(where)).scalar_one()
    rows = session.execute(sa.select(m.c.contact_id, m.c.date_added, m.c.manually_added, m.c.rotation, col(Contact.email),
                                     col(Contact.firstname), col(Contact.lastname))
                           .join(Contact, col(Contact.id) == m.c.contact_id).where(where).order_by(m.c.contact_id).offset(start).limit(limit)).all()
    return total, [{"id": r.contact_id, "email": r.email or "", "name": f"{r.firstname or ''} {r.lastname or ''}".strip(),
                    "date_added": r.date_added.isoformat() if r.date_added else "", "manually_added": r.manually_added,
                    "rotation": r.rotation} for r in rows]


def contact_campaigns(*, session: Session, contact_id: int) -> list[dict[str, Any]]:
    """The campaigns a contact is in, each with its next scheduled event (the contact page's card)."""
    m, t, ev = table_of(CampaignMember), table_of(CampaignLog), table_of(CampaignEvent)
    out = []
    for r in session.execute(sa.select(m.c.campaign_id, m.c.rotation, m.c.date_added, m.c.removed, col(Campaign.name))
                             .join(Campaign, col(Campaign.id) == m.c.campaign_id).where(m.c.contact_id == contact_id).order_by(col(Campaign.name))):
        nxt = session.execute(sa.select(ev.c.name, t.c.trigger_date).join(ev, ev.c.id == t.c.event_id).where(
            t.c.campaign_id == r.campaign_id, t.c.contact_id == contact_id, t.c.rotation == r.rotation, t.c.status == "scheduled")
            .order_by(t.c.trigger_date).limit(1)).first()
        out.append({"id": r.campaign_id, "name": r.name, "removed": r.removed, "joined": r.date_added.isoformat() if r.date_added else "",
                    "next_event": nxt.name if nxt else "", "next_at": _aware(nxt.trigger_date).isoformat() if nxt and nxt.trigger_date else ""})
    return out


def contact_log(*, session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Every campaign event of a contact, for GET /api/campaigns/events/contact/{id} (Mautic's shape)."""
    t, ev = table_of(CampaignLog), table_of(CampaignEvent)
    rows = session.execute(sa.select(t, ev.c.name, ev.c.event_type, ev.c.kind, col(Campaign.name).label("campaign_name"))
                           .join(ev, ev.c.id == t.c.event_id).join(Campaign, col(Campaign.id) == t.c.campaign_id)
                           .where(t.c.contact_id == contact_id).order_by(t.c.id)).all()
    return [{"id": r.id, "campaign": {"id": r.campaign_id, "name": r.campaign_name},
             "event": {"id": r.event_id, "name": r.name, "type": r.event_type, "eventType": r.kind},
             "rotation": r.rotation, "isScheduled": r.status == "scheduled", "status": r.status, "nonActionPathTaken": r.path == rules.NO,
             "triggerDate": _aware(r.trigger_date).isoformat() if r.trigger_date else None,
             "dateTriggered": _aware(r.date_triggered).isoformat() if r.date_triggered else None,
             "systemTriggered": r.system_triggered, "metadata": r.metadata or {}} for r in rows]


def activity_by_day(*, session: Session, campaign_id: int, days: int = 30, today: date | None = None) -> dict[str, Any]:
    """Events done and failed per day over ``days`` days, and members joining, for the stats page's charts."""
    today = today or clock.now().date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    t, m = table_of(CampaignLog), table_of(CampaignMember)
    axis = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    done: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    joined: dict[str, int] = defaultdict(int)
    for when, status in session.execute(sa.select(t.c.date_triggered, t.c.status).where(
            t.c.campaign_id == campaign_id, t.c.date_triggered >= since, t.c.status.in_(("done", "failed")))).tuples():
        (done if status == "done" else failed)[_aware(when).date().isoformat()] += 1
    for (when,) in session.execute(sa.select(m.c.date_added).where(m.c.campaign_id == campaign_id, m.c.date_added >= since)).tuples():
        joined[_aware(when).date().isoformat()] += 1
    return {"days": axis, "done": [done[d] for d in axis], "failed": [failed[d] for d in axis], "joined": [joined[d] for d in axis]}
