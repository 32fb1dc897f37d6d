"""One import's state: the mapping form while the import waits for it (status "new"), then its
progress and rejected rows, live from the ``imports`` change feed."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.services import imports
from mautic_app.ui import live
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.pages.imports import data

FAILURE_PAGE = 25
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
ERROR_KEYS = ("mapping", "default_owner_id", "segment_id", "form", *FORMAT_KEYS)


def _no_errors() -> dict[str, str]:
    return {k: "" for k in ERROR_KEYS}


def _errors_of(exc: imports.CsvImportError) -> dict[str, str]:
    """The service's errors by the form's keys; those of no field of the form go to "form"."""
    return {**_no_errors(), **{k if k in ERROR_KEYS else "form": v for k, v in exc.errors.items()}}


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


class ImportState(RecordPage, rx.State):
    import_id: int = 0
    loaded: bool = False
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
    known_tags: list[str] = []
    owner_id: str = ""
    segment_id: str = ""  # every row joins it
    segments: list[dict[str, str]] = []
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
        return data.STATUS_COLORS.get(self.status, "gray")

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
        self.date_added, self.started_at = data.when(s["date_added"]), data.when(s["started_at"])
        self.finished_at = data.when(s["finished_at"])

    async def _refresh(self) -> None:
        import_id = self.import_id
        summary = await rx.run_in_thread(lambda: data.progress(import_id))
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
        self.failures = await rx.run_in_thread(lambda: data.failures(import_id, start, FAILURE_PAGE))

    def _format(self) -> dict[str, str | None]:
        return {"delimiter": self.delimiter, "enclosure": self.enclosure, "escape": self.escape, "encoding": self.encoding}

    async def _run_preview(self, first: bool = False) -> None:
        """Read the file's head with the current format; on a bad format keep the last good preview."""
        import_id = self.import_id
        fmt = {k: None for k in FORMAT_KEYS} if first else self._format()
        self.previewing = True
        try:
            head = await rx.run_in_thread(lambda: data.preview(import_id, fmt))
        except imports.CsvImportError as exc:
            self.errors = _errors_of(exc)
            if exc.status == 404 and "id" in exc.errors:
                self.missing = True
            return
        finally:
            self.previewing = False
        self.errors = _no_errors()
        self.delimiter = "tab" if head["delimiter"] == "\t" else head["delimiter"]
        self.enclosure, self.escape, self.encoding = head["enclosure"], head["escape"], head["encoding"]
        self.headers = list(head["headers"])
        self.targets = [{"value": t["value"], "label": t["label"], "group": t["group"]} for t in head["targets"]]
        valid = {t["value"] for t in self.targets}
        suggested = head["mapping"]
        rows = head["rows"]
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
        import_id = routes.id_in_path(self.router.url.path, routes.IMPORT)
        if import_id != self.import_id:
            self._reset_for(import_id or 0)
        self.stop_open = False
        if not import_id:
            self.missing, self.loaded = True, True
            self._loaded_here()
            return
        self.owners = await rx.run_in_thread(data.owner_options)
        self.known_tags = await rx.run_in_thread(data.tag_names)
        self.segments = await rx.run_in_thread(data.segment_options)
        await self._refresh()
        self._loaded_here()
        return ImportState.follow_changes

    @rx.var
    def contacts_href(self) -> str:
        """The contacts this import created or updated, as Mautic links to them."""
        return routes.contacts_search(f"import_id:{self.import_id}")

    def _reset_for(self, import_id: int) -> None:
        self.import_id, self.loaded, self.missing = import_id, False, False
        self.name = self.status = self.status_label = self.message = ""
        self.percent = self.processed = self.total = self.inserted = self.updated = self.failed = self.ignored = 0
        self.date_added = self.started_at = self.finished_at = ""
        self.headers, self.preview_rows, self.columns, self.targets = [], [], [], []
        self.delimiter, self.enclosure, self.escape, self.encoding = ",", '"', "\\", "utf-8"
        self.owner_id, self.segment_id, self.tags, self.skip_if_exists = "", "", "", False
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
    async def set_format(self, key: str, value: str):
        """A file-format setting changed: the enclosure and escape are one character; the preview is read again."""
        if key in FORMAT_KEYS:
            setattr(self, key, value[:1] if key in ("enclosure", "escape") else value)
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
    def set_segment(self, value: str):
        self.segment_id = value
        self.errors = {**self.errors, "segment_id": ""}

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
            "segment_id": self.segment_id or None,
            **{k: ("\t" if k == "delimiter" and v == "tab" else v) for k, v in self._format().items()},
        }
        try:
            await rx.run_in_thread(lambda: data.start(import_id, mapping, options))
        except imports.CsvImportError as exc:
            self.errors = _errors_of(exc)
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
        await rx.run_in_thread(lambda: data.stop(import_id))
        return rx.redirect(routes.IMPORTS)

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
        await rx.run_in_thread(lambda: data.stop(import_id))
        self.stopping, self.stop_open = False, False
        await self._refresh()

    @rx.event
    async def turn_failures(self, step: int):
        """The previous (-1) or next (1) page of rejected rows, where there is one."""
        page = self.failure_page + (1 if step > 0 else -1)
        if 1 <= page <= self.failure_pages:
            self.failure_page = page
            await self._load_failures()
