"""A contact's activity timeline: every area appends events here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app.models import ContactEvent
from mautic_app.models.base import utcnow

EVENT_LABELS = {
    "created": "Contact created",
    "updated": "Contact updated",
    "identified": "Contact identified",
    "imported": "Imported",
    "api_added": "Added through the API",
    "note": "Note",
    "points": "Points changed",
    "group_points": "Group points changed",
    "stage": "Stage changed",
    "dnc": "Do not contact changed",
    "utm": "UTM tags",
    "ip_added": "IP address added",
    "merged": "Merged",
    "tags": "Tags changed",
    "owner": "Owner changed",
    "company": "Company changed",
    "page_hit": "Page visit",
    "device_added": "New device",
    "segment": "Segment membership",
    "form_submitted": "Form submitted",
    "focus_view": "Focus item viewed",
    "focus_click": "Focus item clicked",
    "focus_conversion": "Focus item converted",
    "email.sent": "E-mail sent",
    "email.failed": "E-mail failed",
    "email.read": "E-mail opened",
    "email.click": "E-mail link clicked",
    "email.unsubscribed": "Unsubscribed",
    "email.resubscribed": "Resubscribed",
    "email.bounced_soft": "E-mail delayed (soft bounce)",
}


def log(
    *, session: Session, contact_id: int, event_type: str, details: dict[str, Any] | None = None,
    user_id: int | None = None, at: datetime | None = None,
) -> None:
    session.add(ContactEvent(contact_id=contact_id, event_type=event_type, details=details or {}, user_id=user_id, occurred_at=at or utcnow()))


def events(
    *, session: Session, contact_id: int, limit: int = 50, before_id: int | None = None, types: list[str] | None = None
) -> list[ContactEvent]:
    q = select(ContactEvent).where(ContactEvent.contact_id == contact_id)
    if before_id:
        q = q.where(col(ContactEvent.id) < before_id)
    if types:
        q = q.where(col(ContactEvent.event_type).in_(types))
    q = q.order_by(col(ContactEvent.occurred_at).desc(), col(ContactEvent.id).desc()).limit(limit)
    return list(session.exec(q).all())


def describe(event: ContactEvent) -> str:
    """One line of text for an event, in the marketer's words."""
    d = event.details or {}
    t = event.event_type
    if t == "updated":
        return "Changed " + ", ".join(sorted(d.get("fields", {}))) if d.get("fields") else "Updated"
    if t == "points":
        return f"Points {d.get('old', 0)} → {d.get('new', 0)} ({d.get('reason', 'manual')})"
    if t == "group_points":
        return f"{d.get('group') or 'Group'} points {d.get('old', 0)} → {d.get('new', 0)} ({d.get('reason', 'manual')})"
    if t == "stage":
        return f"Stage: {d.get('from') or 'none'} → {d.get('to') or 'none'}"
    if t == "dnc":
        return f"{'Added' if d.get('added') else 'Removed'} do not contact ({d.get('channel')}): {d.get('reason_label', '')}".rstrip(": ")
    if t == "note":
        return f"{d.get('type', 'general').title()} note: {d.get('text', '')[:200]}"
    if t == "tags":
        parts = []
        if d.get("added"):
            parts.append("added " + ", ".join(d["added"]))
        if d.get("removed"):
            parts.append("removed " + ", ".join(d["removed"]))
        return "Tags " + "; ".join(parts)
    if t == "owner":
        return f"Owner: {d.get('from') or 'none'} → {d.get('to') or 'none'}"
    if t == "merged":
        name = d.get("name", "")
        suffix = f" ({name})" if name and name != f"#{d.get('merged_id')}" else ""
        return f"Merged with contact #{d.get('merged_id')}{suffix}"
    if t == "imported":
        return f"Imported from {d.get('file', 'CSV')}"
    if t == "ip_added":
        return f"IP address {d.get('ip')}"
    if t == "utm":
        return "UTM " + ", ".join(f"{k}={v}" for k, v in d.items() if v)
    if t == "page_hit":
        return f"Visited {d.get('title') or d.get('url', '')}"
    if t == "device_added":
        return "New device: " + " ".join(str(d[k]) for k in ("device", "brand", "model", "os", "browser") if d.get(k))
    if t == "segment":
        how = "by hand" if d.get("by") == "manual" else "by its filters"
        return f"{'Added to' if d.get('action') == 'added' else 'Removed from'} segment {d.get('name', '')} ({how})"
    if t == "form_submitted":
        return f"Submitted form {d.get('name', '')}"
    if t in ("focus_view", "focus_click", "focus_conversion"):
        verb = {"focus_view": "Saw", "focus_click": "Clicked", "focus_conversion": "Converted on"}[t]
        return f"{verb} focus item {d.get('name', '')}"
    if t == "company":
        return f"{'Linked to' if d.get('added') else 'Unlinked from'} company {d.get('name', '')}"
    if t == "email.sent":
        return f"Sent e-mail {d.get('name', '')}"
    if t == "email.failed":
        return f"E-mail {d.get('name', '')} failed: {d.get('error', '')}"
    if t == "email.read":
        return f"Opened e-mail {d.get('name', '')}"
    if t == "email.click":
        return f"Clicked {d.get('url', '')} in e-mail {d.get('name', '')}"
    if t in ("email.unsubscribed", "email.resubscribed"):
        return f"{'Unsubscribed from' if t == 'email.unsubscribed' else 'Resubscribed to'} e-mails ({d.get('name', '')})"
    return EVENT_LABELS.get(t, t)


def event_count(*, session: Session, contact_id: int, types: list[str] | None) -> int:
    q = sa.select(sa.func.count()).where(col(ContactEvent.contact_id) == contact_id)
    if types:
        q = q.where(col(ContactEvent.event_type).in_(types))
    return session.execute(q).scalar() or 0
