"""A saved item's panels: the code to embed it, and its statistics (totals, rates, a chart per day)."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import PLOT_CONFIG, code_to_copy
from mautic_app.ui.pages.focus_edit.data import STATS_DAYS
from mautic_app.ui.pages.focus_edit.state import FocusEditState


def _region(title: str, heading_id: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading(title, size="3", as_="h2", id=heading_id), *children, spacing="2", width="100%"),
        role="region", aria_labelledby=heading_id, width="100%",
    )


def _tile(label: str, value: rx.Var) -> rx.Component:
    return rx.card(rx.vstack(rx.text(label, size="1", color=rx.color("gray", 11), white_space="nowrap"),
                             rx.heading(value, size="5"), spacing="0"),
                   role="group", aria_label=label, width="100%", min_width="0")


def stats_panel() -> rx.Component:
    S = FocusEditState
    return _region(
        "Statistics", "focus-stats-heading",
        rx.grid(_tile("Views", S.views), _tile("Clicks", S.clicks), _tile("Conversions", S.conversions),
                _tile("Click rate", S.click_rate), _tile("Conversion rate", S.conversion_rate),
                columns="3", spacing="2", width="100%"),
        rx.text(f"Per day, last {STATS_DAYS} days", size="1", color=rx.color("gray", 10)),
        rx.plotly(data=S.figure, width="100%", height="300px", config=PLOT_CONFIG),
    )


def embed_panel() -> rx.Component:
    return _region(
        "Embed on a site", "focus-embed-heading",
        rx.text("Paste this where the item should show, or list the pages in “Show on pages” for the tracking script "
                "to load it.", size="2"),
        code_to_copy("Embed code", FocusEditState.embed_code),
    )
