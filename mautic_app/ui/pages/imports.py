"""CSV imports: past imports, upload, column mapping and the live progress of one import.

``/contacts/import`` lists past imports and takes a new file. The file is streamed to disk
by a background upload handler (``rx.upload_files_chunk``), handed to the import service,
and the browser moves to ``/contacts/import/<id>``. That page shows the mapping form while
the import waits for its mapping (status "new") and its progress afterwards, live from the
``imports`` change feed, so a marketer can leave and come back. The Celery worker runs the
batches; these pages only start, stop and watch them.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from pathlib import Path
from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import contacts as contact_service
from mautic_app.services import imports
from mautic_app.settings import get_settings
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import parse_id
from mautic_app.ui.components.widgets import (
    VISUALLY_HIDDEN,
    confirm_dialog,
    labelled,
    native_select,
    option_list,
    plain_header,
    section,
)
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

log = logging.getLogger(__name__)

ROUTE = "/contacts/import"
UPLOAD_ID = "csv-import"
LIST_PAGE = 20
FAILURE_PAGE = 25
WRITE_CHUNK = 1024 * 1024
MAX_MB = imports.MAX_FILE_BYTES // (1024 * 1024)
STATUS_COLORS = {
    "new": "gray", "queued": "amber", "in_progress": "blue", "imported": "green", "failed": "red", "stopped": "orange",
}
DELIMITERS = [
    {"value": ",", "label": "Comma ( , )"},
    {"value": ";", "label": "Semicolon ( ; )"},
    {"value": "tab", "label": "Tab"},
    {"value": "|", "label": "Pipe ( | )"},
]
ENCODINGS = [
    ("utf-8", "UTF-8"), ("cp1252", "Windows-1252 (Western)"), ("latin-1", "ISO-8859-1 (Latin-1)"),
    ("iso-8859-15", "ISO-8859-15 (Latin-9)"), ("mac_roman", "Mac Roman"), ("cp1250", "Windows-1250 (Central European)"),
    ("cp1251", "Windows-1251 (Cyrillic)"), ("koi8-r", "KOI8-R"), ("cp850", "DOS 850"), ("shift_jis", "Shift JIS"),
    ("gb18030", "GB18030"), ("big5", "Big5"), ("euc-kr", "EUC-KR"),
]
FORMAT_KEYS = ("delimiter", "enclosure", "escape", "encoding")
ERROR_KEYS = ("mapping", "default_owner_id", "form", *FORMAT_KEYS)


def _no_errors() -> dict[str, str]:
    return {k: "" for k in ERROR_KEYS}


def _fmt(dt: Any) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


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
        date_added=_fmt(s["date_added"]), finished_at=_fmt(s["finished_at"]),
        href=f"{ROUTE}/{s['id']}",
    )


def _first_error(exc: imports.CsvImportError) -> str:
    return next(iter(exc.errors.values()), str(exc))


# ---------------------------------------------------------------- work done in a thread


def _load_list(start: int, limit: int) -> tuple[list[ImportSummary], bool]:
    with session_scope() as session:
        rows = imports.list_imports(session=session, start=start, limit=limit + 1)
        return [_summary_row(r) for r in rows[:limit]], len(rows) > limit


def _store_upload(path: Path, name: str, user_id: int) -> int:
    with session_scope() as session:
        row = imports.create_import(session=session, original_name=name, user_id=user_id, path=path)
        return int(row.id)


def _progress(import_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        try:
            return imports.progress(session=session, import_id=import_id)
        except imports.CsvImportError:
            return None


def _preview(import_id: int, fmt: dict[str, str | None]) -> dict[str, Any]:
    with session_scope() as session:
        return imports.preview(session=session, import_id=import_id, **fmt)


def _owner_options() -> list[dict[str, str]]:
    with session_scope() as session:
        return [{"value": str(u["id"]), "label": u["name"] or u["username"]} for u in contact_service.owners(session=session)]


def _start(import_id: int, mapping: dict[str, str], options: dict[str, Any]) -> None:
    with session_scope() as session:
        imports.start_import(session=session, import_id=import_id, mapping=mapping, options=options)


def _stop(import_id: int) -> bool:
    with session_scope() as session:
        return imports.stop_import(session=session, import_id=import_id)


def _failures(import_id: int, start: int, limit: int) -> list[dict[str, str]]:
    with session_scope() as session:
        return [
            {"row": str(f["row"]), "reason": f["reason"], "raw": f["raw"]}
            for f in imports.failures(session=session, import_id=import_id, start=start, limit=limit)
        ]


# ---------------------------------------------------------------- the list and the upload


class ImportsState(rx.State):
    rows: list[ImportSummary] = []
    loaded: bool = False
    page: int = 1
    has_more: bool = False
    uploading: bool = False
    upload_percent: int = 0
    upload_name: str = ""
    upload_error: str = ""
    _following: bool = False

    async def _reload(self) -> None:
        start = (self.page - 1) * LIST_PAGE
        rows, more = await rx.run_in_thread(lambda: _load_list(start, LIST_PAGE))
        if not rows and self.page > 1:
            self.page -= 1
            await self._reload()
            return
        self.rows, self.has_more, self.loaded = rows, more, True

    @rx.event
    async def load(self):
        self.uploading, self.upload_percent, self.upload_name, self.upload_error = False, 0, "", ""
        await self._reload()
        return ImportsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["imports"], refresh)

    @rx.event
    async def prev_page(self):
        if self.page > 1:
            self.page -= 1
            await self._reload()

    @rx.event
    async def next_page(self):
        if self.has_more:
            self.page += 1
            await self._reload()

    # ------------------------------------------------------------ upload

    @rx.event
    def upload_progress(self, progress: dict):
        try:
            fraction = float(progress.get("progress", 0))
        except (TypeError, ValueError):
            return
        if fraction >= 1:
            return  # the last report can arrive after the upload handler has finished
        self.uploading = True
        self.upload_percent = max(0, min(99, int(fraction * 100)))

    @rx.event
    def rejected(self, codes: list[str]):
        """Why the browser refused a drop (react-dropzone codes); only the codes travel, never the files."""
        codes = {c for joined in codes or [] for c in str(joined).split(",")}
        if "too-many-files" in codes:
            self.upload_error = "Choose one CSV file at a time."
        elif "file-too-large" in codes:
            self.upload_error = f"The file is larger than {MAX_MB} MB."
        else:
            self.upload_error = "This file cannot be uploaded."
        self.uploading = False

    @rx.event
    def cancel_upload(self):
        self.uploading, self.upload_percent, self.upload_name = False, 0, ""
        return rx.cancel_upload(UPLOAD_ID)

    @rx.event(background=True)
    async def receive_upload(self, chunks: rx.UploadChunkIterator):
        """Stream the file to disk (never whole in memory), then let the service check and keep it."""
        async with self:
            user_id = (await self.get_state(SessionState)).user_id
        limit = imports.MAX_FILE_BYTES + 1  # one byte over lets the service word the size error
        folder = get_settings().import_folder
        part = folder / f".upload-{uuid.uuid4().hex}.part"
        name, size, error, import_id = None, 0, "", 0
        try:
            await rx.run_in_thread(lambda: folder.mkdir(parents=True, exist_ok=True))
            out = await rx.run_in_thread(lambda: open(part, "wb"))  # noqa: SIM115
            try:
                buffer = bytearray()
                async for chunk in chunks:
                    if name is None:
                        name = Path(chunk.filename).name or "import.csv"
                        async with self:
                            self.uploading, self.upload_error, self.upload_name = True, "", name
                    elif Path(chunk.filename).name != name:
                        continue  # only one file per import
                    if size >= limit:
                        break  # enough to know it is too large; the rest of the upload is refused
                    data = chunk.data[: limit - size]
                    buffer += data
                    size += len(data)
                    if len(buffer) >= WRITE_CHUNK:
                        block, buffer = bytes(buffer), bytearray()
                        await rx.run_in_thread(lambda block=block: out.write(block))
                if buffer:
                    block = bytes(buffer)
                    await rx.run_in_thread(lambda: out.write(block))
            finally:
                await rx.run_in_thread(out.close)
            if name is not None:  # no file: the browser refused the drop and said why (``rejected``)
                import_id = await rx.run_in_thread(lambda: _store_upload(part, name, user_id))
        except imports.CsvImportError as exc:
            error = _first_error(exc)
        except Exception:  # noqa: BLE001
            log.exception("CSV upload failed")
            error = "The upload failed. Try again."
        finally:
            await rx.run_in_thread(lambda: part.unlink(missing_ok=True))
        async with self:
            self.uploading = False
            self.upload_percent = 100 if import_id else 0
            if name is not None:
                self.upload_error = error
        if import_id:
            yield rx.redirect(f"{ROUTE}/{import_id}")


# ---------------------------------------------------------------- one import: mapping, then progress


@dataclasses.dataclass
class PreviewRow:
    cells: list[str] = dataclasses.field(default_factory=list)
    error: str = ""
    raw: str = ""


@dataclasses.dataclass
class MappedColumn:
    index: int = 0
    header: str = ""
    target: str = ""
    example: str = ""


class ImportState(rx.State):
    import_id: int = 0
    loaded: bool = False
    missing: bool = False
    name: str = ""
    status: str = ""
    status_label: str = ""
    percent: int = 0
    processed: int = 0
    total: int = 0
    inserted: int = 0
    updated: int = 0
    failed: int = 0
    ignored: int = 0
    message: str = ""
    date_added: str = ""
    started_at: str = ""
    finished_at: str = ""
    # The mapping step.
    headers: list[str] = []
    preview_rows: list[PreviewRow] = []
    columns: list[MappedColumn] = []
    targets: list[dict[str, str]] = []
    delimiter: str = ","
    enclosure: str = '"'
    escape: str = "\\"
    encoding: str = "utf-8"
    owners: list[dict[str, str]] = []
    owner_id: str = ""
    tags: str = ""
    skip_if_exists: bool = False
    errors: dict[str, str] = _no_errors()
    previewing: bool = False
    starting: bool = False
    # Rejected rows.
    failures: list[dict[str, str]] = []
    failure_page: int = 1
    # Stopping.
    stop_open: bool = False
    stopping: bool = False
    _chosen: dict[str, str] = {}
    _following: bool = False

    # ------------------------------------------------------------ derived

    @rx.var
    def is_new(self) -> bool:
        return self.status == "new"

    @rx.var
    def running(self) -> bool:
        return self.status in imports.ACTIVE

    @rx.var
    def finished(self) -> bool:
        return self.status in ("imported", "failed", "stopped")

    @rx.var
    def status_color(self) -> str:
        return STATUS_COLORS.get(self.status, "gray")

    @rx.var
    def rows_label(self) -> str:
        if self.total:
            return f"{self.percent}% · {self.processed:,} of {self.total:,} rows"
        return f"{self.percent}% · {self.processed:,} rows"

    @rx.var
    def counts(self) -> dict[str, str]:
        return {k: f"{v:,}" for k, v in (("inserted", self.inserted), ("updated", self.updated), ("failed", self.failed),
                                          ("ignored", self.ignored))}

    @rx.var
    def failure_pages(self) -> int:
        return max(1, -(-self.failed // FAILURE_PAGE))

    @rx.var
    def failure_range(self) -> str:
        if not self.failed:
            return ""
        first = (self.failure_page - 1) * FAILURE_PAGE + 1
        last = min(self.failed, first + len(self.failures) - 1)
        return f"Rows {first:,}–{last:,} of {self.failed:,} rejected"

    @rx.var
    def contact_targets(self) -> list[dict[str, str]]:
        return [t for t in self.targets if t.get("group") == "Contact"]

    @rx.var
    def company_targets(self) -> list[dict[str, str]]:
        return [t for t in self.targets if t.get("group") == "Company"]

    @rx.var
    def special_targets(self) -> list[dict[str, str]]:
        return [t for t in self.targets if t.get("group") not in ("Contact", "Company")]

    @rx.var
    def has_field_errors(self) -> bool:
        return any(v for k, v in self.errors.items() if k != "form")

    @rx.var
    def mapped_count(self) -> int:
        return sum(1 for c in self.columns if c.target)

    @rx.var
    def encodings(self) -> list[dict[str, str]]:
        out = [{"value": k, "label": v} for k, v in ENCODINGS]
        if self.encoding and self.encoding not in {k for k, _ in ENCODINGS}:
            out.insert(0, {"value": self.encoding, "label": self.encoding})
        return out

    @rx.var
    def delimiters(self) -> list[dict[str, str]]:
        if self.delimiter in {d["value"] for d in DELIMITERS}:
            return DELIMITERS
        return [*DELIMITERS, {"value": self.delimiter, "label": f"Other ( {self.delimiter} )"}]

    # ------------------------------------------------------------ loading

    def _apply(self, s: dict[str, Any]) -> None:
        self.name, self.status, self.status_label = s["original_name"], s["status"], s["status_label"]
        self.percent, self.processed, self.total = int(s["percent"]), int(s["processed_rows"]), int(s["total_rows"])
        self.inserted, self.updated, self.failed = int(s["inserted"]), int(s["updated"]), int(s["failed"])
        self.ignored = max(0, int(s["ignored"]))
        self.message = s["message"] or ""
        self.date_added, self.started_at, self.finished_at = _fmt(s["date_added"]), _fmt(s["started_at"]), _fmt(s["finished_at"])

    async def _refresh(self) -> None:
        import_id = self.import_id
        summary = await rx.run_in_thread(lambda: _progress(import_id))
        if summary is None:
            self.missing, self.loaded = True, True
            return
        was_new = self.status == "new"
        self._apply(summary)
        if self.status == "new":
            if not self.columns:
                await self._run_preview(first=True)
        else:
            if was_new:
                self.columns, self.preview_rows, self.headers = [], [], []
            await self._load_failures()
        self.loaded = True

    async def _load_failures(self) -> None:
        import_id = self.import_id
        if not self.failed:
            self.failures, self.failure_page = [], 1
            return
        self.failure_page = min(self.failure_page, self.failure_pages)
        start = (self.failure_page - 1) * FAILURE_PAGE
        self.failures = await rx.run_in_thread(lambda: _failures(import_id, start, FAILURE_PAGE))

    def _format(self) -> dict[str, str | None]:
        return {"delimiter": self.delimiter, "enclosure": self.enclosure, "escape": self.escape, "encoding": self.encoding}

    async def _run_preview(self, first: bool = False) -> None:
        """Read the file's head with the current format; on a bad format keep the last good preview."""
        import_id = self.import_id
        fmt = {k: None for k in FORMAT_KEYS} if first else self._format()
        self.previewing = True
        try:
            data = await rx.run_in_thread(lambda: _preview(import_id, fmt))
        except imports.CsvImportError as exc:
            self.errors = {**_no_errors(), **{k if k in ERROR_KEYS else "form": v for k, v in exc.errors.items()}}
            if exc.status == 404 and "id" in exc.errors:
                self.missing = True
            return
        finally:
            self.previewing = False
        self.errors = _no_errors()
        self.delimiter = "tab" if data["delimiter"] == "\t" else data["delimiter"]
        self.enclosure, self.escape, self.encoding = data["enclosure"], data["escape"], data["encoding"]
        self.headers = list(data["headers"])
        self.targets = [{"value": t["value"], "label": t["label"], "group": t["group"]} for t in data["targets"]]
        valid = {t["value"] for t in self.targets}
        suggested = data["mapping"]
        rows = data["rows"]
        self.preview_rows = [
            PreviewRow(cells=[str(c) for c in (r["cells"] or [])], error=r["error"] or "", raw=r["raw"] or "") for r in rows
        ]
        columns = []
        for i, header in enumerate(self.headers):
            target = self._chosen.get(header, suggested.get(header, ""))
            example = next((r["cells"][i] for r in rows if r["cells"] and i < len(r["cells"]) and r["cells"][i].strip()), "")
            columns.append(MappedColumn(index=i, header=header, target=target if target in valid else "", example=example))
        self.columns = columns

    @rx.event
    async def load(self):
        path = [p for p in (self.router.url.path or "").split("/") if p]
        import_id = parse_id(path[2]) if len(path) >= 3 else None
        if import_id != self.import_id:
            self._reset_for(import_id or 0)
        self.stop_open = False
        if not import_id:
            self.missing, self.loaded = True, True
            return
        self.owners = await rx.run_in_thread(_owner_options)
        await self._refresh()
        return ImportState.follow_changes

    def _reset_for(self, import_id: int) -> None:
        self.import_id, self.loaded, self.missing = import_id, False, False
        self.name = self.status = self.status_label = self.message = ""
        self.percent = self.processed = self.total = self.inserted = self.updated = self.failed = self.ignored = 0
        self.date_added = self.started_at = self.finished_at = ""
        self.headers, self.preview_rows, self.columns, self.targets = [], [], [], []
        self.delimiter, self.enclosure, self.escape, self.encoding = ",", '"', "\\", "utf-8"
        self.owner_id, self.tags, self.skip_if_exists = "", "", False
        self.errors, self.previewing, self.starting = _no_errors(), False, False
        self.failures, self.failure_page = [], 1
        self.stopping = False
        self._chosen = {}

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            if any(p.get("id") == self.import_id for p in batch):
                await self._refresh()

        await live.follow(self, ["imports"], refresh)

    # ------------------------------------------------------------ the mapping form

    @rx.event
    async def set_delimiter(self, value: str):
        self.delimiter = value
        await self._run_preview()

    @rx.event
    async def set_encoding(self, value: str):
        self.encoding = value
        await self._run_preview()

    @rx.event
    async def set_enclosure(self, value: str):
        self.enclosure = value[:1]
        await self._run_preview()

    @rx.event
    async def set_escape(self, value: str):
        self.escape = value[:1]
        await self._run_preview()

    @rx.event
    def set_target(self, index: int, value: str):
        index = int(index)
        if 0 <= index < len(self.columns):
            col = self.columns[index]
            self._chosen = {**self._chosen, col.header: value}
            self.columns = [
                dataclasses.replace(c, target=value) if c.index == index else c for c in self.columns
            ]
            self.errors = {**self.errors, "mapping": ""}

    @rx.event
    def set_owner(self, value: str):
        self.owner_id = value
        self.errors = {**self.errors, "default_owner_id": ""}

    @rx.event
    def set_tags(self, value: str):
        self.tags = value

    @rx.event
    def set_skip(self, value: bool):
        self.skip_if_exists = bool(value)

    @rx.event
    async def start(self):
        if self.starting or self.status != "new":
            return
        self.starting, self.errors = True, _no_errors()
        yield
        import_id = self.import_id
        mapping = {c.header: c.target for c in self.columns if c.target}
        options = {
            "default_owner_id": self.owner_id or None, "tags": self.tags, "skip_if_exists": self.skip_if_exists,
            **{k: ("\t" if k == "delimiter" and v == "tab" else v) for k, v in self._format().items()},
        }
        try:
            await rx.run_in_thread(lambda: _start(import_id, mapping, options))
        except imports.CsvImportError as exc:
            self.errors = {**_no_errors(), **{k if k in ERROR_KEYS else "form": v for k, v in exc.errors.items()}}
            self.starting = False
            if exc.status == 409:
                await self._refresh()
            return
        self.starting = False
        await self._refresh()

    @rx.event
    async def discard(self):
        """Drop an import that was uploaded but never started."""
        import_id = self.import_id
        await rx.run_in_thread(lambda: _stop(import_id))
        return rx.redirect(ROUTE)

    # ------------------------------------------------------------ progress

    @rx.event
    def ask_stop(self):
        self.stop_open = True

    @rx.event
    def cancel_stop(self, _open: bool = False):
        if not self.stopping:
            self.stop_open = False

    @rx.event
    async def confirm_stop(self):
        import_id = self.import_id
        self.stopping = True
        yield
        await rx.run_in_thread(lambda: _stop(import_id))
        self.stopping, self.stop_open = False, False
        await self._refresh()

    @rx.event
    async def prev_failures(self):
        if self.failure_page > 1:
            self.failure_page -= 1
            await self._load_failures()

    @rx.event
    async def next_failures(self):
        if self.failure_page < self.failure_pages:
            self.failure_page += 1
            await self._load_failures()


