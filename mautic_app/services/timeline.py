"""A contact's activity timeline. Most areas append their lines to ``contact_events``; the busiest sources are read
where they already are, so a broadcast or a campaign writes each fact once: sent and failed e-mails from the send
ledger (``email_stats``) and campaign events from the campaign log. :func:`events` merges the three, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from mautic_app.domain import campaigns as campaign_rules
from mautic_app.models import Campaign, CampaignEvent, CampaignLog, ContactEvent, Email, EmailStat
from mautic_app.models.base import table_of, utcnow

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
    "campaign": "Campaign event",
}

# Campaign actions whose lines show under the type a marketer filters on (their own lines are not written twice).
CAMPAIGN_LINE_TYPES = {"lead.changepoints": "points", "lead.changetags": "tags"}


@dataclass(frozen=True)
class Line:
    """One line of a contact's timeline, whichever table keeps it."""

    source: str  # "e" contact_events, "s" a sent or failed e-mail, "c" a campaign event
    id: int
    contact_id: int
    event_type: str
    occurred_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None

    @property
    def key(self) -> str:
        return f"{self.source}{self.id}"

    @property
    def cursor(self) -> str:
        """Where the next page starts: older than this line."""
        at = self.occurred_at if self.occurred_at.tzinfo else self.occurred_at.replace(tzinfo=UTC)
        return f"{at.isoformat()}|{self.source}|{self.id}"


def log(
    *, session: Session, contact_id: int, event_type: str, details: dict[str, Any] | None = None,
    user_id: int | None = None, at: datetime | None = None,
) -> None:
    session.add(ContactEvent(contact_id=contact_id, event_type=event_type, details=details or {}, user_id=user_id, occurred_at=at or utcnow()))


def _sources(contact_id: int, types: list[str] | None) -> list[sa.Select[Any]]:
    """Per table, the (source, id, time, type) of the contact's lines of ``types`` (all when None)."""
    e, s, lg, ev = table_of(ContactEvent), table_of(EmailStat), table_of(CampaignLog), table_of(CampaignEvent)
    wanted = set(types) if types else None
    out: list[sa.Select[Any]] = []
    lines = sa.select(sa.literal("e").label("src"), e.c.id.label("id"), e.c.occurred_at.label("at"), e.c.event_type.label("kind")) \
        .where(e.c.contact_id == contact_id)
    out.append(lines.where(e.c.event_type.in_(sorted(wanted))) if wanted is not None else lines)
    statuses = [st for st, kind in (("sent", "email.sent"), ("failed", "email.failed")) if wanted is None or kind in wanted]
    if statuses:
        out.append(sa.select(sa.literal("s"), s.c.id, sa.func.coalesce(s.c.date_sent, s.c.date_added),
                             sa.case((s.c.status == "sent", "email.sent"), else_="email.failed"))
                   .where(s.c.contact_id == contact_id, s.c.status.in_(statuses)))
    shown_as = sa.case(*((ev.c.event_type == k, v) for k, v in CAMPAIGN_LINE_TYPES.items()), else_="campaign")
    campaign = sa.select(sa.literal("c"), lg.c.id, lg.c.date_triggered, shown_as).join(ev, ev.c.id == lg.c.event_id) \
        .where(lg.c.contact_id == contact_id, lg.c.status.in_(("done", "failed")), lg.c.date_triggered.is_not(None))
    if wanted is None:
        return [*out, campaign]
    mapped = [k for k, v in CAMPAIGN_LINE_TYPES.items() if v in wanted]
    if "campaign" in wanted:
        return [*out, campaign.where(sa.or_(ev.c.event_type.in_(mapped), ev.c.event_type.not_in(list(CAMPAIGN_LINE_TYPES))))]
    return [*out, campaign.where(ev.c.event_type.in_(mapped))] if mapped else out


def _after(cursor: str | None) -> tuple[datetime, str, int] | None:
    """A cursor made by :attr:`Line.cursor`; anything else starts from the newest line."""
    try:
        at, src, ident = (cursor or "").split("|")
        moment = datetime.fromisoformat(at)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC), src, int(ident)
    except ValueError:
        return None


