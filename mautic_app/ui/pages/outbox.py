"""``/outbox``: messages kept because no e-mail transport is configured (the embedded default). They were
never delivered; a marketer reads them here as their recipients would have."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import mailer
from mautic_app.ui import live
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN
from mautic_app.ui.layout import page_header, template

PAGE = 30


def _page(start: int) -> dict[str, Any]:
    with session_scope() as session:
        total, rows = mailer.outbox_page(session=session, start=start, limit=PAGE)
        return {"total": total, "rows": [{"id": str(r.id), "to": r.to_address, "subject": r.subject,
                                          "date": r.date_added.strftime("%Y-%m-%d %H:%M")} for r in rows]}


def _message(message_id: int) -> dict[str, str] | None:
    with session_scope() as session:
        return mailer.outbox_message(session=session, message_id=message_id)


class OutboxState(rx.State):
    rows: list[dict[str, str]] = []
    total: int = 0
    start: int = 0
    loaded: bool = False
    open_id: str = ""
    message: dict[str, str] = {}
    _following: bool = False

    @rx.event
    async def load(self):
        await self._reload()
        self.loaded = True
        return OutboxState.follow_changes

    async def _reload(self) -> None:
        start = self.start
        found = await rx.run_in_thread(lambda: _page(start))
        self.rows, self.total = found["rows"], found["total"]

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["outbox"], refresh)

    @rx.event
    async def show(self, message_id: str):
        found = await rx.run_in_thread(lambda: _message(int(message_id)))
        self.open_id, self.message = (message_id, found) if found else ("", {})

    @rx.event
    def close(self, _open: bool = False):
        self.open_id, self.message = "", {}

    @rx.event
    async def older(self):
        if self.start + PAGE < self.total:
            self.start += PAGE
            await self._reload()

    @rx.event
    async def newer(self):
        if self.start:
            self.start = max(0, self.start - PAGE)
            await self._reload()


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["date"]),
        rx.table.cell(row["to"]),
        rx.table.row_header_cell(rx.link(row["subject"], on_click=OutboxState.show(row["id"]), href="#",
                                         aria_label="Open " + row["subject"].to(str) + " to " + row["to"].to(str))),
    )


@template(route=routes.OUTBOX, title="Outbox", on_load=OutboxState.load)
def outbox_page() -> rx.Component:
    S = OutboxState
    return rx.vstack(
        page_header("Outbox"),
        rx.callout("Not delivered: no e-mail transport is configured, so sent messages are kept here. An administrator sets one in "
                   "Settings → E-mail.", icon="inbox", color_scheme="amber", role="note", width="100%"),
        rx.text(S.total.to_string() + " messages", size="2", role="status"),
        rx.cond(S.rows.length() > 0, rx.table.root(
            rx.el.caption("Outbox messages", style=VISUALLY_HIDDEN),
            rx.table.header(rx.table.row(rx.table.column_header_cell("Kept"), rx.table.column_header_cell("To"),
                                         rx.table.column_header_cell("Subject"))),
            rx.table.body(rx.foreach(S.rows, _row)), variant="surface", width="100%")),
        rx.hstack(rx.button("Newer", variant="soft", on_click=S.newer, disabled=S.start == 0),
                  rx.button("Older", variant="soft", on_click=S.older, disabled=S.start + 30 >= S.total), spacing="2"),
        rx.dialog.root(
            rx.dialog.content(
                rx.dialog.title(S.message["subject"]),
                rx.dialog.description(rx.text("From ", S.message["from"], " to ", S.message["to"], " · not delivered", size="2")),
                rx.el.iframe(src_doc=S.message["html"], sandbox="allow-same-origin", title="Message",
                             style={"width": "100%", "height": "30rem", "border": "1px solid var(--gray-a6)", "background": "white"}),
                rx.dialog.close(rx.button("Close", variant="soft")),
                max_width="50rem",
            ),
            open=S.open_id != "", on_open_change=S.close,
        ),
        spacing="3", width="100%",
    )