# ---------------------------------------------------------------- view helpers


def _status_badge(label: rx.Var, color: rx.Var) -> rx.Component:
    return rx.badge(label, color_scheme=color, variant="soft", size="2", white_space="nowrap")


def _button_link(label: str, href: str | rx.Var, icon: str, **props) -> rx.Component:
    return rx.button(rx.link(rx.icon(icon, size=16, aria_hidden="true"), label, href=href, underline="none"), as_child=True, **props)


def _pager(label: rx.Var, on_prev, on_next, prev_disabled: rx.Var, next_disabled: rx.Var, what: str) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color=rx.color("gray", 11), aria_live="polite"),
        rx.spacer(),
        rx.icon_button(rx.icon("chevron-left", size=16), on_click=on_prev, disabled=prev_disabled, variant="soft",
                       aria_label=f"Previous page of {what}"),
        rx.icon_button(rx.icon("chevron-right", size=16), on_click=on_next, disabled=next_disabled, variant="soft",
                       aria_label=f"Next page of {what}"),
        align="center",
        spacing="3",
        width="100%",
        padding_top="0.75rem",
    )


# ---------------------------------------------------------------- the list page


def _rejection_codes(rejections: rx.Var) -> rx.Var:
    """Each refused file's error codes joined by commas: a list of strings, without the File objects."""
    return rejections.to(list[dict[str, Any]]).map(
        lambda r: r.to(dict[str, list[dict[str, str]]])["errors"].map(lambda e: e["code"]).join(",")
    )


