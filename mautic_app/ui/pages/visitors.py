"""Visitors: who is on the tracked sites now, with the page each is on, updated as hits arrive."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import visitors
from mautic_app.ui import live
from mautic_app.ui.components.visits import expires_at, visited_page, visitor_row
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, native_select, plain_header
from mautic_app.ui.layout import page_header, template

WINDOWS = {"5": "5 minutes", "15": "15 minutes", "30": "30 minutes", "60": "60 minutes", "1440": "24 hours"}
LIMIT = 100


def _load(minutes: int) -> tuple[int, list[dict[str, str]], float]:
    within = timedelta(minutes=minutes)
    with session_scope() as session:
        count = visitors.count_live_visitors(session=session, within=within)
        rows = visitors.live_visitors(session=session, within=within, limit=LIMIT)
    return count, [visitor_row(r) for r in rows], expires_at(rows, within, count)


class VisitorsState(rx.State):
    minutes: str = "30"
    count: int = 0
    rows: list[dict[str, str]] = []
    loaded: bool = False
    _following: bool = False
    _expires_at: float = math.inf

    @rx.var
    def count_label(self) -> str:
        noun = "visitor" if self.count == 1 else "visitors"
        shown = f" (latest {LIMIT} shown)" if self.count > LIMIT else ""
        return f"{self.count:,} {noun} in the last {WINDOWS.get(self.minutes, '')}{shown}"

    async def _reload(self) -> None:
        minutes = int(self.minutes)
        self.count, self.rows, self._expires_at = await rx.run_in_thread(lambda: _load(minutes))
        self.loaded = True

    @rx.event
    async def load(self):
        await self._reload()
        return VisitorsState.follow_changes

    @rx.event
    async def set_minutes(self, value: str):
        if value in WINDOWS:
            self.minutes = value
            await self._reload()

    @rx.event(background=True)
    async def follow_changes(self):
        """Hits bring new rows; contact changes (identified, merged, deleted) rename or drop them; on a
        quiet feed, a visitor whose last hit has left the window is dropped."""

        async def refresh(_batch):
            await self._reload()

        async def expire():
            if time.time() >= self._expires_at:
                await self._reload()

        await live.follow(self, ["hits", "contacts"], refresh, on_idle=expire)


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(row["name"], href=routes.contact(row["contact_id"].to(str)), weight="medium",
                    color_scheme=rx.cond(row["identified"] == "1", "accent", "gray")),
            max_width="16rem",
        ),
        rx.table.cell(visited_page(row), max_width="28rem"),
        rx.table.cell(row["device"], white_space="nowrap"),
        rx.table.cell(row["when"], white_space="nowrap"),
        rx.table.cell(row["hits"], text_align="right"),
    )


@template(route=routes.VISITORS, title="Visitors", on_load=VisitorsState.load)
def visitors_page() -> rx.Component:
    S = VisitorsState
    return rx.vstack(
        page_header(
            "Visitors",
            rx.hstack(
                rx.el.label("Active in the last", html_for="visitor-window", style={"font_size": "var(--font-size-2)"}),
                native_select(*[rx.el.option(label, value=key) for key, label in WINDOWS.items()], id="visitor-window",
                              value=S.minutes, on_change=S.set_minutes, width="9rem"),
                align="center",
                spacing="2",
            ),
        ),
        rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status", aria_live="polite"),
        rx.cond(
            S.rows.length() > 0,
            rx.box(
                rx.table.root(
                    rx.el.caption("Live visitors", style=VISUALLY_HIDDEN),
                    rx.table.header(
                        rx.table.row(plain_header("Visitor"), plain_header("Page"), plain_header("Device"),
                                     plain_header("Last hit (UTC)"), plain_header("Hits")),
                    ),
                    rx.table.body(rx.foreach(S.rows, _row)),
                    variant="surface",
                    size="2",
                    width="100%",
                    min_width="44rem",  # a phone scrolls the table sideways rather than squeezing it
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.cond(S.loaded, rx.text("Nobody has visited a tracked page in this time.", size="2", color=rx.color("gray", 10))),
        ),
        spacing="3",
        width="100%",
    )
