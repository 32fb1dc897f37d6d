"""Dashboard: live contact tiles, live visitors, and charts over a chosen range (Plotly)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain.locale_format import DEFAULT_LOCALE, DEFAULT_TIMEZONE, day, local_today, moment, number, rate
from mautic_app.domain.tracking import page_labels
from mautic_app.models.base import utcnow
from mautic_app.services import dashboard, users, visitors
from mautic_app.ui import live
from mautic_app.ui.components.visits import chart_text, device_label, expires_at, visitor_row
from mautic_app.ui.components.widgets import PLOT_CONFIG
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

RANGES = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last 12 months", "custom": "From – to…"}
LONGEST_RANGE_DAYS = 3 * 366
LIVE_WINDOW = timedelta(minutes=30)
LIVE_SHOWN = 5
# On a busy site hits arrive many times a second; the range charts (which scan the whole range)
# redraw at most this often, while the live-visitors panel follows every hit. A redraw held back
# happens once the feed is quiet (live.IDLE_CHECK_SECONDS) or at the next hit after this.
CHART_REFRESH_SECONDS = 5.0
GRID = {"rangemode": "tozero", "gridcolor": "rgba(128,128,128,0.2)"}


@dataclass(frozen=True)
class Range:
    """The user's days the charts cover, and how the user reads numbers and dates."""

    start: date
    end: date
    locale: str
    timezone: str


def _load(r: Range) -> tuple[dict[str, int], list]:
    with session_scope() as session:
        return (dashboard.tiles(session=session, start=r.start, end=r.end, timezone=r.timezone),
                dashboard.contacts_per_day(session=session, start=r.start, end=r.end, timezone=r.timezone))


def _load_live(locale: str, timezone: str) -> tuple[int, list[dict[str, str]], float]:
    with session_scope() as session:
        count = visitors.count_live_visitors(session=session, within=LIVE_WINDOW)
        rows = visitors.live_visitors(session=session, within=LIVE_WINDOW, limit=LIVE_SHOWN)
    return (count, [visitor_row(r, lambda at: moment(at, locale, timezone)) for r in rows],
            expires_at(rows, LIVE_WINDOW, count))


def _load_visits(r: Range) -> dict[str, Any]:
    with session_scope() as session:
        return dashboard.visits(session=session, start=r.start, end=r.end, timezone=r.timezone)


def _load_emails(r: Range) -> dict[str, Any]:
    with session_scope() as session:
        return dashboard.email_activity(session=session, start=r.start, end=r.end, timezone=r.timezone)


def _preferences(user_id: int) -> tuple[str, str]:
    with session_scope() as session:
        return users.preferences(session=session, user_id=user_id)


def _day_axis(start: date, end: date) -> dict[str, Any]:
    """A date axis showing the whole of the first and last day (a line's last point sat on the edge, cut in half)."""
    midnight = datetime.min.time()
    lo, hi = datetime.combine(start, midnight) - timedelta(hours=12), datetime.combine(end, midnight) + timedelta(hours=12)
    return {"type": "date", "range": [lo.isoformat(), hi.isoformat()], "gridcolor": GRID["gridcolor"]}


def _style(fig: go.Figure, **layout) -> go.Figure:
    fig.update_layout({
        "margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "height": 320, "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#888"},
        # the legend in a row above the plot: beside it, it took half a phone's width
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, **layout,
    })
    return fig


def _pie(labels: list[str], values: list[int]) -> go.Figure:
    if not sum(values):
        return _style(go.Figure(), xaxis={"visible": False}, yaxis={"visible": False},
                      annotations=[{"text": "No visits in this range", "showarrow": False, "font": {"size": 14}}])
    return _style(go.Figure(go.Pie(labels=labels, values=values, hole=0.45, sort=False)), showlegend=True)


