"""Dashboard: live contact tiles, live visitors, and charts over a chosen range (Plotly)."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain.tracking import page_labels
from mautic_app.models.base import utcnow
from mautic_app.services import dashboard, visitors
from mautic_app.ui import live
from mautic_app.ui.components.visits import chart_text, device_label, expires_at, visitor_row
from mautic_app.ui.layout import page_header, template

RANGES = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last 12 months"}
LIVE_WINDOW = timedelta(minutes=30)
LIVE_SHOWN = 5
# On a busy site hits arrive many times a second; the range charts (which scan the whole range)
# redraw at most this often, while the live-visitors panel follows every hit. A redraw held back
# happens once the feed is quiet (live.IDLE_CHECK_SECONDS) or at the next hit after this.
CHART_REFRESH_SECONDS = 5.0
GRID = {"rangemode": "tozero", "gridcolor": "rgba(128,128,128,0.2)"}


def _load(days: int) -> tuple[dict[str, int], list]:
    end = utcnow().date()
    with session_scope() as session:
        return dashboard.tiles(session=session), dashboard.contacts_per_day(session=session, start=end - timedelta(days=days - 1), end=end)


def _load_live() -> tuple[int, list[dict[str, str]], float]:
    with session_scope() as session:
        count = visitors.count_live_visitors(session=session, within=LIVE_WINDOW)
        rows = visitors.live_visitors(session=session, within=LIVE_WINDOW, limit=LIVE_SHOWN)
    return count, [visitor_row(r) for r in rows], expires_at(rows, LIVE_WINDOW, count)


def _load_visits(days: int) -> dict[str, Any]:
    end = utcnow().date()
    with session_scope() as session:
        return dashboard.visits(session=session, start=end - timedelta(days=days - 1), end=end)


def _load_emails(days: int) -> dict[str, Any]:
    end = utcnow().date()
    with session_scope() as session:
        return dashboard.email_activity(session=session, start=end - timedelta(days=days - 1), end=end)


def _style(fig: go.Figure, **layout) -> go.Figure:
    fig.update_layout({
        "margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "height": 320, "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#888"}, **layout,
    })
    return fig


def _pie(labels: list[str], values: list[int]) -> go.Figure:
    if not sum(values):
        return _style(go.Figure(), xaxis={"visible": False}, yaxis={"visible": False},
                      annotations=[{"text": "No visits in this range", "showarrow": False, "font": {"size": 14}}])
    return _style(go.Figure(go.Pie(labels=labels, values=values, hole=0.45, sort=False)), showlegend=True)


def _visit_figures(data: dict[str, Any]) -> dict[str, go.Figure]:
    """The four visit charts; page titles and addresses are visitors' text, escaped for Plotly's labels."""
    hits = go.Figure(go.Scatter(x=[at.date().isoformat() for at, _ in data["hits"]], y=[n for _, n in data["hits"]],
                                mode="lines+markers", name="Page hits", fill="tozeroy"))
    pages = list(reversed(data["pages"]))  # Plotly draws the first bar at the bottom
    popular = go.Figure(go.Bar(
        x=[p["hits"] for p in pages], y=[chart_text(label) for label in page_labels([(p["url"], p["title"]) for p in pages])],
        orientation="h",
        customdata=[[chart_text(p["url"], 120), p["unique_hits"]] for p in pages], name="Hits",
        hovertemplate="%{customdata[0]}<br>%{x} hits, %{customdata[1]} unique<extra></extra>",
    ))
    return {
        "hits": _style(hits, yaxis=GRID),
        "returning": _pie(["New visitors", "Returning visitors"], [data["returning"]["new"], data["returning"]["returning"]]),
        "pages": _style(popular, margin={"l": 10, "r": 10, "t": 10, "b": 40}, yaxis={"automargin": True},
                        xaxis=GRID),
        "devices": _pie([chart_text(device_label(kind)) for kind, _ in data["devices"]], [n for _, n in data["devices"]]),
    }


class DashboardState(rx.State):
    total: int = 0
    identified: int = 0
    anonymous: int = 0
    new_today: int = 0
    loaded: bool = False
    range_days: str = "30"
    figure: go.Figure = go.Figure()
    live_count: int = 0
    live_rows: list[dict[str, str]] = []
    hits_figure: go.Figure = go.Figure()
    returning_figure: go.Figure = go.Figure()
    pages_figure: go.Figure = go.Figure()
    devices_figure: go.Figure = go.Figure()
    emails_figure: go.Figure = go.Figure()
    emails_sent: int = 0
    emails_read_rate: str = "0%"
    emails_click_rate: str = "0%"
    _following: bool = False
    _charts_at: float = 0.0
    _charts_stale: bool = False
    _live_expires_at: float = math.inf

    async def _reload(self) -> None:
        days = int(self.range_days)
        tiles, series = await rx.run_in_thread(lambda: _load(days))
        self.total, self.identified = tiles["total"], tiles["identified"]
        self.anonymous, self.new_today = tiles["anonymous"], tiles["new_today"]
        fig = go.Figure(go.Bar(x=[d.isoformat() for d, _ in series], y=[n for _, n in series], name="Contacts created"))
        self.figure = _style(fig, yaxis=GRID)

    async def _reload_live(self) -> None:
        self.live_count, self.live_rows, self._live_expires_at = await rx.run_in_thread(_load_live)

    async def _reload_visits(self) -> None:
        days = int(self.range_days)
        figures = _visit_figures(await rx.run_in_thread(lambda: _load_visits(days)))
        self.hits_figure, self.returning_figure = figures["hits"], figures["returning"]
        self.pages_figure, self.devices_figure = figures["pages"], figures["devices"]
        self._charts_at, self._charts_stale = time.monotonic(), False

    async def _reload_emails(self) -> None:
        days = int(self.range_days)
        data = await rx.run_in_thread(lambda: _load_emails(days))
        x = [d.isoformat() for d in data["days"]]
        fig = go.Figure([go.Bar(x=x, y=data[k], name=label) for k, label in (("sent", "Sent"), ("opened", "Opened"), ("clicked", "Clicked"))])
        self.emails_figure = _style(fig, yaxis=GRID, barmode="group")
        totals = data["totals"]
        self.emails_sent = totals["sent"]
        self.emails_read_rate = f"{100 * totals['opened'] / totals['sent']:.1f}%" if totals["sent"] else "0%"
        self.emails_click_rate = f"{100 * totals['clicked'] / totals['sent']:.1f}%" if totals["sent"] else "0%"

    @rx.event
    async def load(self):
        await self._reload()
        await self._reload_live()
        await self._reload_visits()
        await self._reload_emails()
        self.loaded = True
        return DashboardState.follow_changes

    @rx.event
    async def set_range(self, value: str):
        if value in RANGES:
            self.range_days = value
            await self._reload()
            await self._reload_visits()
            await self._reload_emails()

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            if any("ids" in p for p in batch):  # "contacts"
                await self._reload()
            if any("id" in p for p in batch):  # "emails": a broadcast's batch, an open, a click
                await self._reload_emails()
            if any("contact_ids" in p for p in batch):  # "hits"
                await self._reload_live()
                if time.monotonic() - self._charts_at >= CHART_REFRESH_SECONDS:
                    await self._reload_visits()
                else:
                    self._charts_stale = True

        async def catch_up():
            if self._charts_stale:
                await self._reload_visits()
            if time.time() >= self._live_expires_at:  # a visitor's last hit left the window: drop them
                await self._reload_live()

        await live.follow(self, ["contacts", "hits", "emails"], refresh, on_idle=catch_up)


def tile(label: str, value: rx.Var, icon: str) -> rx.Component:
    """A headline count; until the page's first load it shows a dash, never a misleading 0."""
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=28, color=rx.color("accent", 10)),
            rx.vstack(
                rx.text(label, size="2", color=rx.color("gray", 11)),
                rx.heading(rx.cond(DashboardState.loaded, value, "–"), size="7", aria_label=label),
                spacing="0",
            ),
            align="center",
            spacing="4",
        ),
        width="100%",
        role="group",
        aria_label=label,
    )