def events(
    *, session: Session, contact_id: int, limit: int = 50, before: str | None = None, types: list[str] | None = None
) -> list[Line]:
    """The contact's lines, newest first, older than the ``before`` cursor when given."""
    merged = sa.union_all(*_sources(contact_id, types)).subquery("lines")
    q = sa.select(merged.c.src, merged.c.id, merged.c.at, merged.c.kind)
    start = _after(before)
    if start is not None:
        q = q.where(sa.tuple_(merged.c.at, merged.c.src, merged.c.id) < sa.tuple_(
            sa.literal(start[0], ContactEvent.__table__.c.occurred_at.type),  # type: ignore[attr-defined]
            sa.literal(start[1]), sa.literal(start[2])))
    keys = session.execute(q.order_by(merged.c.at.desc(), merged.c.src.desc(), merged.c.id.desc()).limit(limit)).all()
    found = _lines(session, contact_id, keys)
    return [found[(k.src, k.id)] for k in keys if (k.src, k.id) in found]


def _lines(session: Session, contact_id: int, keys: Sequence[Any]) -> dict[tuple[str, int], Line]:
    """The full lines of ``keys``, one query per source."""
    ids: dict[str, list[int]] = {"e": [], "s": [], "c": []}
    kinds = {(k.src, k.id): k.kind for k in keys}
    for k in keys:
        ids[k.src].append(k.id)
    out: dict[tuple[str, int], Line] = {}
    if ids["e"]:
        e = table_of(ContactEvent)
        for r in session.execute(sa.select(e).where(e.c.id.in_(ids["e"]))):
            out[("e", r.id)] = Line("e", r.id, r.contact_id, r.event_type, r.occurred_at, r.details or {}, r.user_id)
    if ids["s"]:
        s, m = table_of(EmailStat), table_of(Email)
        for r in session.execute(sa.select(s.c.id, s.c.email_id, s.c.status, s.c.error, s.c.date_sent, s.c.date_added, m.c.name)
                                 .join(m, m.c.id == s.c.email_id).where(s.c.id.in_(ids["s"]))):
            out[("s", r.id)] = Line("s", r.id, contact_id, kinds[("s", r.id)], r.date_sent or r.date_added,
                                    {"stat_id": r.id, "email_id": r.email_id, "name": r.name,
                                     "error": "" if r.status == "sent" else (r.error or "")[:500]})
    if ids["c"]:
        lg, ev, cp = table_of(CampaignLog), table_of(CampaignEvent), table_of(Campaign)
        for r in session.execute(sa.select(lg.c.id, lg.c.campaign_id, lg.c.status, lg.c.path, lg.c.date_triggered, lg.c.metadata,
                                           ev.c.name, ev.c.event_type, ev.c.kind, ev.c.properties, cp.c.name.label("campaign"))
                                 .join(ev, ev.c.id == lg.c.event_id).join(cp, cp.c.id == lg.c.campaign_id).where(lg.c.id.in_(ids["c"]))):
            meta = r.metadata or {}
            out[("c", r.id)] = Line("c", r.id, contact_id, kinds[("c", r.id)], r.date_triggered, {
                "campaign_id": r.campaign_id, "campaign": r.campaign, "event": r.name, "type": r.event_type, "kind": r.kind,
                "path": r.path, "failed": r.status == "failed", "note": str(meta.get("error") or meta.get("skipped") or ""),
                "properties": r.properties or {}})
    return out


def describe(event: Line) -> str:
    """One line of text for an event, in the marketer's words."""
    d = event.details or {}
    t = event.event_type
    if event.source == "c":
        return _campaign_text(d)
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


def _campaign_text(d: dict[str, Any]) -> str:
    p = d.get("properties") or {}
    what = ""
    if d.get("type") == "lead.changepoints":
        what = f"{p.get('points') or 0} points"
    elif d.get("type") == "lead.changetags":
        added, removed = campaign_rules.texts_of(p.get("add_tags")), campaign_rules.texts_of(p.get("remove_tags"))
        what = "; ".join([*(["added " + ", ".join(added)] if added else []), *(["removed " + ", ".join(removed)] if removed else [])])
    text = f"Campaign {d.get('campaign', '')}: {d.get('event') or d.get('type', '')}"
    if what:
        text += f" ({what})"
    if d.get("kind") in ("condition", "decision") and d.get("path"):
        text += f": {d['path']}"
    if d.get("failed"):
        text += f", failed: {d.get('note', '')}"
    elif d.get("note"):
        text += f", nothing to do: {d['note']}"
    return text


def event_count(*, session: Session, contact_id: int, types: list[str] | None) -> int:
    merged = sa.union_all(*_sources(contact_id, types)).subquery("lines")
    return session.execute(sa.select(sa.func.count()).select_from(merged)).scalar() or 0
