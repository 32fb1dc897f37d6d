"""``/campaigns/<id>/stats``: how a campaign is doing over time: events run and failed and contacts joining per
day, and each event's totals, as Plotly charts that follow the campaign live."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.models import Campaign
from mautic_app.services import campaigns
from mautic_app.ui import live
from mautic_app.ui.components.widgets import PLOT_CONFIG
from mautic_app.ui.layout import RecordPage, missing_record, page_header, template

DAYS = 30
COLOURS = {"done": "#3b82f6", "scheduled": "#94a3b8", "failed": "#dc2626", "yes": "#16a34a", "no": "#f59e0b", "joined": "#7c3aed"}
LAYOUT = {"margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
          "font": {"color": "#888"}, "legend": {"orientation": "h", "y": -0.2}}


def _read(campaign_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        c = session.get(Campaign, campaign_id)
        if c is None:
            return None
        by_day = campaigns.activity_by_day(session=session, campaign_id=campaign_id, days=DAYS)
        counts = campaigns.node_counts(session=session, campaign_id=campaign_id)
        events = [(str(e.id), e.name) for e in campaigns.events_of(session=session, campaign_id=campaign_id)]
        return {"name": c.name, "by_day": by_day, "counts": counts, "events": events}


def _daily(by_day: dict[str, list]) -> go.Figure:
    fig = go.Figure([go.Bar(x=by_day["days"], y=by_day["done"], name="Events run", marker_color=COLOURS["done"]),
                     go.Bar(x=by_day["days"], y=by_day["failed"], name="Failed", marker_color=COLOURS["failed"]),
                     go.Scatter(x=by_day["days"], y=by_day["joined"], name="Contacts joined", mode="lines+markers",
                                line_color=COLOURS["joined"])])
    fig.update_layout(LAYOUT | {"height": 320, "barmode": "stack", "yaxis": {"gridcolor": "rgba(128,128,128,0.2)", "rangemode": "nonnegative",
                                                                            "range": [0, max([1, *by_day["done"], *by_day["joined"]]) * 1.1]},
                                "xaxis": {"type": "date", "range": [f"{by_day['days'][0]} 00:00", f"{by_day['days'][-1]} 23:59"]}})
    return fig


def _per_event(events: list[tuple[str, str]], counts: dict[str, dict[str, int]]) -> go.Figure:
    names = [n for _, n in events]
    series = (("done", "Done"), ("scheduled", "Scheduled"), ("failed", "Failed"), ("yes", "Yes path"), ("no", "No path"))
    fig = go.Figure([go.Bar(y=names, x=[counts.get(i, {}).get(k, 0) for i, _ in events], name=label, orientation="h", marker_color=COLOURS[k])
                     for k, label in series])
    fig.update_layout(LAYOUT | {"height": max(240, 40 * len(events) + 80), "barmode": "group",
                                "xaxis": {"gridcolor": "rgba(128,128,128,0.2)", "rangemode": "nonnegative"}, "yaxis": {"autorange": "reversed"}})
    return fig


class CampaignStatsState(RecordPage, rx.State):
    campaign_id: int = 0
    name: str = ""
    members: int = 0
    done: int = 0
    failed: int = 0
    daily: go.Figure = go.Figure()
    per_event: go.Figure = go.Figure()
    _following: bool = False

    @rx.event
    async def load(self):
        self.campaign_id = routes.id_in_path(self.router.url.path, routes.CAMPAIGN_STATS) or 0
        self.missing = False
        if not await self._refresh():
            self.missing = True
        self._loaded_here()
        return CampaignStatsState.follow_changes

    async def _refresh(self) -> bool:
        cid = self.campaign_id
        found = await rx.run_in_thread(lambda: _read(cid)) if cid else None
        if found is None:
            return False
        counts = found["counts"]
        self.name = found["name"]
        self.members = counts.get("members", {}).get("now", 0)
        self.done = sum(c.get("done", 0) for k, c in counts.items() if k != "members")
        self.failed = sum(c.get("failed", 0) for k, c in counts.items() if k != "members")
        self.daily = _daily(found["by_day"])
        self.per_event = _per_event(found["events"], counts)
        return True

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._refresh()

        async with self:
            topic = f"campaign:{self.campaign_id}"
        await live.follow(self, [topic], refresh)


def _figure(label: str, value: rx.Var) -> rx.Component:
    return rx.card(rx.vstack(rx.text(label, size="2", color=rx.color("gray", 10)), rx.heading(value, size="6"), spacing="1"), flex="1")


@template(route=routes.CAMPAIGN_STATS, title="Campaign statistics", on_load=CampaignStatsState.load)
def campaign_stats_page() -> rx.Component:
    S = CampaignStatsState
    return rx.cond(
        S.missing,
        missing_record("This campaign does not exist (it may have been deleted).", "All campaigns", routes.CAMPAIGNS),
        rx.vstack(
            page_header(S.name + " — statistics", rx.link("Open the builder", href=routes.campaign(S.campaign_id.to(str)), size="2"),
                        rx.link("All campaigns", href=routes.CAMPAIGNS, size="2")),
            rx.hstack(_figure("Contacts in the campaign", S.members), _figure("Events run", S.done), _figure("Failed", S.failed),
                      width="100%", spacing="3", wrap="wrap"),
            rx.card(rx.vstack(rx.heading(f"Per day, last {DAYS} days", size="3", as_="h2"),
                              rx.plotly(data=S.daily, width="100%", height="320px", config=PLOT_CONFIG), width="100%"), width="100%"),
            rx.card(rx.vstack(rx.heading("Per event", size="3", as_="h2"), rx.plotly(data=S.per_event, width="100%", config=PLOT_CONFIG), width="100%"),
                    width="100%"),
            spacing="3", width="100%",
        ),
    )