def _live_panel() -> rx.Component:
    S = DashboardState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Live visitors", size="4", as_="h2", id="live-visitors-heading"),
                rx.spacer(),
                rx.link("All visitors", href=routes.VISITORS, size="2"),
                align="center",
                width="100%",
            ),
            rx.hstack(
                rx.text(rx.cond(S.loaded, S.live_count, "–"), size="7", weight="bold",
                        aria_label="Visitors in the last 30 minutes", role="status"),
                rx.text("in the last 30 minutes", size="2", color=rx.color("gray", 11)),
                align="baseline",
                spacing="2",
            ),
            rx.cond(
                S.live_rows.length() > 0,
                rx.el.ul(
                    rx.foreach(S.live_rows, lambda r: rx.el.li(
                        rx.hstack(
                            rx.link(r["name"], href=routes.contact(r["contact_id"].to(str)), size="2", weight="medium",
                                    white_space="nowrap", color_scheme=rx.cond(r["identified"] == "1", "accent", "gray")),
                            rx.text(r["title"], size="2", color=rx.color("gray", 11), overflow="hidden",
                                    text_overflow="ellipsis", white_space="nowrap", min_width="0", flex="1"),
                            rx.text(r["when"], size="1", color=rx.color("gray", 10), white_space="nowrap"),
                            align="center",
                            spacing="3",
                            width="100%",
                        ),
                        style={"padding": "0.3rem 0", "border_bottom": "1px solid var(--gray-a4)"},
                    )),
                    aria_label="Latest visitors",
                    style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
                ),
                rx.cond(S.loaded, rx.text("Nobody is on the tracked sites right now.", size="2", color=rx.color("gray", 10))),
            ),
            spacing="3",
            width="100%",
        ),
        role="region",
        aria_labelledby="live-visitors-heading",
        width="100%",
    )