def _visit_figures(data: dict[str, Any], r: Range) -> dict[str, go.Figure]:
    """The four visit charts; page titles and addresses are visitors' text, escaped for Plotly's labels."""
    hits = go.Figure(go.Scatter(x=[d.isoformat() for d, _ in data["hits"]], y=[n for _, n in data["hits"]],
                                mode="lines+markers", name="Page hits per week" if data["weekly"] else "Page hits",
                                fill="tozeroy"))
    pages = list(reversed(data["pages"]))  # Plotly draws the first bar at the bottom
    popular = go.Figure(go.Bar(
        x=[p["hits"] for p in pages], y=[chart_text(label, 40) for label in page_labels([(p["url"], p["title"]) for p in pages])],
        orientation="h",
        customdata=[[chart_text(p["url"], 120), p["unique_hits"]] for p in pages], name="Hits",
        hovertemplate="%{customdata[0]}<br>%{x} hits, %{customdata[1]} unique<extra></extra>",
    ))
    return {
        "hits": _style(hits, yaxis=GRID, xaxis=_day_axis(r.start, r.end)),
        "returning": _pie(["New visitors", "Returning visitors"], [data["returning"]["new"], data["returning"]["returning"]]),
        "pages": _style(popular, margin={"l": 10, "r": 10, "t": 10, "b": 40}, yaxis={"automargin": True},
                        xaxis=GRID),
        "devices": _pie([chart_text(device_label(kind)) for kind, _ in data["devices"]], [n for _, n in data["devices"]]),
    }


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


class DashboardState(rx.State):
    total: str = ""
    identified: str = ""
    anonymous: str = ""
    new_in_range: str = ""
    loaded: bool = False
    range_days: str = "30"
    # The custom range's first and last day (YYYY-MM-DD), in the user's time zone; the range they make, in words.
    range_from: str = ""
    range_to: str = ""
    range_error: str = ""
    range_label: str = ""
    locale: str = DEFAULT_LOCALE
    plot_locale: str = "en-US"
    figure: go.Figure = go.Figure()
    live_count: str = ""
    live_rows: list[dict[str, str]] = []
    hits_figure: go.Figure = go.Figure()
    returning_figure: go.Figure = go.Figure()
    pages_figure: go.Figure = go.Figure()
    devices_figure: go.Figure = go.Figure()
    emails_figure: go.Figure = go.Figure()
    emails_sent: str = ""
    emails_read_rate: str = ""
    emails_click_rate: str = ""
    _timezone: str = DEFAULT_TIMEZONE
    _following: bool = False
    _charts_at: float = 0.0
    _charts_stale: bool = False
    _live_expires_at: float = math.inf

    def _range(self) -> Range:
        """The days chosen: a preset ends today (the user's today), a custom range is the user's from and to."""
        if self.range_days == "custom":
            start, end = _parse_day(self.range_from), _parse_day(self.range_to)
            if start and end:
                return Range(start, end, self.locale, self._timezone)
        today = local_today(self._timezone, utcnow())
        days = int(self.range_days) if self.range_days.isdigit() else 30
        return Range(today - timedelta(days=days - 1), today, self.locale, self._timezone)

    async def _reload(self) -> None:
        r = self._range()
        tiles, series = await rx.run_in_thread(lambda: _load(r))
        self.total, self.identified = number(tiles["total"], r.locale), number(tiles["identified"], r.locale)
        self.anonymous, self.new_in_range = number(tiles["anonymous"], r.locale), number(tiles["new"], r.locale)
        self.range_label = f"{day(r.start, r.locale)} – {day(r.end, r.locale)}"
        fig = go.Figure(go.Bar(x=[d.isoformat() for d, _ in series], y=[n for _, n in series], name="Contacts created"))
        self.figure = _style(fig, yaxis=GRID, xaxis=_day_axis(r.start, r.end))

    async def _reload_live(self) -> None:
        locale, timezone = self.locale, self._timezone
        count, self.live_rows, self._live_expires_at = await rx.run_in_thread(lambda: _load_live(locale, timezone))
        self.live_count = number(count, self.locale)

    async def _reload_visits(self) -> None:
        r = self._range()
        figures = _visit_figures(await rx.run_in_thread(lambda: _load_visits(r)), r)
        self.hits_figure, self.returning_figure = figures["hits"], figures["returning"]
        self.pages_figure, self.devices_figure = figures["pages"], figures["devices"]
        self._charts_at, self._charts_stale = time.monotonic(), False

    async def _reload_emails(self) -> None:
        r = self._range()
        data = await rx.run_in_thread(lambda: _load_emails(r))
        x = [d.isoformat() for d in data["days"]]
        fig = go.Figure([go.Bar(x=x, y=data[k], name=label) for k, label in (("sent", "Sent"), ("opened", "Opened"), ("clicked", "Clicked"))])
        self.emails_figure = _style(fig, yaxis=GRID, xaxis=_day_axis(r.start, r.end), barmode="group")
        totals = data["totals"]
        self.emails_sent = number(totals["sent"], r.locale)
        self.emails_read_rate = rate(totals["opened"], totals["sent"], r.locale)
        self.emails_click_rate = rate(totals["clicked"], totals["sent"], r.locale)

    async def _reload_ranged(self) -> None:
        await self._reload()
        await self._reload_visits()
        await self._reload_emails()

    @rx.event
    async def load(self):
        me = (await self.get_state(SessionState)).user_id
        self.locale, self._timezone = await rx.run_in_thread(lambda: _preferences(me))
        self.plot_locale = self.locale.replace("_", "-")
        await self._reload()
        await self._reload_live()
        await self._reload_visits()
        await self._reload_emails()
        self.loaded = True
        return DashboardState.follow_changes

    @rx.event
    async def set_range(self, value: str):
        if value not in RANGES:
            return
        self.range_days, self.range_error = value, ""
        if value == "custom":
            if not (self.range_from and self.range_to):  # start from the range shown until now
                r = self._range()
                self.range_from, self.range_to = r.start.isoformat(), r.end.isoformat()
            return
        await self._reload_ranged()

    @rx.event
    async def apply_custom_range(self, form: dict):
        start, end = _parse_day(str(form.get("from", ""))), _parse_day(str(form.get("to", "")))
        if start is None or end is None:
            self.range_error = "Enter both days, such as 2026-11-01."
        elif start > end:
            self.range_error = "The first day comes after the last."
        elif (end - start).days >= LONGEST_RANGE_DAYS:
            self.range_error = "Choose at most three years."
        else:
            self.range_days, self.range_error = "custom", ""
            self.range_from, self.range_to = start.isoformat(), end.isoformat()
            await self._reload_ranged()

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
            rx.icon(icon, size=28, color=rx.color("accent", 10), display=rx.breakpoints(initial="none", sm="block")),
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


