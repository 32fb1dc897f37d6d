"""A campaign as one JSON file, to move it to another instance: its events, and the e-mails and segments they use.

The import treats the file as hostile (Mautic's own campaign import had a path traversal and an unrestricted upload,
GHSA-6r9h-4h75-7q4x): it is parsed as JSON and nothing else, within a size and depth, every string is capped, no
value is ever used as a path or executed, and references are matched by name in this instance (or created) rather
than trusted as ids. The campaign arrives unpublished.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app.domain import campaigns as rules
from mautic_app.models import Campaign, Email, Form, Segment
from mautic_app.services import campaigns, segments

FORMAT, VERSION = "mautic-app-campaign", 1
MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 20
MAX_TEXT = 200_000  # an e-mail's HTML
EMAIL_KEYS = ("name", "subject", "preheader", "from_address", "from_name", "reply_to", "email_type", "custom_html", "content_mjml",
              "plain_text", "language", "category", "template")
EMAIL_REFS = {"email.send": ("email",), "email.send.to.user": ("useremail",)}
SEGMENT_REFS = {"lead.changelist": ("addToLists", "removeFromLists"), "lead.segments": ("segments",)}
FORM_REFS = {"form.submit": ("forms",), "form.field_value": ("form",)}


def export_campaign(*, session: Session, campaign_id: int) -> dict[str, Any]:
    data = campaigns.campaign_json(session=session, campaign_id=campaign_id)
    email_ids: set[int] = set()
    segment_ids: set[int] = {s["id"] for s in data["lists"]}
    form_ids: set[int] = {f["id"] for f in data["forms"]}
    for e in data["events"]:
        for refs, into in ((EMAIL_REFS, email_ids), (SEGMENT_REFS, segment_ids), (FORM_REFS, form_ids)):
            for key in refs.get(e["type"], ()):
                into.update(rules.ids_of(e["properties"].get(key)))
    mails = session.execute(sa.select(Email).where(col(Email.id).in_(email_ids))).scalars().all()
    segs = session.execute(sa.select(Segment).where(col(Segment.id).in_(segment_ids))).scalars().all()
    forms = session.execute(sa.select(Form).where(col(Form.id).in_(form_ids))).scalars().all()
    return {"format": FORMAT, "version": VERSION, "campaign": data,
            "emails": [{"id": m.id, **{k: getattr(m, k) for k in EMAIL_KEYS}} for m in mails],
            "segments": [{"id": s.id, "name": s.name, "alias": s.alias, "description": s.description, "filters": s.filters or []} for s in segs],
            "forms": [{"id": f.id, "name": f.name} for f in forms]}


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _capped(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, dict):
        return {str(k)[:64]: _capped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_capped(v) for v in value[:5000]]
    return value


def parse(data: bytes) -> dict[str, Any]:
    """The file's JSON, or a :class:`campaigns.CampaignError` saying why it is refused."""
    if len(data) > MAX_BYTES:
        raise campaigns.CampaignError({"file": f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."}, status=413)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise campaigns.CampaignError({"file": "The file is not a campaign export (not JSON)."}) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION or not isinstance(doc.get("campaign"), dict):
        raise campaigns.CampaignError({"file": "The file is not a campaign export of this product."})
    if _depth(doc) > MAX_DEPTH:
        raise campaigns.CampaignError({"file": "The file is nested too deeply."})
    capped: dict[str, Any] = _capped(doc)
    return capped


def import_campaign(*, session: Session, data: bytes, user_id: int | None = None) -> Campaign:
    doc = parse(data)
    emails = _match_emails(session, [m for m in doc.get("emails") or [] if isinstance(m, dict)])
    segs = _match_segments(session, [s for s in doc.get("segments") or [] if isinstance(s, dict)], user_id)
    forms = _match_forms(session, [f for f in doc.get("forms") or [] if isinstance(f, dict)])
    c = dict(doc["campaign"])
    events = [dict(e) for e in c.get("events") or [] if isinstance(e, dict)]
    ids = {str(e.get("id")): f"new{i}" for i, e in enumerate(events)}
    for e in events:
        e["id"] = ids[str(e.get("id"))]
        parent = e.get("parent")
        parent_id = parent.get("id") if isinstance(parent, dict) else parent
        e["parent"] = ids.get(str(parent_id)) if parent_id is not None else None
        props = dict(e.get("properties") or {}) if isinstance(e.get("properties"), dict) else {}
        for refs, mapping in ((EMAIL_REFS, emails), (SEGMENT_REFS, segs), (FORM_REFS, forms)):
            for key in refs.get(str(e.get("type")), ()):
                if key in props:
                    found = [mapping[i] for i in rules.ids_of(props[key]) if i in mapping]
                    props[key] = found if isinstance(props[key], list) else (found[0] if found else None)
        if e.get("type") == "campaign.jump_to_event":
            props["jumpToEvent"] = ids.get(str(props.get("jumpToEvent")))
        e["properties"] = props
        e.pop("channelId", None)
    nodes = [{**n, "id": ids.get(str(n.get("id")), str(n.get("id")))} for n in ((c.get("canvasSettings") or {}).get("nodes") or [])
             if isinstance(n, dict)]
    values = {"name": str(c.get("name") or "Imported campaign"), "description": c.get("description") or "", "category": c.get("category") or "",
              "allowRestart": bool(c.get("allowRestart")), "isPublished": False, "events": events, "canvasSettings": {"nodes": nodes},
              "lists": [{"id": segs[i]} for i in _ids(c.get("lists")) if i in segs],
              "forms": [{"id": forms[i]} for i in _ids(c.get("forms")) if i in forms]}
    return campaigns.save_campaign(session=session, values=values, user_id=user_id)


def _ids(items: Any) -> list[int]:
    return [i for item in (items if isinstance(items, list) else []) for i in rules.ids_of(item.get("id") if isinstance(item, dict) else item)]


def _match_emails(session: Session, items: list[dict[str, Any]]) -> dict[int, int]:
    """Exported e-mail id → this instance's e-mail of that name (created, unpublished copy of the content, if none)."""
    out: dict[int, int] = {}
    for m in items:
        old = rules.ids_of(m.get("id"))
        name = str(m.get("name") or "").strip()[:191]
        if not old or not name:
            continue
        found = session.execute(sa.select(col(Email.id)).where(col(Email.name) == name).order_by(col(Email.id))).scalar()
        if found is None:
            values: dict[str, Any] = {k: str(m.get(k) or "")[:191 if k not in ("custom_html", "content_mjml", "plain_text") else MAX_TEXT]
                                      for k in EMAIL_KEYS}
            values["email_type"] = "list" if values["email_type"] == "list" else "template"
            email = Email.model_validate(values)
            session.add(email)
            session.flush()
            found = email.id
        if found is not None:
            out[old[0]] = int(found)
    return out


def _match_segments(session: Session, items: list[dict[str, Any]], user_id: int | None) -> dict[int, int]:
    out: dict[int, int] = {}
    for s in items:
        old = rules.ids_of(s.get("id"))
        name = str(s.get("name") or "").strip()[:191]
        if not old or not name:
            continue
        found = session.execute(sa.select(col(Segment.id)).where(col(Segment.name) == name).order_by(col(Segment.id))).scalar()
        if found is None:
            try:
                found = segments.save_segment(session=session, values={"name": name, "description": str(s.get("description") or ""),
                                                                        "filters": s.get("filters") or []}, user_id=user_id).id
            except (segments.SegmentError, ValueError):  # filters on fields this instance lacks: an empty segment to fill
                found = segments.save_segment(session=session, values={"name": name}, user_id=user_id).id
        out[old[0]] = int(found) if found is not None else 0
    return out


def _match_forms(session: Session, items: list[dict[str, Any]]) -> dict[int, int]:
    """Forms are matched by name only (a form is built for a site): one that is missing drops out of the campaign."""
    out: dict[int, int] = {}
    for f in items:
        old = rules.ids_of(f.get("id"))
        found = session.execute(sa.select(col(Form.id)).where(col(Form.name) == str(f.get("name") or "")[:191])).scalar()
        if old and found is not None:
            out[old[0]] = int(found)
    return out