def _chart(title: str, heading_id: str, figure: rx.Var) -> rx.Component:
    """A chart card named by its heading, so it can be found by that name."""
    return rx.card(
        rx.heading(title, size="4", as_="h2", id=heading_id),
        rx.plotly(data=figure, width="100%", height="320px"),
        role="region",
        aria_labelledby=heading_id,
        width="100%",
        min_width="0",
    )


@template(route=routes.DASHBOARD, title="Dashboard", on_load=DashboardState.load)
def index() -> rx.Component:
    return rx.vstack(
        page_header(
            "Dashboard",
            # The range every chart below covers; the tiles and live visitors are always "now".
            rx.select.root(
                rx.select.trigger(aria_label="Date range"),
                rx.select.content(*[rx.select.item(label, value=key) for key, label in RANGES.items()]),
                value=DashboardState.range_days,
                on_change=DashboardState.set_range,
            ),
        ),
        rx.grid(
            tile("Contacts", DashboardState.total, "users"),
            tile("Identified", DashboardState.identified, "user-check"),
            tile("Anonymous", DashboardState.anonymous, "user-x"),
            tile("New today", DashboardState.new_today, "user-plus"),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        _chart("Contacts created", "contacts-chart-heading", DashboardState.figure),
        _live_panel(),
        rx.grid(
            tile("E-mails sent", DashboardState.emails_sent, "mail"),
            tile("Read rate", DashboardState.emails_read_rate, "mail-open"),
            tile("Click rate", DashboardState.emails_click_rate, "mouse-pointer-click"),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="4",
            width="100%",
        ),
        _chart("E-mails over time", "emails-chart-heading", DashboardState.emails_figure),
        rx.grid(
            _chart("Page hits over time", "hits-chart-heading", DashboardState.hits_figure),
            _chart("New vs returning visitors", "returning-chart-heading", DashboardState.returning_figure),
            _chart("Popular pages", "pages-chart-heading", DashboardState.pages_figure),
            _chart("Device types", "devices-chart-heading", DashboardState.devices_figure),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
