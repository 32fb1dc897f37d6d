"""Plain-data helpers the contact pages share (run inside ``rx.run_in_thread`` with a session)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from mautic_app.services import contacts, stages


def display_name(row: dict[str, Any]) -> str:
    """The name a marketer recognises: first and last name, else e-mail, else an anonymous label."""
    name = " ".join(str(p).strip() for p in (row.get("firstname"), row.get("lastname")) if p and str(p).strip())
    return name or (row.get("email") or "") or f"Anonymous visitor #{row.get('id')}"


def owner_options(session: Session) -> list[dict[str, str]]:
    return [{"value": str(u["id"]), "label": u["name"] or u["username"]} for u in contacts.owners(session=session)]


def stage_options(session: Session) -> list[dict[str, str]]:
    return [{"value": str(s.id), "label": s.name} for s in stages.list_stages(session=session)]


def parse_id(value: Any) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if n > 0 else None


def id_from_path(path: str, index: int = 2) -> int | None:
    """The contact id in ``/contacts/<id>`` or ``/contacts/<id>/edit``."""
    parts = [p for p in (path or "").split("/") if p]
    return parse_id(parts[index - 1]) if len(parts) >= index and parts[0] == "contacts" else None
