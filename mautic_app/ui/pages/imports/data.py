"""What the import pages read and start, run in a thread: each opens its own session."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import contacts as contact_service
from mautic_app.services import imports
from mautic_app.services import segments as segment_service

STATUS_COLORS = {
    "new": "gray", "queued": "amber", "in_progress": "blue", "imported": "green", "failed": "red", "stopped": "orange",
}


def when(dt: Any) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


def first_error(exc: imports.CsvImportError) -> str:
    return next(iter(exc.errors.values()), str(exc))


@dataclasses.dataclass
class ImportSummary:
    """One past import as the list shows it."""

    id: int = 0
    name: str = ""
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    percent: int = 0
    inserted: str = "0"
    updated: str = "0"
    failed: str = "0"
    ignored: str = "0"
    date_added: str = ""
    finished_at: str = ""
    href: str = ""


def _summary_row(s: dict[str, Any]) -> ImportSummary:
    return ImportSummary(
        id=int(s["id"]), name=s["original_name"], status=s["status"], status_label=s["status_label"],
        color=STATUS_COLORS.get(s["status"], "gray"), percent=int(s["percent"]), inserted=f"{s['inserted']:,}",
        updated=f"{s['updated']:,}", failed=f"{s['failed']:,}", ignored=f"{max(0, s['ignored']):,}",
        date_added=when(s["date_added"]), finished_at=when(s["finished_at"]), href=routes.import_(s["id"]),
    )


def load_list(start: int, limit: int) -> tuple[list[ImportSummary], bool]:
    """A page of past imports, and whether another page follows."""
    with session_scope() as session:
        rows = imports.list_imports(session=session, start=start, limit=limit + 1)
        return [_summary_row(r) for r in rows[:limit]], len(rows) > limit


def store_upload(path: Path, name: str, user_id: int) -> int:
    with session_scope() as session:
        row = imports.create_import(session=session, original_name=name, user_id=user_id, path=path)
        return int(row.id)


def progress(import_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        try:
            return imports.progress(session=session, import_id=import_id)
        except imports.CsvImportError:
            return None


def preview(import_id: int, fmt: dict[str, str | None]) -> dict[str, Any]:
    with session_scope() as session:
        return imports.preview(session=session, import_id=import_id, **fmt)


def owner_options() -> list[dict[str, str]]:
    with session_scope() as session:
        return [{"value": str(u["id"]), "label": u["name"] or u["username"]} for u in contact_service.owners(session=session)]


def segment_options() -> list[dict[str, str]]:
    with session_scope() as session:
        return [{"value": str(g.id), "label": g.name} for g in segment_service.list_segments(session=session, limit=500)[1]]


def tag_names() -> list[str]:
    with session_scope() as session:
        return contact_service.tag_names(session=session)


def start(import_id: int, mapping: dict[str, str], options: dict[str, Any]) -> None:
    with session_scope() as session:
        imports.start_import(session=session, import_id=import_id, mapping=mapping, options=options)


def stop(import_id: int) -> bool:
    with session_scope() as session:
        return imports.stop_import(session=session, import_id=import_id)


def failures(import_id: int, start: int, limit: int) -> list[dict[str, str]]:
    with session_scope() as session:
        return [
            {"row": str(f["row"]), "reason": f["reason"], "raw": f["raw"]}
            for f in imports.failures(session=session, import_id=import_id, start=start, limit=limit)
        ]
