"""What the segment page reads and writes, run in a thread: each opens its own session."""

from __future__ import annotations

from typing import Any

from mautic_app.db import session_scope
from mautic_app.domain import segments as rules
from mautic_app.services import contacts, segments

MEMBERS_SHOWN = 25


def catalogue() -> dict[str, Any]:
    """The builder's choices: fields by category, operators by type (with help), options by field."""
    with session_scope() as session:
        fields = segments.filter_fields(session=session)
    groups: dict[str, list[dict[str, str]]] = {}
    for f in fields.values():
        groups.setdefault(f.category, []).append({"key": f.key, "label": f.label})
    ops = {}
    for type_ in {f.type for f in fields.values()}:
        ops[type_] = [{"value": o, "label": rules.OPERATORS[o], "help": rules.OPERATOR_HELP.get(o, "")} for o in rules.operators_for(type_)]
    return {
        "groups": [{"category": c, "fields": sorted(v, key=lambda x: x["label"].lower())} for c, v in groups.items()],
        "types": {f.key: f.type for f in fields.values()},
        "labels": {f.key: f.label for f in fields.values()},
        "options": {f.key: [{"value": v, "label": lbl} for v, lbl in f.options] for f in fields.values() if f.options},
        "operators": ops,
    }


def read(segment_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        try:
            seg = segments.get_segment(session=session, segment_id=segment_id)
        except segments.SegmentError:
            return None
        return {"name": seg.name, "description": seg.description, "published": seg.is_published, "filters": seg.filters or []}


def members(segment_id: int) -> dict[str, Any]:
    """The most recently active members, how many there are, and when the segment was last built."""
    with session_scope() as session:
        try:
            seg = segments.get_segment(session=session, segment_id=segment_id)
        except segments.SegmentError:  # deleted meanwhile
            return {"total": 0, "rows": [], "built": ""}
        page = contacts.list_contacts(session=session, search=f"segment:{seg.alias}", start=0, limit=MEMBERS_SHOWN,
                                      order_by="last_active", direction="desc")
        rows = [{"id": str(r["id"]), "name": f"{r.get('firstname') or ''} {r.get('lastname') or ''}".strip()
                 or r.get("email") or f"Anonymous #{r['id']}", "email": r.get("email") or "", "city": r.get("city") or ""}
                for r in page.rows]
        took = f" in {seg.build_seconds:.2f} s" if seg.build_seconds is not None else ""
        built = f"Built {seg.last_built:%Y-%m-%d %H:%M:%S}{took}" if seg.last_built else "Not built yet"
        return {"total": seg.member_count, "rows": rows, "built": built}


def preview(filters: list[dict[str, Any]], segment_id: int | None) -> dict[str, Any]:
    with session_scope() as session:
        return segments.preview(session=session, filters=filters, segment_id=segment_id)


def save(segment_id: int | None, values: dict[str, Any], user_id: int | None) -> int:
    with session_scope() as session:  # the save queues the segment's rebuild once it commits
        return segments.save_segment(session=session, segment_id=segment_id, values=values, user_id=user_id).id


def find_contact(text: str) -> int | None:
    """A contact by id or exact e-mail, for adding by hand."""
    text = text.strip()
    with session_scope() as session:
        if text.isdigit():
            return int(text) if segments.contact_exists(session=session, contact_id=int(text)) else None
        return contacts.find_existing(session=session, values={"email": text}) if "@" in text else None


def change_member(segment_id: int, contact_id: int, add: bool, user_id: int | None) -> int:
    with session_scope() as session:
        change = segments.add_contacts if add else segments.remove_contacts
        return change(session=session, segment_id=segment_id, contact_ids=[contact_id], user_id=user_id)
