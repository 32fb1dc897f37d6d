"""CSV export of the contact list as the marketer sees it (search, order, chosen columns).

Rows stream from one server-side cursor in pages, each page yielded as one CSV chunk, so an
export of any size holds one page in memory. Text cells that a spreadsheet would run as a
formula get a leading apostrophe (spec/contacts.md); numbers are written as they are, since a
number cannot be a formula. Headers are field aliases, so an export can be imported back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from mautic_app.domain.csv_import import neutralise
from mautic_app.services import contacts as contact_service
from mautic_app.services import fields as field_service

SYSTEM_COLUMNS = ("id", "date_added", "date_modified", "date_identified", "owner_id", "stage_id")
PAGE_SIZE = 1000


class ExportError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def exportable_columns(*, session: Session) -> list[str]:
    return ["id", *(s.alias for s in field_service.specs(session=session, obj="contact")), *SYSTEM_COLUMNS[1:]]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return value
    return neutralise(str(value))


def export_contacts(
    *, session: Session, search: str = "", order_by: str = "last_active", direction: str = "desc",
    columns: list[str] | None = None, user_id: int | None = None, page_size: int = PAGE_SIZE, bom: bool = True,
) -> Iterator[str]:
    """Yield the CSV text in chunks (header first). ``bom`` helps Excel read UTF-8.

    The caller keeps ``session`` open until the generator is exhausted.
    """
    allowed = exportable_columns(session=session)
    columns = list(columns or allowed)
    if unknown := [c for c in columns if c not in allowed]:
        raise ExportError({"columns": f"Unknown columns: {', '.join(unknown)}."})
    t = field_service.table(session=session)
    where = contact_service.search_condition(session=session, t=t, query=search, user_id=user_id)
    if order_by not in contact_service.sortable_columns(session=session):
        order_by = "last_active"
    sort = t.c[order_by]
    descending = str(direction).lower() == "desc"
    order = [sort.desc().nulls_last(), t.c.id.desc()] if descending else [sort.asc().nulls_last(), t.c.id.asc()]
    q = sa.select(*(t.c[c] for c in columns)).order_by(*order)
    if where is not None:
        q = q.where(where)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    yield ("\ufeff" if bom else "") + buf.getvalue()
    result = session.execute(q.execution_options(yield_per=max(1, page_size)))
    for page in result.partitions():
        buf.seek(0)
        buf.truncate()
        writer.writerows([_cell(v) for v in row] for row in page)
        yield buf.getvalue()
