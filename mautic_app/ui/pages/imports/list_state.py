"""The imports list's state: a page of past imports, followed live, and the upload of a new file.

The upload arrives through a background handler (``rx.upload_files_chunk``) that hands the chunks to
the import service, which streams them to disk; once the service has checked and kept the file, the
browser moves to the new import's page.
"""

from __future__ import annotations

import logging

import reflex as rx

from mautic_app import routes
from mautic_app.services import imports
from mautic_app.ui import live
from mautic_app.ui.pages.imports import data
from mautic_app.ui.pages.imports.data import ImportSummary
from mautic_app.ui.session import SessionState

log = logging.getLogger(__name__)

UPLOAD_ID = "csv-import"
LIST_PAGE = 20
MAX_MB = imports.MAX_FILE_BYTES // (1024 * 1024)


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
        rows, more = await rx.run_in_thread(lambda: data.load_list(start, LIST_PAGE))
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
    async def turn_page(self, step: int):
        """One page back (-1) or on (1), where there is one."""
        if (step < 0 and self.page > 1) or (step > 0 and self.has_more):
            self.page += 1 if step > 0 else -1
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
        """The service streams the file to disk (never whole in memory), then checks and keeps it."""
        async with self:
            user_id = (await self.get_state(SessionState)).user_id
        name, error, import_id = None, "", 0

        async def started(file_name: str) -> None:
            nonlocal name
            name = file_name
            async with self:
                self.uploading, self.upload_error, self.upload_name = True, "", file_name

        try:
            async with imports.received_upload(chunks, on_start=started) as (part, got):
                if got is not None:  # no file: the browser refused the drop and said why (``rejected``)
                    import_id = await rx.run_in_thread(lambda: data.store_upload(part, got, user_id))
        except imports.CsvImportError as exc:
            error = data.first_error(exc)
        except Exception:  # noqa: BLE001
            log.exception("CSV upload failed")
            error = "The upload failed. Try again."
        async with self:
            self.uploading = False
            self.upload_percent = 100 if import_id else 0
            if name is not None:
                self.upload_error = error
        if import_id:
            yield rx.redirect(routes.import_(import_id))