def _upload_zone() -> rx.Component:
    S = ImportsState
    return section(
        "New import",
        rx.text(
            "Upload a CSV file of contacts. The delimiter and encoding are detected; you map the columns to fields next.",
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.upload.root(
            rx.vstack(
                rx.icon("file-up", size=32, color=rx.color("accent", 10), aria_hidden="true"),
                rx.text("Drag a CSV file here, or", size="2", color=rx.color("gray", 11)),
                rx.button(rx.icon("folder-open", size=16, aria_hidden="true"), "Choose a CSV file", type="button",
                          disabled=S.uploading),
                rx.text(f"Up to {MAX_MB} MB · comma, semicolon, tab or pipe separated · any common encoding",
                        size="1", color=rx.color("gray", 10)),
                align="center",
                spacing="2",
                padding="2rem 1rem",
                width="100%",
                border=f"2px dashed {rx.color('gray', 7)}",
                border_radius="var(--radius-3)",
                background=rx.color("gray", 2),
                cursor="pointer",
                _hover={"border_color": rx.color("accent", 8)},
            ),
            id=UPLOAD_ID,
            multiple=False,
            max_files=1,
            max_size=imports.MAX_FILE_BYTES,
            no_keyboard=True,
            disabled=S.uploading,
            on_drop=S.receive_upload(rx.upload_files_chunk(upload_id=UPLOAD_ID, on_upload_progress=S.upload_progress)),
            on_drop_rejected=lambda rejections: S.rejected(_rejection_codes(rejections)),
            drag_active_style={"& > div": {"border_color": "var(--accent-9)", "background": "var(--accent-2)"}},
            width="100%",
        ),
        rx.cond(
            S.uploading,
            rx.vstack(
                rx.hstack(
                    rx.text(rx.cond(S.upload_name != "", "Uploading " + S.upload_name, "Uploading…"), size="2"),
                    rx.spacer(),
                    rx.text(S.upload_percent.to(str) + "%", size="2", color=rx.color("gray", 11)),
                    rx.button("Cancel upload", size="1", variant="soft", color_scheme="gray", on_click=S.cancel_upload),
                    width="100%",
                    align="center",
                    spacing="3",
                ),
                rx.progress(value=S.upload_percent, max=100, aria_label="Upload progress"),
                width="100%",
                spacing="2",
                role="status",
            ),
        ),
        rx.cond(
            S.upload_error != "",
            rx.callout(S.upload_error, icon="circle-alert", color_scheme="red", role="alert", width="100%"),
        ),
        heading_id="new-import-heading",
    )


def _list_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(row.name, href=row.href, weight="medium"),
            max_width="18rem",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
        ),
        rx.table.cell(_status_badge(row.status_label, row.color)),
        rx.table.cell(
            rx.hstack(
                rx.progress(value=row.percent, max=100, width="5rem", size="1", aria_label="Progress of " + row.name),
                rx.text(row.percent.to(str) + "%", size="1", color=rx.color("gray", 11)),
                align="center",
                spacing="2",
            ),
        ),
        rx.table.cell(row.inserted, text_align="right"),
        rx.table.cell(row.updated, text_align="right"),
        rx.table.cell(row.failed, text_align="right"),
        rx.table.cell(row.ignored, text_align="right"),
        rx.table.cell(
            rx.vstack(
                rx.text("Uploaded ", row.date_added, size="1"),
                rx.cond(row.finished_at != "", rx.text("Finished ", row.finished_at, size="1", color=rx.color("gray", 11))),
                spacing="0",
            ),
            white_space="nowrap",
        ),
        _hover={"background": rx.color("gray", 2)},
    )


