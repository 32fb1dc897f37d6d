"""A focus item as the builder holds it (a draft of strings), its conversion to what the focus
service takes, and the reads, the save and the statistics, run in a thread."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import plotly.graph_objects as go

from mautic_app.db import session_scope
from mautic_app.domain import focus as rules
from mautic_app.models.base import utcnow
from mautic_app.services import focus

STATS_DAYS = 30
COLOUR_KEYS = tuple(rules.DEFAULT_COLOURS)
FLAG_KEYS = ("stop_after_conversion", "stop_after_close", "animate", "link_activation", "link_new_window", "published")
PROPERTY_FLAGS = FLAG_KEYS[:-1]  # "published" is the item's own column, the others are its properties
GRID = {"rangemode": "tozero", "gridcolor": "rgba(128,128,128,0.2)"}


def _flag(on: Any) -> str:
    return "1" if on else ""


def blank() -> dict[str, str]:
    d = rules.DEFAULTS
    return {
        "name": "", "description": "", "published": "1", "type": "notice", "style": "bar", "form_id": "",
        "placement": "top", "when": d["when"], "timeout": str(d["timeout"]), "frequency": d["frequency"],
        **{key: _flag(d[key]) for key in PROPERTY_FLAGS}, "headline": "", "tagline": "", "button_text": "",
        "link_url": "", "show_on": "", **{f"color_{k}": v for k, v in rules.DEFAULT_COLOURS.items()},
    }


def _draft_of(item: Any) -> dict[str, str]:
    p = rules.with_defaults(item.properties, item.style)
    return blank() | {
        "name": item.name, "description": item.description or "", "published": _flag(item.is_published),
        "type": item.type, "style": item.style, "form_id": str(item.form_id or ""), "placement": p["placement"],
        "when": p["when"], "timeout": str(p["timeout"]), "frequency": p["frequency"], "headline": p["headline"],
        "tagline": p["tagline"], "button_text": p["button_text"], "link_url": p["link_url"], "show_on": "\n".join(p["show_on"]),
        **{key: _flag(p[key]) for key in PROPERTY_FLAGS}, **{f"color_{key}": p["colors"][key] for key in COLOUR_KEYS},
    }


def read(focus_id: int) -> dict[str, str] | None:
    with session_scope() as session:
        try:
            return _draft_of(focus.get_focus(session=session, focus_id=focus_id))
        except focus.FocusError:
            return None


def form_choices() -> list[dict[str, str]]:
    with session_scope() as session:
        return focus.form_choices(session=session)


def values(draft: dict[str, str]) -> dict[str, Any]:
    return {
        "name": draft["name"], "description": draft["description"], "is_published": bool(draft["published"]),
        "type": draft["type"], "style": draft["style"], "form_id": draft["form_id"] or None,
        "properties": {
            "placement": draft["placement"], "when": draft["when"], "timeout": draft["timeout"], "frequency": draft["frequency"],
            **{k: bool(draft[k]) for k in PROPERTY_FLAGS},
            "colors": {k: draft[f"color_{k}"] for k in COLOUR_KEYS},
            "headline": draft["headline"], "tagline": draft["tagline"], "button_text": draft["button_text"],
            "link_url": draft["link_url"], "show_on": draft["show_on"].splitlines(),
        },
    }


def save(focus_id: int | None, values: dict[str, Any], user_id: int | None) -> int:
    with session_scope() as session:
        # Every setting the builder shows is sent; what it does not show (publish dates) stays as it was.
        return focus.save_focus(session=session, focus_id=focus_id, values=values, user_id=user_id).id


def stats(focus_id: int) -> dict[str, Any]:
    """The item's totals, and its views, clicks and conversions per day over the last :data:`STATS_DAYS`."""
    end = utcnow().date()
    with session_scope() as session:
        totals = focus.stat_totals(session=session, focus_ids=[focus_id]).get(focus_id, dict.fromkeys(rules.STAT_TYPES, 0))
        series = focus.stats_per_day(session=session, focus_id=focus_id, start=end - timedelta(days=STATS_DAYS - 1), end=end)
    return {"totals": totals, "series": series}


def figure(series: dict[str, list]) -> go.Figure:
    names = {"view": "Views", "click": "Clicks", "conversion": "Conversions"}
    fig = go.Figure([go.Scatter(x=[d.isoformat() for d, _ in rows], y=[n for _, n in rows], mode="lines+markers", name=names[kind])
                     for kind, rows in series.items()])
    fig.update_layout({"margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "height": 300, "paper_bgcolor": "rgba(0,0,0,0)",
                       "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#888"}, "yaxis": GRID,
                       "legend": {"orientation": "h", "y": -0.2}})
    return fig


def rate(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "0%"
