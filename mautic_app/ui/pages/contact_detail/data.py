"""What the contact page reads and writes, run in a thread: the contact with everything around it, a page of its
timeline, a page of its visits, the contacts and companies a search finds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import campaigns, companies, contacts, emails, segments, timeline, visitors
from mautic_app.services import fields as field_service
from mautic_app.services import points as point_service
from mautic_app.ui.components.contact_data import display_name
from mautic_app.ui.components.field_input import GROUP_LABELS, display_value
from mautic_app.ui.components.visits import device_label, when

TIMELINE_PAGE = 25
VISITS_PAGE = 20
UTM_KEYS = (("utm_source", "Source"), ("utm_medium", "Medium"), ("utm_campaign", "Campaign"), ("utm_content", "Content"),
            ("utm_term", "Term"))
DNC_CHANNELS = (("email", "Email"), ("sms", "Text message"))
NOTE_TYPES = (("general", "General"), ("email", "Email"), ("call", "Call"), ("meeting", "Meeting"))
TIMELINE_FILTERS = [{"value": "", "label": "All activity"}] + [
    {"value": k, "label": v} for k, v in sorted(timeline.EVENT_LABELS.items(), key=lambda kv: kv[1])
]


@dataclasses.dataclass
class DetailField:
    label: str = ""
    value: str = ""


@dataclasses.dataclass
class DetailGroup:
    key: str = ""
    label: str = ""
    fields: list[DetailField] = dataclasses.field(default_factory=list)


def _fmt(dt: Any) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


def _initials(name: str) -> str:
    parts = [p for p in name.replace("@", " ").split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def load_contact(cid: int) -> dict[str, Any]:
    """Everything but the timeline; ``{"redirect": id}`` for a merged-away id, ``{}`` when gone."""
    with session_scope() as session:
        row = contacts.read(session=session, contact_id=cid)
        if row is None:
            winner = contacts.resolve_merged_id(session=session, contact_id=cid)
            return {"redirect": winner} if winner else {}
        info = contacts.details(session=session, contact_id=cid)
        specs = field_service.specs(session=session, obj="contact")
        groups = []
        for key, label in GROUP_LABELS.items():
            fields = [
                DetailField(label=s.label, value=display_value(s.type, row.get(s.alias), s.properties.get("yes", "Yes"),
                                                               s.properties.get("no", "No")))
                for s in specs if s.group == key and s.is_visible
            ]
            if fields:
                groups.append(DetailGroup(key=key, label=label, fields=fields))
        dnc = {d["channel"]: d for d in info["do_not_contact"]}
        name = display_name(row)
        subtitle = " at ".join(p for p in (row.get("position"), row.get("company")) if p)
        return {
            "name": name,
            "email": row.get("email") or "",
            "subtitle": subtitle,
            "initials": _initials(name),
            "anonymous": not row.get("is_identified"),
            "points": int(row.get("points") or 0),
            "group_scores": [{"name": g["name"], "score": str(g["score"])}
                             for g in point_service.group_scores(session=session, contact_id=cid)],
            "date_added": _fmt(row.get("date_added")),
            "last_active": _fmt(row.get("last_active")),
            "groups": groups,
            "stage_id": str(row.get("stage_id") or ""),
            "owner_id": str(row.get("owner_id") or ""),
            "tags": info["tags"],
            "notes": [
                {"id": str(n.id), "type": n.type, "type_label": dict(NOTE_TYPES).get(n.type, n.type.title()),
                 "text": n.text, "date": _fmt(n.date_time)}
                for n in info["notes"]
            ],
            "companies": [
                {"id": str(c["id"]), "name": c["name"], "primary": "1" if c["is_primary"] else ""} for c in info["companies"]
            ],
            "ips": [i["ip"] for i in info["ip_addresses"]],
            "utm_tags": [
                {"date": _fmt(u.date_added), "text": " · ".join(f"{label}: {getattr(u, key)}" for key, label in UTM_KEYS
                                                               if getattr(u, key))}
                for u in info["utm_tags"]
            ],
            "dnc": [
                {"channel": ch, "label": label, "active": "1" if ch in dnc else "",
                 "reason": dnc[ch]["reason_label"] if ch in dnc else "", "comments": dnc[ch]["comments"] if ch in dnc else "",
                 "date": _fmt(dnc[ch]["date_added"]) if ch in dnc else ""}
                for ch, label in DNC_CHANNELS
            ],
            "owners": contacts.owner_options(session=session),
            "stages": contacts.stage_options(session=session),
            "segments": [{"id": str(seg.id), "name": seg.name, "how": "added by hand" if manual else "by its filters"}
                         for seg, _added, manual in segments.memberships(session=session, contact_id=cid)],
            "campaigns": [{"href": routes.campaign(c["id"]), "name": c["name"],
                           "next": "Left the campaign" if c["removed"] else
                           f"Next: {c['next_event']}, {c['next_at'][:16].replace('T', ' ')} UTC" if c["next_event"] else "Nothing scheduled"}
                          for c in campaigns.contact_campaigns(session=session, contact_id=cid)],
            "segment_choices": [{"value": str(seg.id), "label": seg.name}
                                for seg in segments.list_segments(session=session, limit=500)[1]],
            "emails": [{"href": routes.email(m["email_id"]), "name": m["name"], "status": m["status"], "date": _fmt(m["date"]),
                        "opened": f"Opened {m['opened']}×" if m["opened"] else "Not opened",
                        "clicked": f"clicked {m['clicked']}×" if m["clicked"] else ""}
                       for m in emails.sent_to_contact(session=session, contact_id=cid)],
        }


def load_tag_names() -> list[str]:
    with session_scope() as session:
        return contacts.tag_names(session=session)


def load_timeline(cid: int, event_type: str, before: str | None, limit: int) -> tuple[list[dict[str, str]], bool]:
    with session_scope() as session:
        events = timeline.events(session=session, contact_id=cid, limit=limit + 1, before=before,
                                 types=[event_type] if event_type else None)
        rows = [
            {"id": e.key, "cursor": e.cursor, "type": e.event_type, "label": timeline.EVENT_LABELS.get(e.event_type, e.event_type),
             "text": timeline.describe(e), "date": _fmt(e.occurred_at)}
            for e in events[:limit]
        ]
        for r in rows:
            if r["text"] == r["label"]:
                r["text"] = ""
        return rows, len(events) > limit


def load_visits(cid: int, start: int) -> dict[str, Any]:
    """A page of the contact's visits and their devices; every string is the visitor's own, shown as text."""
    with session_scope() as session:
        total, hits = visitors.contact_hits(session=session, contact_id=cid, start=start, limit=VISITS_PAGE)
        devices = visitors.contact_devices(session=session, contact_id=cid)
    return {
        "visits_total": total,
        "visits": [
            {"date": when(h["date_hit"]), "title": h["title"], "url": h["url"], "referrer": h["referrer"],
             "device": device_label(h["device"], h["browser"])}
            for h in hits
        ],
        "devices": [
            {"device": device_label(d["device"]),
             "model": " ".join(p for p in (d["brand"], d["model"]) if p), "os": d["os"],
             "browser": " ".join(p for p in (d["browser"], d["browser_version"]) if p), "last_seen": _fmt(d["last_seen"])}
            for d in devices
        ],
    }


def write(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """The service write ``fn`` in a session of its own, committed when it returns."""
    with session_scope() as session:
        return fn(session=session, **kwargs)


def contacts_matching(query: str, exclude: int) -> list[dict[str, str]]:
    with session_scope() as session:
        page = contacts.list_contacts(session=session, search=query, order_by="last_active", limit=11, count_cap=0)
        return [
            {"id": str(r["id"]), "name": display_name(r), "email": r.get("email") or ""}
            for r in page.rows if r["id"] != exclude
        ][:10]


def companies_matching(query: str, exclude: list[str]) -> list[dict[str, str]]:
    with session_scope() as session:
        rows, _ = companies.list_companies(session=session, search=query, limit=10)
        return [{"id": str(r["id"]), "name": r.get("companyname") or ""} for r in rows if str(r["id"]) not in exclude]

