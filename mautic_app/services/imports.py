"""CSV contact imports: upload, preview and mapping, then batches that a Celery task runs to the end.

A batch is one transaction. It claims the import (a conditional UPDATE on its byte offset,
so two workers never run the same batch), reads up to ``settings.import_batch_size`` records
from that offset, validates them all in Python, then writes the good ones through
``services.bulk``: one query to find existing contacts, one insert of new contacts (COPY on
PostgreSQL), one update per set of changed columns, and one insert each for tags, IP addresses,
do-not-contact rows, company links and timeline events. Rejected rows are stored with their reason and never reach the
contact tables. An error rolls the whole batch back and the task runs it again.

Statuses: new (uploaded, waiting for its mapping), queued, in_progress, imported, failed, stopped.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from mautic_app import changefeed, db
from mautic_app.db import refresh_statistics
from mautic_app.domain import csv_import as csvi
from mautic_app.domain.fields import IDENTIFYING_FIELDS
from mautic_app.models import (
    Company,
    CompanyContact,
    ContactImport,
    ContactTag,
    DoNotContact,
    ImportFailure,
    Stage,
    User,
)
from mautic_app.models.base import utcnow
from mautic_app.services import bulk
from mautic_app.services import contacts as contact_service
from mautic_app.services import fields as field_service
from mautic_app.services import segments as segment_service
from mautic_app.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")

STATUSES = {
    "new": "Waiting for mapping",
    "queued": "Queued",
    "in_progress": "In progress",
    "imported": "Imported",
    "failed": "Failed",
    "stopped": "Stopped",
}
ACTIVE = ("queued", "in_progress")
MAX_FILE_BYTES = 200 * 1024 * 1024
PREVIEW_ROWS = 5
QUEUED_STALL = timedelta(minutes=2)
RUNNING_STALL = timedelta(minutes=5)
_BULK_ERRORS = (sa.exc.IntegrityError, sa.exc.DataError, psycopg.IntegrityError, psycopg.DataError)


class CsvImportError(ValueError):
    """Problems with the file, the mapping or the options, per field; ``status`` 404 when it is gone."""

    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


@dataclass
class BatchResult:
    more: bool
    offset: int
    rows: int = 0


# ---------------------------------------------------------------- upload and preview


def create_import(
    *, session: Session, original_name: str, user_id: int | None = None, data: bytes | None = None,
    path: str | Path | None = None, max_bytes: int = MAX_FILE_BYTES,
) -> ContactImport:
    """Keep an uploaded file under ``settings.import_folder`` if it reads as CSV text.

    Content decides, never the name or MIME type. UTF-16/32 files are stored as UTF-8, so the
    batches can cut lines on single bytes.
    """
    if data is not None and path is None:
        content: bytes | Path = data
        size = len(data)
    elif path is not None and data is None:
        content = Path(path)
        size = content.stat().st_size
    else:
        raise TypeError("Pass either data or path.")
    if size == 0:
        raise CsvImportError({"file": "The file is empty."})
    if size > max_bytes:
        raise CsvImportError({"file": f"The file is larger than {max_bytes // (1024 * 1024)} MB."})
    get_settings().import_folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.csv"
    target = get_settings().import_folder / name
    src: BinaryIO = io.BytesIO(content) if isinstance(content, bytes) else content.open("rb")
    try:
        with src:
            head = src.read(csvi.SNIFF_BYTES)
            src.seek(0)
            encoding = csvi.detect_encoding(head)
            wide = csvi.is_wide(encoding)
            if not wide and (why := csvi.binary_reason(head)):
                raise CsvImportError({"file": why})
            with open(target, "wb") as dst:
                if wide:
                    csvi.transcode_to_utf8(src, dst, encoding)
                    encoding = "utf-8"
                else:
                    shutil.copyfileobj(src, dst, csvi.READ_CHUNK)
        with open(target, "rb") as f:
            head = f.read(csvi.SNIFF_BYTES)
            dialect = csvi.Dialect(delimiter=csvi.suggest_delimiter(head, encoding), encoding=encoding,
                                   newline=csvi.detect_newline(head))
            csvi.read_header(f, dialect)
    except csvi.RowError as exc:
        target.unlink(missing_ok=True)
        raise CsvImportError({"file": str(exc)}) from exc
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    row = ContactImport(
        original_name=(Path(original_name).name or "import.csv")[:255], file_path=name, status="new",
        delimiter=dialect.delimiter, encoding=encoding, created_by=user_id,
    )
    session.add(row)
    session.flush()
    return row


class UploadChunk(Protocol):
    """A piece of a browser upload (Reflex's ``UploadChunk``): the file it belongs to and its next bytes."""

    filename: str
    data: bytes


UPLOAD_WRITE_BYTES = 1024 * 1024


@asynccontextmanager
async def received_upload(
    chunks: AsyncIterable[UploadChunk], *, on_start: Callable[[str], Awaitable[None]],
) -> AsyncIterator[tuple[Path, str | None]]:
    """Stream the first file of a browser upload to a scratch file in ``settings.import_folder``.

    The file is never whole in memory, and reading stops one byte past :data:`MAX_FILE_BYTES`
    (enough for :func:`create_import` to word the size error; the rest is refused). ``on_start``
    hears the file's name as its first bytes arrive. Yields the scratch file and the name (None
    when no file came: the browser refused the drop); the scratch file is removed on leaving.
    """
    limit = MAX_FILE_BYTES + 1
    folder = get_settings().import_folder
    part = folder / f".upload-{uuid.uuid4().hex}.part"
    name: str | None = None
    size = 0
    try:
        await asyncio.to_thread(lambda: folder.mkdir(parents=True, exist_ok=True))
        out = await asyncio.to_thread(lambda: part.open("wb"))
        try:
            buffer = bytearray()
            async for chunk in chunks:
                if name is None:
                    name = Path(chunk.filename).name or "import.csv"
                    await on_start(name)
                elif Path(chunk.filename).name != name:
                    continue  # only one file per import
                if size >= limit:
                    break
                data = chunk.data[: limit - size]
                buffer += data
                size += len(data)
                if len(buffer) >= UPLOAD_WRITE_BYTES:
                    block, buffer = bytes(buffer), bytearray()
                    await asyncio.to_thread(out.write, block)
            if buffer:
                await asyncio.to_thread(out.write, bytes(buffer))
        finally:
            await asyncio.to_thread(out.close)
        yield part, name
    finally:
        await asyncio.to_thread(lambda: part.unlink(missing_ok=True))


def _get(session: Session, import_id: int) -> ContactImport:
    row = session.get(ContactImport, import_id)
    if row is None:
        raise CsvImportError({"id": f"Import {import_id} not found."}, status=404)
    return row


def _file(row: ContactImport) -> Path:
    return get_settings().import_folder / row.file_path


def _check_dialect(delimiter: str, enclosure: str, escape: str, encoding: str) -> dict[str, str]:
    errors = {}
    if len(delimiter) != 1 or delimiter in "\r\n" or delimiter == enclosure:
        errors["delimiter"] = "Use one character, such as a comma, a semicolon, a tab or |, that is not the enclosure."
    if len(enclosure) > 1 or enclosure in ("\r", "\n"):
        errors["enclosure"] = 'Use one character, usually ".'
    if len(escape) > 1 or escape in ("\r", "\n"):
        errors["escape"] = "Use one character, usually \\, or none."
    try:
        if csvi.is_wide(encoding):
            errors["encoding"] = "The file has already been converted to UTF-8; choose utf-8."
    except LookupError:
        errors["encoding"] = "Unknown encoding; try utf-8, cp1252 or latin-1."
    return errors


def _dialect(row: ContactImport, f: BinaryIO, **overrides: str | None) -> csvi.Dialect:
    values = {k: (v if v is not None else getattr(row, k)) for k, v in overrides.items()}
    values["delimiter"] = "\t" if values["delimiter"] in ("\\t", "tab") else values["delimiter"]
    if errors := _check_dialect(values["delimiter"], values["enclosure"], values["escape"], values["encoding"]):
        raise CsvImportError(errors)
    f.seek(0)
    newline = csvi.detect_newline(f.read(csvi.SNIFF_BYTES))
    return csvi.Dialect(newline=newline, **values)


def _open(row: ContactImport) -> BinaryIO:
    try:
        return open(_file(row), "rb")
    except OSError as exc:
        raise CsvImportError({"file": "The uploaded file can no longer be read; upload it again."}, status=404) from exc


def preview(
    *, session: Session, import_id: int, delimiter: str | None = None, enclosure: str | None = None,
    escape: str | None = None, encoding: str | None = None, rows: int = PREVIEW_ROWS,
) -> dict[str, Any]:
    """What the mapping form shows: headers, the first rows, the format and a suggested mapping."""
    row = _get(session, import_id)
    with _open(row) as f:
        dialect = _dialect(row, f, delimiter=delimiter, enclosure=enclosure, escape=escape, encoding=encoding)
        try:
            headers, start = csvi.read_header(f, dialect)
        except csvi.RowError as exc:
            raise CsvImportError({"file": str(exc)}) from exc
        sample = [{"cells": r.cells, "error": r.error, "raw": r.raw} for r in islice(csvi.iter_records(f, start, dialect), rows)]
    contact_specs = field_service.specs(session=session, obj="contact")
    company_specs = field_service.specs(session=session, obj="company")
    return {
        "id": row.id,
        "original_name": row.original_name,
        "headers": headers,
        "rows": sample,
        "delimiter": dialect.delimiter,
        "enclosure": dialect.enclosure,
        "escape": dialect.escape,
        "encoding": dialect.encoding,
        "mapping": dict(row.mapping) or csvi.suggest_mapping(headers, contact_specs, company_specs),
        "targets": csvi.mapping_targets(contact_specs, company_specs),
    }


# ---------------------------------------------------------------- lifecycle


def _now_iso() -> str:
    return utcnow().isoformat()


BATCH_TASK = "mautic.imports.run_batch"


def enqueue_after_commit(session: Session, import_id: int, offset: int) -> None:
    """Queue a batch once ``session`` commits, so a worker never looks before the row is visible.
    If the broker is down, the stalled-import sweep re-queues it later."""
    db.enqueue(session, BATCH_TASK, import_id, offset)


def _tags(raw: Any) -> list[str]:
    items = raw.replace(",", "|").split("|") if isinstance(raw, str) else list(raw or [])
    return list(dict.fromkeys(str(t).strip()[:191] for t in items if str(t).strip()))


def start_import(
    *, session: Session, import_id: int, mapping: dict[str, str], options: dict[str, Any] | None = None,
) -> ContactImport:
    """Check the mapping and options, mark the import queued and queue its first batch.

    ``options``: default_owner_id, tags (list or pipe-separated), skip_if_exists, segment_id (every row is added to
    it by hand), and the
    format (delimiter, enclosure, escape, encoding) when it differs from the detected one.
    """
    row = _get(session, import_id)
    if row.status != "new":
        raise CsvImportError({"status": "This import has already been started."}, status=409)
    options = dict(options or {})
    errors: dict[str, str] = {}
    with _open(row) as f:
        dialect = _dialect(row, f, **{k: options.get(k) for k in ("delimiter", "enclosure", "escape", "encoding")})
        try:
            headers, _ = csvi.read_header(f, dialect)
        except csvi.RowError as exc:
            raise CsvImportError({"file": str(exc)}) from exc
    targets = set(field_service.spec_map(session=session, obj="contact")) | set(csvi.SPECIAL_COLUMNS) \
        | set(field_service.spec_map(session=session, obj="company"))
    clean: dict[str, str] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if header not in headers:
            errors["mapping"] = f'The file has no column "{header}".'
        elif target not in targets:
            errors["mapping"] = f'"{target}" is not a field or special column.'
        elif target in clean.values():
            errors["mapping"] = f'"{target}" is mapped from more than one column.'
        clean[header] = target
    if not clean and "mapping" not in errors:
        errors["mapping"] = "Map at least one column to a field."
    owner_id = options.get("default_owner_id") or None
    if owner_id is not None:
        try:
            owner_id = int(owner_id)
        except (TypeError, ValueError):
            owner_id = -1
        if session.get(User, owner_id) is None:
            errors["default_owner_id"] = "Choose an existing user."
    segment_id = options.get("segment_id") or None
    if segment_id is not None and not segment_service.existing_ids(session=session, ids=[segment_id]):
        errors["segment_id"] = "Choose an existing segment."
    if errors:
        raise CsvImportError(errors)
    row.mapping = clean
    row.options = {
        "default_owner_id": owner_id,
        "tags": _tags(options.get("tags")),
        "skip_if_exists": bool(options.get("skip_if_exists")),
        "segment_id": int(segment_id) if segment_id is not None else None,
        "heartbeat": _now_iso(),
    }
    row.delimiter, row.enclosure, row.escape, row.encoding = dialect.delimiter, dialect.enclosure, dialect.escape, dialect.encoding
    row.status = "queued"
    session.add(row)
    session.flush()
    enqueue_after_commit(session, import_id, 0)
    changefeed.publish_after_commit(session, "imports", {"id": import_id})
    return row


def stop_import(*, session: Session, import_id: int) -> bool:
    """Stop between batches: the running batch finishes, the next one finds the import stopped."""
    n = db.rows_changed(session.execute(
        sa.update(ContactImport).where(col(ContactImport.id) == import_id, col(ContactImport.status).in_(("new", *ACTIVE)))
        .values(status="stopped", finished_at=utcnow(), message="Stopped by a user.")
    ))
    if n:
        changefeed.publish_after_commit(session, "imports", {"id": import_id})
    return bool(n)


def mark_failed(*, session: Session, import_id: int, message: str) -> None:
    session.execute(
        sa.update(ContactImport).where(col(ContactImport.id) == import_id, col(ContactImport.status).in_(ACTIVE))
        .values(status="failed", finished_at=utcnow(), message=message[:1000])
    )
    changefeed.publish_after_commit(session, "imports", {"id": import_id})


def stalled(*, session: Session, now: datetime | None = None, every_active: bool = False) -> list[tuple[int, int]]:
    """(id, offset) of imports whose batch chain died (queued and never picked, or silent too long);
    with ``every_active``, of every queued or running import (a worker starting after a crash: the
    chain it was running died with it, and waiting out the stall period would hold the import for minutes).

    Their heartbeat moves on, so they are re-queued at most once per stall period; a duplicate
    batch is harmless because the byte-offset claim lets only one run.
    """
    now = now or utcnow()
    out: list[tuple[int, int]] = []
    for row in session.exec(select(ContactImport).where(col(ContactImport.status).in_(ACTIVE))).all():
        beat = (row.options or {}).get("heartbeat")
        last = datetime.fromisoformat(beat) if beat else row.date_added
        if every_active or now - last > (QUEUED_STALL if row.status == "queued" else RUNNING_STALL):
            row.options = {**row.options, "heartbeat": now.isoformat()}
            session.add(row)
            out.append((cast(int, row.id), row.byte_offset))  # stored, so it has its id
    return out


# ---------------------------------------------------------------- reading progress


def progress(*, session: Session, import_id: int) -> dict[str, Any]:
    row = _get(session, import_id)
    session.refresh(row)
    return _summary(row)


def _summary(row: ContactImport) -> dict[str, Any]:
    done = row.status in ("imported", "failed", "stopped")
    total = max(row.total_rows, row.processed_rows)
    return {
        "id": row.id,
        "original_name": row.original_name,
        "status": row.status,
        "status_label": STATUSES.get(row.status, row.status),
        "total_rows": total,
        "processed_rows": row.processed_rows,
        "inserted": row.inserted,
        "updated": row.updated,
        "failed": row.failed,
        "ignored": row.processed_rows - row.inserted - row.updated - row.failed,
        "percent": 100 if row.status == "imported" else (min(99, row.processed_rows * 100 // total) if total else 0),
        "done": done,
        "message": row.message,
        "created_by": row.created_by,
        "date_added": row.date_added,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def list_imports(*, session: Session, start: int = 0, limit: int = 30) -> list[dict[str, Any]]:
    rows = session.exec(select(ContactImport).order_by(col(ContactImport.id).desc()).offset(start).limit(min(limit, 200))).all()
    return [_summary(r) for r in rows]


def failures(*, session: Session, import_id: int, start: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.exec(
        select(ImportFailure).where(col(ImportFailure.import_id) == import_id)
        .order_by(col(ImportFailure.row_number), col(ImportFailure.id)).offset(max(0, start)).limit(max(1, min(limit, 500)))
    ).all()
    return [{"row": r.row_number, "reason": r.reason, "raw": r.raw} for r in rows]


# ---------------------------------------------------------------- batches


def run_batch(*, session: Session, import_id: int, expected_offset: int | None = None,
              batch_size: int | None = None) -> BatchResult:
    """Import the next batch inside the caller's transaction; the caller commits (or rolls back).

    With ``expected_offset`` the batch only runs if the import is still at that offset, which
    retires duplicate task chains.
    """
    if session.get_bind().dialect.name == "postgresql":
        refresh_statistics(session.get_bind().engine, STATS_TABLES)
        # A batch lost in a crash is simply run again (its offset commits with its rows), so the
        # commit need not wait for the WAL flush.
        session.execute(sa.text("SET LOCAL synchronous_commit = off"))
    claim = sa.update(ContactImport).where(col(ContactImport.id) == import_id, col(ContactImport.status).in_(ACTIVE))
    if expected_offset is not None:
        claim = claim.where(col(ContactImport.byte_offset) == expected_offset)
    if not db.rows_changed(session.execute(claim.values(status="in_progress"))):
        return BatchResult(more=False, offset=expected_offset or 0)
    row = session.get(ContactImport, import_id, populate_existing=True)
    assert row is not None, "the claim above found it"
    now = utcnow()
    try:
        f = open(_file(row), "rb")  # noqa: SIM115
    except OSError:
        return _finish(session, row, "failed", "The uploaded file can no longer be read.")
    with f:
        dialect = _dialect(row, f, delimiter=None, enclosure=None, escape=None, encoding=None)
        try:
            headers, data_start = csvi.read_header(f, dialect)
        except csvi.RowError as exc:
            return _finish(session, row, "failed", str(exc))
        if row.started_at is None:
            row.started_at = now
            row.total_rows = _estimate_rows(f, data_start, dialect.newline)
        start = max(row.byte_offset, data_start)
        records = list(islice(csvi.iter_records(f, start, dialect), batch_size or get_settings().import_batch_size))
        size = os.fstat(f.fileno()).st_size
    end = records[-1].end if records else start
    result = _Batch(session, row, headers).run(records, first_row=row.processed_rows + 2)
    row.processed_rows += len(records)
    row.inserted += result.inserted
    row.updated += result.updated
    row.failed += len(result.failures)
    row.byte_offset = end
    row.options = {**row.options, "heartbeat": now.isoformat()}
    # Registered only now: SQLAlchemy also fires after_commit when a savepoint is released.
    if result.new_stages:
        changefeed.publish_after_commit(session, "stages", {"ids": result.new_stages, "action": "saved"})
    if result.contact_ids:
        changefeed.publish_after_commit(session, "contacts", {"ids": result.contact_ids[:1000], "action": "imported"})
    if end >= size:
        return _finish(session, row, "imported", f"{row.inserted} created, {row.updated} updated, {row.failed} failed.",
                       rows=len(records))
    session.add(row)
    session.flush()
    changefeed.publish_after_commit(session, "imports", {"id": row.id})
    return BatchResult(more=True, offset=end, rows=len(records))


def _finish(session: Session, row: ContactImport, status: str, message: str, rows: int = 0) -> BatchResult:
    row.status, row.message, row.finished_at = status, message[:1000], utcnow()
    if status == "imported":
        row.total_rows = row.processed_rows
    session.add(row)
    session.flush()
    changefeed.publish_after_commit(session, "imports", {"id": row.id})
    return BatchResult(more=False, offset=row.byte_offset, rows=rows)


STATS_TABLES = ("contacts", "companies", "contact_tags", "contact_ip_addresses", "company_contacts", "do_not_contact")


def _estimate_rows(f: BinaryIO, start: int, newline: bytes) -> int:
    """Line breaks after the header: exact unless quoted cells span lines. One fast pass."""
    f.seek(start)
    count, last = 0, b""
    while chunk := f.read(csvi.READ_CHUNK):
        count += chunk.count(newline)
        last = chunk
    return count + (1 if last and not last.endswith(newline) else 0)


@dataclass
class _Outcome:
    inserted: int = 0
    updated: int = 0
    contact_ids: list[int] = field(default_factory=list)
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    new_stages: list[int] = field(default_factory=list)

    def add(self, other: _Outcome) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.contact_ids += other.contact_ids


@dataclass
class _Entry:
    """One contact to write: the merged rows that target it and, for an existing one, its current values."""

    row: csvi.ImportRow
    current: dict[str, Any] | None = None

    @property
    def stored(self) -> dict[str, Any]:
        """The existing contact's values (asked only of an entry that has one)."""
        assert self.current is not None, "a new contact has nothing stored yet"
        return self.current

    @property
    def id(self) -> int:
        """The existing contact's id (asked only of an entry that has one)."""
        return int(self.stored["id"])


def _merge(into: csvi.ImportRow, row: csvi.ImportRow) -> None:
    """Later rows for the same contact win, except that empty cells never overwrite."""
    into.values.update(row.values)
    into.company.update(row.company)
    into.dates.update(row.dates)
    for name in ("points", "stage", "do_not_email", "owner"):
        if getattr(row, name) is not None:
            setattr(into, name, getattr(row, name))
    into.tags = list(dict.fromkeys(into.tags + row.tags))
    into.ips = list(dict.fromkeys(into.ips + row.ips))


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _chunks(items: list[T], size: int = 5000) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class _Batch:
    """Validation and bulk writes for one batch of one import."""

    def __init__(self, session: Session, imp: ContactImport, headers: list[str]):
        self.session = session
        self.imp = imp
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.t = field_service.table(session=session)
        self.specs = field_service.spec_map(session=session)
        self.parser = csvi.RowParser(headers, imp.mapping, self.specs, field_service.spec_map(session=session, obj="company"))
        self.identifiers = [s.alias for s in self.specs.values() if s.is_unique_identifier]
        # What matching and change detection read of an existing contact; the other columns stay in the database.
        wanted = {"id", "owner_id", "stage_id", "is_identified", "company", "last_active", *self.identifiers, *IDENTIFYING_FIELDS,
                  *(spec.alias for _, _, kind, spec in self.parser.columns if kind == "field" and spec is not None)}
        self.lookup_columns = [c for c in self.t.c if c.name in wanted]
        self.defaults = contact_service.default_values(self.specs)
        opts = imp.options or {}
        self.default_owner = opts.get("default_owner_id")
        self.default_tags = list(opts.get("tags") or [])
        self.skip_existing = bool(opts.get("skip_if_exists"))
        self.segment_id = opts.get("segment_id")
        self.user_id = imp.created_by
        self.owners: dict[str, int] = {}
        self.stages: dict[str, int] = {}

    def run(self, records: list[csvi.Record], first_row: int) -> _Outcome:
        outcome = _Outcome()
        good: list[tuple[int, csvi.ImportRow, csvi.Record]] = []
        for number, record in enumerate(records, start=first_row):
            if record.cells is None:
                outcome.failures.append((number, record.error or "The row could not be read.", record.raw))
                continue
            try:
                parsed = self.parser.parse(record.cells)
            except csvi.RowError as exc:
                outcome.failures.append((number, str(exc), record.raw))
                continue
            if parsed is not None:
                good.append((number, parsed, record))
        good = self._resolve(good, outcome)
        try:
            with self.session.begin_nested():
                outcome.add(self._write([g[1] for g in good]))
        except _BULK_ERRORS:
            # Validation missed something the database refuses: find the row(s), one savepoint each.
            for number, parsed, record in good:
                try:
                    with self.session.begin_nested():
                        outcome.add(self._write([parsed]))
                except _BULK_ERRORS as exc:
                    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                    outcome.failures.append((number, f"The database refused this row: {reason}"[:1000], record.raw))
        if outcome.failures:
            outcome.failures.sort()
            self.session.execute(sa.insert(ImportFailure), [
                {"import_id": self.imp.id, "row_number": n, "reason": reason[:1000], "raw": raw[:csvi.RAW_LIMIT]}
                for n, reason, raw in outcome.failures
            ])
        return outcome

    def _resolve(self, good: list[tuple[int, csvi.ImportRow, csvi.Record]],
                 outcome: _Outcome) -> list[tuple[int, csvi.ImportRow, csvi.Record]]:
        """Owner usernames and stage names to ids; an unknown owner fails its row, a new stage is created.

        Stages are added here rather than through services.stages, whose change-feed hook would
        fire at the batch's first savepoint instead of at the real commit.
        """
        names = {p.owner.lower() for _, p, _ in good if p.owner}
        if names:
            self.owners = dict(self.session.execute(
                sa.select(sa.func.lower(col(User.username)), col(User.id)).where(sa.func.lower(col(User.username)).in_(names))
            ).tuples().all())
        stages: dict[str, str] = {}
        for _, p, _ in good:
            if p.stage:
                stages.setdefault(p.stage.lower(), p.stage)
        if stages:
            self.stages = dict(self.session.execute(
                sa.select(sa.func.lower(col(Stage.name)), col(Stage.id)).where(sa.func.lower(col(Stage.name)).in_(stages))
            ).tuples().all())
            for key, name in stages.items():
                if key not in self.stages:
                    stage = Stage(name=name)
                    self.session.add(stage)
                    self.session.flush()
                    stage_id = cast(int, stage.id)  # flushed, so it has its id
                    self.stages[key] = stage_id
                    outcome.new_stages.append(stage_id)
        if not names:
            return good
        kept = []
        for number, parsed, record in good:
            if parsed.owner and parsed.owner.lower() not in self.owners:
                outcome.failures.append((number, f'Column ownerusername: no user has the username "{parsed.owner}".', record.raw))
            else:
                kept.append((number, parsed, record))
        return kept

    # ------------------------------------------------------------ writing

    def _write(self, rows: list[csvi.ImportRow]) -> _Outcome:
        out = _Outcome()
        if not rows:
            return out
        entries = self._plan(rows, out)
        new = [e for e in entries if e.current is None]
        old = [e for e in entries if e.current is not None]
        now = utcnow()
        new_ids = self._insert(new, now)
        changes = {e.id: self._changes(e) for e in old}
        # Children before the contact updates: PostgreSQL's foreign-key check on a row this
        # transaction already updated costs a multixact per row, ten times the check itself.
        self._events(new_ids, changes, now)
        pairs = list(zip(new_ids, new, strict=True)) + [(e.id, e) for e in old]
        existing_ids = [e.id for e in old]
        self._tags(pairs, existing_ids)
        self._ips(pairs)
        self._dnc(pairs)
        self._companies(pairs, existing_ids)
        self._update(old, changes)
        out.contact_ids = new_ids + existing_ids
        if self.segment_id:  # a segment deleted since the start is skipped
            segment_service.change_by_hand(session=self.session, contact_ids=out.contact_ids, add=[self.segment_id])
        return out

    def _in(self, expr: sa.ColumnElement[Any] | Mapped[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
        """``expr IN values``; on PostgreSQL ``IN (SELECT unnest(array))``, one parameter whatever the
        batch size, which (with fresh statistics, see db.refresh_statistics) plans as one index
        lookup per value even when psycopg has prepared the statement."""
        if not self.pg:
            return expr.in_(values)
        item = sa.BigInteger() if isinstance(values[0], int) else sa.Text()
        return expr.in_(sa.select(sa.func.unnest(sa.bindparam(None, list(values), type_=postgresql.ARRAY(item)))))

    def _fetch(self, where: sa.ColumnElement[bool]) -> list[dict[str, Any]]:
        return [dict(r) for r in self.session.execute(sa.select(*self.lookup_columns).where(where).order_by(self.t.c.id)).mappings()]

    def _plan(self, rows: list[csvi.ImportRow], out: _Outcome) -> list[_Entry]:
        """Match each row to an existing contact (id column, else any unique identifier) or a new one.

        Rows of one batch that reach the same contact merge into one entry, as if written in turn.
        """
        by_id: dict[int, dict[str, Any]] = {}
        ids = list({r.contact_id for r in rows if r.contact_id})
        for chunk in _chunks(ids):
            by_id.update((c["id"], c) for c in self._fetch(self._in(self.t.c.id, chunk)))
        by_key: dict[tuple[str, Any], dict[str, Any]] = {}
        for alias in self.identifiers:
            keys = list({_lower(r.values[alias]) for r in rows if r.values.get(alias) is not None})
            column = self.t.c[alias]
            for chunk in _chunks(keys):
                cond = self._in(sa.func.lower(column) if isinstance(chunk[0], str) else column, chunk)
                for c in self._fetch(cond):
                    by_key.setdefault((alias, _lower(c[alias])), c)
        entries: list[_Entry] = []
        planned_ids: dict[int, _Entry] = {}
        planned_keys: dict[tuple[str, Any], _Entry] = {}
        for row in rows:
            entry: _Entry | None = None
            current = by_id.get(row.contact_id) if row.contact_id else None
            if current is None:
                keys = [(a, _lower(row.values[a])) for a in self.identifiers if row.values.get(a) is not None]
                pending = next((planned_keys[k] for k in keys if k in planned_keys), None)
                found = [by_key[k] for k in keys if k in by_key]
                current = min(found, key=lambda c: c["id"]) if found else None
                entry = planned_ids.get(current["id"]) if current else pending
            else:
                entry = planned_ids.get(current["id"])
            if self.skip_existing and (entry is not None or current is not None):
                continue
            if entry is None:
                entry = _Entry(row=row, current=current)
                entries.append(entry)
                if current is None:
                    out.inserted += 1
                else:
                    out.updated += 1
                    planned_ids[current["id"]] = entry
            else:
                _merge(entry.row, row)
                out.updated += 1
            for a in self.identifiers:
                if entry.row.values.get(a) is not None:
                    planned_keys[(a, _lower(entry.row.values[a]))] = entry
        return entries

    def _owner(self, row: csvi.ImportRow) -> int | None:
        return self.owners[row.owner.lower()] if row.owner else self.default_owner

    def _company_name(self, row: csvi.ImportRow) -> str | None:
        return row.company.get("companyname") or row.values.get("company")

    def _insert(self, entries: list[_Entry], now: datetime) -> list[int]:
        rows = []
        for entry in entries:
            r = entry.row
            values = {
                **self.defaults, **r.values, "owner_id": self._owner(r), "stage_id": self.stages[r.stage.lower()] if r.stage else None,
                "created_by": self.user_id, "modified_by": self.user_id, "date_added": r.dates.get("date_added", now),
                "date_modified": r.dates.get("date_modified"), "date_identified": r.dates.get("date_identified"), "points": r.points,
            }
            if not values.get("company") and (name := self._company_name(r)):
                values["company"] = name
            rows.append(values)
        return bulk.new_contacts(session=self.session, rows=rows)

    def _changes(self, entry: _Entry) -> dict[str, Any]:
        """Field values that differ from the contact's; an identifier in another letter case is no change."""
        cur = entry.stored
        return {
            a: v for a, v in entry.row.values.items()
            if (_lower(cur.get(a)) != _lower(v) if a in self.identifiers else contact_service.differs(cur.get(a), v))
        }

    def _update(self, entries: list[_Entry], changes: dict[int, dict[str, Any]]) -> None:
        """Write only what changed: the fields, the owner, the stage and the dates the file gives."""
        sets: dict[int, dict[str, Any]] = {}
        for entry in entries:
            r, cur = entry.row, entry.stored
            values = dict(changes[entry.id])
            owner = self._owner(r)
            if owner is not None and owner != cur["owner_id"]:
                values["owner_id"] = owner
            if r.stage and self.stages[r.stage.lower()] != cur["stage_id"]:
                values["stage_id"] = self.stages[r.stage.lower()]
            values.update(r.dates)
            if values:
                sets[entry.id] = values | {"modified_by": self.user_id}
        bulk.update_contacts(session=self.session, changes=sets, current={e.id: e.stored for e in entries})

    def _events(self, new_ids: list[int], changes: dict[int, dict[str, Any]], now: datetime) -> None:
        """One "imported" timeline event per contact."""
        base = {"import_id": self.imp.id, "file": self.imp.original_name}
        created = {**base, "action": "created"}  # one object for every new contact: encoded once
        events: list[bulk.Event] = [
            {"contact_id": i, "event_type": "imported", "occurred_at": now, "user_id": self.user_id, "details": created} for i in new_ids]
        events += [{"contact_id": i, "event_type": "imported", "occurred_at": now, "user_id": self.user_id,
                    "details": {**base, "action": "updated", "fields": sorted(c)}} for i, c in changes.items()]
        bulk.log_events(session=self.session, events=events)

    def _tags(self, pairs: list[tuple[int, _Entry]], existing_ids: list[int]) -> None:
        wanted = [(cid, name) for cid, e in pairs for name in dict.fromkeys(self.default_tags + e.row.tags)]
        if not wanted:
            return
        tag_ids = contact_service.tag_ids(session=self.session, names=[n for _, n in wanted])
        have = self._existing_links(col(ContactTag.contact_id), col(ContactTag.tag_id), existing_ids)
        links = {(cid, tag_ids[name.strip()[:191]]) for cid, name in wanted} - have
        bulk.insert_rows(session=self.session, table=ContactTag, columns=("contact_id", "tag_id"), rows=sorted(links))

    def _existing_links(self, contact_col: Mapped[int], other_col: Mapped[T], contact_ids: list[int]) -> set[tuple[int, T]]:
        have: set[tuple[int, T]] = set()
        for chunk in _chunks(contact_ids):
            have.update(self.session.execute(sa.select(contact_col, other_col).where(self._in(contact_col, chunk))).tuples())
        return have

    def _ips(self, pairs: list[tuple[int, _Entry]]) -> None:
        bulk.link_ips(session=self.session, pairs=[(cid, ip) for cid, e in pairs for ip in e.row.ips])

    def _dnc(self, pairs: list[tuple[int, _Entry]]) -> None:
        """doNotEmail 1 adds a manual e-mail DNC (an existing one is kept); 0 removes it, as in Mautic."""
        add = [cid for cid, e in pairs if e.row.do_not_email]
        remove = [cid for cid, e in pairs if e.row.do_not_email is False]
        for chunk in _chunks(remove):
            self.session.execute(sa.delete(DoNotContact).where(self._in(col(DoNotContact.contact_id), chunk), col(DoNotContact.channel) == "email"))
        have = {c for c, channel in self._existing_links(col(DoNotContact.contact_id), col(DoNotContact.channel), add) if channel == "email"}
        now = utcnow()
        comment = f"Imported from {self.imp.original_name}"[:1000]
        bulk.insert_rows(session=self.session, table=DoNotContact, columns=("contact_id", "channel", "reason", "comments", "date_added"),
                         rows=[(c, "email", 3, comment, now) for c in add if c not in have])

    def _companies(self, pairs: list[tuple[int, _Entry]], existing_ids: list[int]) -> None:
        """Link each row's company, creating it (with the row's company columns) when no company has that name."""
        wanted = [(cid, e, name) for cid, e in pairs if (name := self._company_name(e.row))]
        if not wanted:
            return
        names: dict[str, tuple[str, dict[str, Any]]] = {}
        for _, e, name in wanted:
            names.setdefault(name.lower(), (name, e.row.company))
        known: dict[str, int] = {}
        for chunk in _chunks(list(names)):
            for cid, cname in self.session.execute(
                sa.select(col(Company.id), col(Company.companyname))
                .where(self._in(sa.func.lower(col(Company.companyname)), chunk)).order_by(col(Company.id))
            ).tuples():
                known.setdefault(cname.lower(), cid)
        missing = [k for k in names if k not in known]
        if missing:
            company_table = field_service.table(session=self.session, obj="company")
            now = utcnow()
            fields = list(dict.fromkeys(a for k in missing for a in names[k][1] if a != "companyname"))
            company_ids = bulk.insert_new_rows(
                session=self.session, table=company_table, columns=("companyname", "created_by", "date_added", "score", *fields),
                rows=[(names[k][0], self.user_id, now, 0, *(names[k][1].get(a) for a in fields)) for k in missing])
            known.update(zip(missing, company_ids, strict=True))
        links = self._existing_links(col(CompanyContact.contact_id), col(CompanyContact.company_id), existing_ids)
        has_primary: set[int] = set()
        for some_ids in _chunks(existing_ids):
            has_primary.update(self.session.execute(
                sa.select(col(CompanyContact.contact_id))
                .where(self._in(col(CompanyContact.contact_id), some_ids), col(CompanyContact.is_primary) == sa.true())
            ).scalars())
        now = utcnow()
        new_links: list[tuple[int, int, bool, datetime]] = []
        primary_names: dict[int, dict[str, Any]] = {}
        for cid, e, name in wanted:
            company_id = known[name.lower()]
            if (cid, company_id) in links:
                continue
            links.add((cid, company_id))
            primary = cid not in has_primary
            has_primary.add(cid)
            new_links.append((company_id, cid, primary, now))
            if primary and e.current is not None and e.current.get("company") != name:
                primary_names[cid] = {"company": name}
        bulk.insert_rows(session=self.session, table=CompanyContact, columns=("company_id", "contact_id", "is_primary", "date_added"),
                         rows=new_links)
        bulk.update_rows(session=self.session, table=self.t, changes=primary_names)
