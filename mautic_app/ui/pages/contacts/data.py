"""What the contacts list reads and writes, run in a thread: a page of rows with the chosen columns, the
choices of the bulk actions, and the bulk actions themselves."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.services import contacts, segments
from mautic_app.services import fields as field_service
from mautic_app.ui.components.contact_data import display_name
from mautic_app.ui.components.field_input import display_value

DEFAULT_COLUMNS = ("email", "company", "country", "stage", "points", "last_active", "id")
# Columns that are not fields: (key, label, sort key or "" when the column cannot be sorted).
SYSTEM_COLUMNS = (
    ("stage", "Stage", ""),
    ("owner", "Owner", ""),
    ("tags", "Tags", ""),
    ("date_added", "Date added", "date_added"),
    ("id", "ID", "id"),
)


def place_column(chosen: list[str], key: str, catalogue: list[str]) -> list[str]:
    """``chosen`` with ``key`` put before the first chosen column that follows it in the catalogue (at the end if
    none does): turning a column on never moves the others."""
    rank = {k: i for i, k in enumerate(catalogue)}
    at = next((i for i, k in enumerate(chosen) if rank.get(k, len(rank)) > rank.get(key, len(rank))), len(chosen))
    return [*chosen[:at], key, *chosen[at:]]


def column_catalogue(session: Session) -> list[dict[str, str]]:
    cols = [
        {"key": s.alias, "label": s.label, "sort": s.alias}
        for s in field_service.specs(session=session, obj="contact")
        if s.is_listable and s.alias not in ("firstname", "lastname")
    ]
    return cols + [{"key": k, "label": label, "sort": sort} for k, label, sort in SYSTEM_COLUMNS]


def load_page(search: str, order_by: str, direction: str, start: int, limit: int, user_id: int,
               columns: list[str]) -> dict[str, Any]:
    with session_scope() as session:
        specs = field_service.spec_map(session=session, obj="contact")
        result = contacts.list_contacts(session=session, search=search, order_by=order_by, direction=direction,
                                        start=start, limit=limit, user_id=user_id)
        ids = [r["id"] for r in result.rows]
        tags = contacts.tags_of(session=session, ids=ids) if "tags" in columns else {}
        owners = {int(o["value"]): o["label"] for o in contacts.owner_options(session=session)} if "owner" in columns else {}
        stage_names = {int(s["value"]): s["label"] for s in contacts.stage_options(session=session)} if "stage" in columns else {}
        rows = []
        for r in result.rows:
            row = {"id": str(r["id"]), "name": display_name(r), "anonymous": "" if r.get("is_identified") else "1",
                   "email": str(r.get("email") or "")}  # under the name on a phone
            for key in columns:
                if key == "tags":
                    row[key] = ", ".join(tags.get(r["id"], []))
                elif key == "owner":
                    row[key] = owners.get(r.get("owner_id") or 0, "")
                elif key == "stage":
                    row[key] = stage_names.get(r.get("stage_id") or 0, "")
                elif key == "id":
                    row[key] = str(r["id"])
                elif key in specs:
                    spec = specs[key]
                    row[key] = display_value(spec.type, r.get(key), spec.properties.get("yes", "Yes"), spec.properties.get("no", "No"))
                else:
                    row[key] = display_value("", r.get(key))
            rows.append(row)
        return {"rows": rows, "total": result.total, "capped": result.total_capped, "catalogue": column_catalogue(session)}


def load_choices() -> dict[str, Any]:
    with session_scope() as session:
        return {"owners": contacts.owner_options(session=session), "stages": contacts.stage_options(session=session),
                "tags": contacts.tag_names(session=session),
                "segments": [{"value": str(g.id), "label": g.name} for g in segments.list_segments(session=session, limit=500)[1]]}


def bulk_change(action: str, ids: list[int], user_id: int, tags: list[str], owner_id: int | None, stage_id: int | None,
          segment_id: int | None = None) -> int:
    with session_scope() as session:
        if action in ("segment_add", "segment_remove"):
            change = segments.add_contacts if action == "segment_add" else segments.remove_contacts
            return change(session=session, segment_id=segment_id, contact_ids=ids, user_id=user_id)
        if action == "tags_add":
            contacts.modify_tags(session=session, contact_ids=ids, tags=tags, user_id=user_id)
        elif action == "tags_remove":
            contacts.modify_tags(session=session, contact_ids=ids, tags=["-" + t for t in tags], user_id=user_id)
        elif action == "owner":
            contacts.set_owner(session=session, contact_ids=ids, owner_id=owner_id, user_id=user_id)
        elif action == "stage":
            contacts.set_stage(session=session, contact_ids=ids, stage_id=stage_id, user_id=user_id)
        elif action == "delete":
            return contacts.delete(session=session, contact_ids=ids)
        return len(ids)

