"""Dashboard: live contact tiles and contacts created per day (Plotly)."""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import reflex as rx

from mautic_app.db import session_scope
from mautic_app.models.base import utcnow
from mautic_app.services import dashboard
from mautic_app.ui import live
from mautic_app.ui.layout import page_header, template

RANGES = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last 12 months"}


def _load(days: int) -> tuple[dict[str, int], list]:
    end = utcnow().date()
    with session_scope() as session:
        return dashboard.tiles(session=session), dashboard.contacts_per_day(session=session, start=end - timedelta(days=days - 1), end=end)


class DashboardState(rx.State):
    total: int = 0
    identified: int = 0
    anonymous: int = 0
    new_today: int = 0
    range_days: str = "30"
    figure: go.Figure = go.Figure()
    _following: bool = False

    async def _reload(self) -> None:
        days = int(self.range_days)
        tiles, series = await rx.run_in_thread(lambda: _load(days))
        self.total, self.identified = tiles["total"], tiles["identified"]
        self.anonymous, self.new_today = tiles["anonymous"], tiles["new_today"]
        fig = go.Figure(go.Bar(x=[d.isoformat() for d, _ in series], y=[n for _, n in series], name="Contacts created"))
        fig.update_layout(
            margin={"l": 40, "r": 10, "t": 10, "b": 40}, height=320, paper_bgcolor="rgba(0,0,0,0)",
            plot_bgcolor="rgba(0,0,0,0)", yaxis={"rangemode": "tozero", "gridcolor": "rgba(128,128,128,0.2)"},
            font={"color": "#888"},
        )
        self.figure = fig

    @rx.event
    async def load(self):
        await self._reload()
        return DashboardState.follow_changes

    @rx.event
    async def set_range(self, value: str):
        if value in RANGES:
            self.range_days = value
            await self._reload()

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["contacts"], refresh)


def tile(label: str, value: rx.Var, icon: str) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=28, color=rx.color("accent", 10)),
            rx.vstack(
                rx.text(label, size="2", color=rx.color("gray", 11)),
                rx.heading(value, size="7", aria_label=label),
                spacing="0",
            ),
            align="center",
            spacing="4",
        ),
        width="100%",
        role="group",
        aria_label=label,
    )


@template(route="/", title="Dashboard", on_load=DashboardState.load)
def index() -> rx.Component:
    return rx.vstack(
        page_header("Dashboard"),
        rx.grid(
            tile("Contacts", DashboardState.total, "users"),
            tile("Identified", DashboardState.identified, "user-check"),
            tile("Anonymous", DashboardState.anonymous, "user-x"),
            tile("New today", DashboardState.new_today, "user-plus"),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        rx.card(
            rx.hstack(
                rx.heading("Contacts created", size="4"),
                rx.spacer(),
                rx.select.root(
                    rx.select.trigger(aria_label="Date range"),
                    rx.select.content(*[rx.select.item(label, value=key) for key, label in RANGES.items()]),
                    value=DashboardState.range_days,
                    on_change=DashboardState.set_range,
                ),
                width="100%",
                align="center",
            ),
            rx.plotly(data=DashboardState.figure, width="100%", height="320px"),
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