def _list_table() -> rx.Component:
    S = ImportsState

    def num(label: str) -> rx.Component:
        return rx.table.column_header_cell(rx.text(label, weight="bold"), text_align="right")

    return rx.box(
        rx.table.root(
            rx.el.caption("Past imports", style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    plain_header("File"),
                    plain_header("Status"),
                    plain_header("Progress"),
                    num("Created"),
                    num("Updated"),
                    num("Failed"),
                    num("Ignored"),
                    plain_header("Dates"),
                ),
            ),
            rx.table.body(rx.foreach(S.rows, _list_row)),
            variant="surface",
            size="2",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


@template(route=ROUTE, title="Imports", on_load=ImportsState.load)
def imports_page() -> rx.Component:
    S = ImportsState
    return rx.vstack(
        page_header("Imports", _button_link("Contacts", "/contacts", "users", variant="soft", color_scheme="gray")),
        _upload_zone(),
        section(
            "Past imports",
            rx.cond(
                S.loaded,
                rx.cond(
                    S.rows.length() > 0,
                    rx.vstack(
                        _list_table(),
                        rx.cond(
                            (S.page > 1) | S.has_more,
                            _pager("Page " + S.page.to(str), S.prev_page, S.next_page, S.page <= 1, ~S.has_more, "imports"),
                        ),
                        width="100%",
                        spacing="0",
                    ),
                    rx.text("No imports yet.", color=rx.color("gray", 10), size="2"),
                ),
                rx.center(rx.spinner(size="3"), width="100%", padding="2rem"),
            ),
            heading_id="past-imports-heading",
        ),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- one import: mapping form


def _format_fields() -> rx.Component:
    S = ImportState
    return section(
        "File format",
        rx.text("Detected from the file. Change them if the preview looks wrong; the preview is read again.",
                size="2", color=rx.color("gray", 11)),
        rx.grid(
            labelled("Delimiter", native_select(*option_list(S.delimiters), id="fmt-delimiter", value=S.delimiter,
                                                on_change=S.set_delimiter, aria_describedby="fmt-delimiter-error"),
                     "fmt-delimiter", error=S.errors["delimiter"]),
            labelled("Enclosure", rx.input(id="fmt-enclosure", value=S.enclosure, on_change=S.set_enclosure,
                                           max_length=1, width="100%", aria_describedby="fmt-enclosure-error"),
                     "fmt-enclosure", error=S.errors["enclosure"], hint="Usually a double quote."),
            labelled("Escape character", rx.input(id="fmt-escape", value=S.escape, on_change=S.set_escape,
                                                  max_length=1, width="100%", aria_describedby="fmt-escape-error"),
                     "fmt-escape", error=S.errors["escape"], hint="Usually a backslash; may be empty."),
            labelled("Encoding", native_select(*option_list(S.encodings), id="fmt-encoding", value=S.encoding,
                                               on_change=S.set_encoding, aria_describedby="fmt-encoding-error"),
                     "fmt-encoding", error=S.errors["encoding"]),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        heading_id="format-heading",
    )


def _preview_table() -> rx.Component:
    S = ImportState
    width = S.headers.length()

    def row(r: rx.Var) -> rx.Component:
        return rx.cond(
            r.error != "",
            rx.table.row(
                rx.table.cell(
                    rx.vstack(
                        rx.text(r.error, color=rx.color("red", 11), size="1"),
                        rx.code(r.raw, size="1", white_space="pre-wrap", word_break="break-all"),
                        spacing="1",
                    ),
                    col_span=width,
                ),
            ),
            rx.table.row(
                rx.foreach(r.cells, lambda c: rx.table.cell(c, max_width="14rem", overflow="hidden",
                                                            text_overflow="ellipsis", white_space="nowrap")),
            ),
        )

    return section(
        "Preview",
        rx.text("The first rows of the file as they will be read.", size="2", color=rx.color("gray", 11)),
        rx.box(
            rx.table.root(
                rx.el.caption("Preview of the first rows", style=VISUALLY_HIDDEN),
                rx.table.header(rx.table.row(rx.foreach(S.headers, plain_header))),
                rx.table.body(rx.foreach(S.preview_rows, row)),
                variant="surface",
                size="1",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.cond(S.previewing, rx.text("Reading the file…", size="1", color=rx.color("gray", 10), role="status")),
        heading_id="preview-heading",
    )


def _target_select(c: rx.Var) -> rx.Component:
    S = ImportState

    def group(label: str, options: rx.Var) -> rx.Component:
        return rx.el.optgroup(rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])), label=label)

    return native_select(
        rx.el.option("Do not import", value=""),
        group("Contact fields", S.contact_targets),
        group("Company fields", S.company_targets),
        group("Special columns", S.special_targets),
        value=c.target,
        on_change=lambda v: S.set_target(c.index, v),
        aria_label="Field for column " + c.header,
        width="100%",
    )


def _mapping_table() -> rx.Component:
    S = ImportState

    def row(c: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.row_header_cell(rx.text(c.header, weight="medium"), max_width="16rem", overflow="hidden",
                                     text_overflow="ellipsis", white_space="nowrap"),
            rx.table.cell(rx.text(c.example, color=rx.color("gray", 11), size="2"), max_width="16rem", overflow="hidden",
                          text_overflow="ellipsis", white_space="nowrap", display=["none", "table-cell"]),
            rx.table.cell(_target_select(c), min_width="14rem"),
        )

    return section(
        "Map columns to fields",
        rx.text(S.mapped_count.to(str) + " of " + S.headers.length().to(str) + " columns will be imported.",
                size="2", color=rx.color("gray", 11), aria_live="polite"),
        rx.cond(S.errors["mapping"] != "",
                rx.callout(S.errors["mapping"], icon="circle-alert", color_scheme="red", role="alert", width="100%")),
        rx.box(
            rx.table.root(
                rx.el.caption("Column mapping", style=VISUALLY_HIDDEN),
                rx.table.header(rx.table.row(
                    plain_header("CSV column"),
                    rx.table.column_header_cell(rx.text("Example", weight="bold"), display=["none", "table-cell"]),
                    plain_header("Import as"),
                )),
                rx.table.body(rx.foreach(S.columns, row)),
                variant="surface",
                size="2",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        heading_id="mapping-heading",
    )


def _options() -> rx.Component:
    S = ImportState
    return section(
        "Options",
        rx.grid(
            labelled("Default owner", native_select(*option_list(S.owners, blank="No default owner"), id="opt-owner",
                                                    value=S.owner_id, on_change=S.set_owner,
                                                    aria_describedby="opt-owner-error"),
                     "opt-owner", error=S.errors["default_owner_id"], hint="For rows without an owner column."),
            labelled("Tags for every row", rx.input(id="opt-tags", value=S.tags, on_change=S.set_tags, placeholder="webinar, 2024",
                                                    width="100%"),
                     "opt-tags", hint="Separate tags with commas."),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            width="100%",
        ),
        rx.checkbox("Skip contacts that already exist (do not update them)", checked=S.skip_if_exists,
                    on_change=S.set_skip),
        heading_id="options-heading",
    )


def _mapping_view() -> rx.Component:
    S = ImportState
    return rx.vstack(
        _format_fields(),
        _preview_table(),
        _mapping_table(),
        _options(),
        rx.cond(S.errors["form"] != "",
                rx.callout(S.errors["form"], icon="circle-alert", color_scheme="red", role="alert", width="100%")),
        rx.cond(
            S.has_field_errors,
            rx.text(rx.icon("circle-alert", size=14, aria_hidden="true", style={"display": "inline", "vertical_align": "-2px"}),
                    " The import did not start: check the messages above.", size="2", color=rx.color("red", 11),
                    text_align="right", width="100%"),
        ),
        rx.hstack(
            rx.button("Discard", variant="soft", color_scheme="gray", on_click=S.discard, disabled=S.starting),
            rx.button(rx.icon("play", size=16, aria_hidden="true"), "Start import", on_click=S.start, loading=S.starting,
                      disabled=S.previewing),
            justify="end",
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- one import: progress


def _count(label: str, value: rx.Var, icon: str, color: str) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=24, color=rx.color(color, 10), aria_hidden="true"),
            rx.vstack(
                rx.text(label, size="2", color=rx.color("gray", 11)),
                rx.text(value, size="6", weight="bold"),
                spacing="0",
            ),
            align="center",
            spacing="3",
        ),
        width="100%",
        role="group",
        aria_label=label,
    )


def _failure_row(f: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(f["row"], white_space="nowrap"),
        rx.table.cell(rx.text(f["reason"], size="2"), min_width="14rem", max_width="28rem"),
        rx.table.cell(
            rx.code(f["raw"], size="1", variant="ghost", white_space="pre-wrap", word_break="break-all"),
            max_width="32rem",
        ),
    )


def _failures_section() -> rx.Component:
    S = ImportState
    return section(
        "Rejected rows",
        rx.cond(
            S.failed > 0,
            rx.vstack(
                rx.box(
                    rx.table.root(
                        rx.el.caption("Rejected rows", style=VISUALLY_HIDDEN),
                        rx.table.header(rx.table.row(plain_header("Row"), plain_header("Reason"), plain_header("Row text"))),
                        rx.table.body(rx.foreach(S.failures, _failure_row)),
                        variant="surface",
                        size="1",
                        width="100%",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                _pager(S.failure_range, S.prev_failures, S.next_failures, S.failure_page <= 1,
                       S.failure_page >= S.failure_pages, "rejected rows"),
                width="100%",
                spacing="0",
            ),
            rx.text(rx.cond(S.finished, "No row was rejected.", "No row has been rejected so far."),
                    size="2", color=rx.color("gray", 10)),
        ),
        heading_id="failures-heading",
    )


def _progress_view() -> rx.Component:
    S = ImportState
    return rx.vstack(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.hstack(
                        rx.text("Status:", size="2", color=rx.color("gray", 11)),
                        _status_badge(S.status_label, S.status_color),
                        rx.cond(S.running, rx.spinner(size="1")),
                        role="status",
                        aria_live="polite",
                        align="center",
                        spacing="2",
                    ),
                    rx.spacer(),
                    rx.cond(
                        S.running,
                        rx.button(rx.icon("square", size=14, aria_hidden="true"), "Stop import", color_scheme="red",
                                  variant="soft", on_click=S.ask_stop),
                    ),
                    rx.cond(
                        S.finished,
                        _button_link("View contacts", "/contacts", "users"),
                    ),
                    align="center",
                    width="100%",
                    wrap="wrap",
                    spacing="3",
                ),
                rx.progress(value=S.percent, max=100, aria_label="Import progress", size="3",
                            color_scheme=rx.cond(S.status == "failed", "red", rx.cond(S.status == "stopped", "orange", "accent"))),
                rx.text(S.rows_label, size="2", color=rx.color("gray", 11)),
                rx.cond(S.message != "", rx.text(S.message, size="2")),
                rx.hstack(
                    rx.text("Uploaded ", S.date_added, size="1", color=rx.color("gray", 10)),
                    rx.cond(S.started_at != "", rx.text("Started ", S.started_at, size="1", color=rx.color("gray", 10))),
                    rx.cond(S.finished_at != "", rx.text("Finished ", S.finished_at, size="1", color=rx.color("gray", 10))),
                    spacing="4",
                    wrap="wrap",
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.grid(
            _count("Created", S.counts["inserted"], "user-plus", "green"),
            _count("Updated", S.counts["updated"], "user-pen", "blue"),
            _count("Failed", S.counts["failed"], "user-x", "red"),
            _count("Ignored", S.counts["ignored"], "user-minus", "gray"),
            columns=rx.breakpoints(initial="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        _failures_section(),
        confirm_dialog(
            open=S.stop_open,
            title="Stop import",
            description="Stop this import after the batch that is running now? Rows already imported stay; it cannot be resumed.",
            confirm_label="Stop import",
            on_confirm=S.confirm_stop,
            on_cancel=S.cancel_stop,
            busy=S.stopping,
        ),
        spacing="4",
        width="100%",
    )


@template(route=ROUTE + "/[import_id]", title="Import", on_load=ImportState.load)
def import_page() -> rx.Component:
    S = ImportState
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14, aria_hidden="true"), rx.text("All imports", size="2"), spacing="1",
                          align="center"),
                href=ROUTE, color_scheme="gray"),
        page_header(rx.cond(S.name != "", S.name, "Import")),
        rx.cond(
            S.missing,
            rx.callout("This import does not exist.", icon="circle-alert", color_scheme="amber", role="alert", width="100%"),
            rx.cond(
                S.loaded,
                rx.cond(S.is_new, _mapping_view(), _progress_view()),
                rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
            ),
        ),
        spacing="3",
        width="100%",
    )