DAY_TEXT = {"placeholder": "YYYY-MM-DD", "pattern": r"\d{4}-\d{2}-\d{2}", "auto_complete": "off", "width": "8.5rem",
            "title": "A day such as 2026-11-01"}
def _chart(title: str, heading_id: str, figure: rx.Var) -> rx.Component:
    """A chart card named by its heading, so it can be found by that name; dates and numbers in the user's locale."""
    return rx.card(
        rx.heading(title, size="4", as_="h2", id=heading_id),
        rx.plotly(data=figure, width="100%", height="320px", config=PLOT_CONFIG, locale=DashboardState.plot_locale),
        role="region",
        aria_labelledby=heading_id,
        width="100%",
        min_width="0",
    )


def _custom_range() -> rx.Component:
    """The first and last day (the user's time zone), typed: one Tab stop each."""
    S = DashboardState
    return rx.form(
        rx.hstack(
            rx.el.label("From", html_for="range-from", style={"font_size": "var(--font-size-2)"}),
            rx.input(id="range-from", name="from", default_value=S.range_from, key=S.range_from, required=True, **DAY_TEXT),
            rx.el.label("to", html_for="range-to", style={"font_size": "var(--font-size-2)"}),
            rx.input(id="range-to", name="to", default_value=S.range_to, key=S.range_to, required=True, **DAY_TEXT),
            rx.button("Show", type="submit", variant="soft"),
            rx.cond(S.range_error != "", rx.text(S.range_error, color=rx.color("red", 11), size="2", role="alert")),
            align="center", spacing="2", wrap="wrap",
        ),
        on_submit=S.apply_custom_range, aria_label="Custom range", width="100%",
    )


@template(route=routes.DASHBOARD, title="Dashboard", on_load=DashboardState.load)
def index() -> rx.Component:
    return rx.vstack(
        page_header(
            "Dashboard",
            # The range every chart below covers; the contact tiles and live visitors are always "now".
            rx.select.root(
                rx.select.trigger(aria_label="Date range"),
                rx.select.content(*[rx.select.item(label, value=key) for key, label in RANGES.items()]),
                value=DashboardState.range_days,
                on_change=DashboardState.set_range,
            ),
        ),
        rx.cond(DashboardState.range_days == "custom", _custom_range()),
        rx.text(DashboardState.range_label, size="2", color=rx.color("gray", 11), role="status", aria_label="Days shown"),
        rx.grid(
            tile("Contacts", DashboardState.total, "users"),
            tile("Identified", DashboardState.identified, "user-check"),
            tile("Anonymous", DashboardState.anonymous, "user-x"),
            tile("New in these days", DashboardState.new_in_range, "user-plus"),
            columns=rx.breakpoints(initial="2", lg="4"),
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
