"""One focus item: the builder with a live preview, the code to embed it, and its statistics, live.

``/focus/new`` creates one. Every setting (type, style and placement, trigger, frequency, stop
rules, colours, texts, the link or the form, the pages the tracking script loads it on) changes
the preview as it is typed; the statistics chart views, clicks and conversions per day (Plotly)
and follow new stats as visitors arrive.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain import focus as rules
from mautic_app.models.base import utcnow
from mautic_app.services import focus
from mautic_app.ui import live
from mautic_app.ui.components.widgets import labelled, native_select
from mautic_app.ui.layout import RecordPage, page_header, template
from mautic_app.ui.session import SessionState

STATS_DAYS = 30
COLOUR_KEYS = tuple(rules.DEFAULT_COLOURS)
FLAG_KEYS = ("stop_after_conversion", "stop_after_close", "animate", "link_activation", "link_new_window", "published")
ERROR_KEYS = ("name", "type", "style", "form_id", "placement", "when", "timeout", "frequency", "headline", "tagline",
              "button_text", "link_url", "show_on", *(f"color_{k}" for k in COLOUR_KEYS))
GRID = {"rangemode": "tozero", "gridcolor": "rgba(128,128,128,0.2)"}


def _focus_id(path: str) -> int | None:
    parts = [p for p in (path or "").split("/") if p]
    if len(parts) >= 2 and parts[0] == "focus" and parts[1].isdigit() and len(parts[1]) <= 10:
        return int(parts[1])
    return None


def _blank() -> dict[str, str]:
    d = rules.DEFAULTS
    return {
        "name": "", "description": "", "published": "1", "type": "notice", "style": "bar", "form_id": "",
        "placement": "top", "when": d["when"], "timeout": str(d["timeout"]), "frequency": d["frequency"],
        "stop_after_conversion": "1" if d["stop_after_conversion"] else "", "stop_after_close": "1" if d["stop_after_close"] else "",
        "animate": "1" if d["animate"] else "", "link_activation": "1" if d["link_activation"] else "",
        "link_new_window": "1" if d["link_new_window"] else "", "headline": "", "tagline": "", "button_text": "",
        "link_url": "", "show_on": "", **{f"color_{k}": v for k, v in rules.DEFAULT_COLOURS.items()},
    }


def _draft_of(item) -> dict[str, str]:
    p = rules.with_defaults(item.properties, item.style)
    out = _blank() | {
        "name": item.name, "description": item.description or "", "published": "1" if item.is_published else "",
        "type": item.type, "style": item.style, "form_id": str(item.form_id or ""), "placement": p["placement"],
        "when": p["when"], "timeout": str(p["timeout"]), "frequency": p["frequency"], "headline": p["headline"],
        "tagline": p["tagline"], "button_text": p["button_text"], "link_url": p["link_url"], "show_on": "\n".join(p["show_on"]),
    }
    for key in FLAG_KEYS[:-1]:
        out[key] = "1" if p[key] else ""
    for key in COLOUR_KEYS:
        out[f"color_{key}"] = p["colors"][key]
    return out


def _read(focus_id: int) -> dict[str, str] | None:
    with session_scope() as session:
        try:
            return _draft_of(focus.get_focus(session=session, focus_id=focus_id))
        except focus.FocusError:
            return None


def _forms() -> list[dict[str, str]]:
    with session_scope() as session:
        return focus.form_choices(session=session)


def _values(draft: dict[str, str]) -> dict[str, Any]:
    return {
        "name": draft["name"], "description": draft["description"], "is_published": bool(draft["published"]),
        "type": draft["type"], "style": draft["style"], "form_id": draft["form_id"] or None,
        "properties": {
            "placement": draft["placement"], "when": draft["when"], "timeout": draft["timeout"], "frequency": draft["frequency"],
            **{k: bool(draft[k]) for k in FLAG_KEYS[:-1]},
            "colors": {k: draft[f"color_{k}"] for k in COLOUR_KEYS},
            "headline": draft["headline"], "tagline": draft["tagline"], "button_text": draft["button_text"],
            "link_url": draft["link_url"], "show_on": draft["show_on"].splitlines(),
        },
    }


def _save(focus_id: int | None, values: dict[str, Any], user_id: int | None) -> int:
    with session_scope() as session:
        # Every setting the builder shows is sent; what it does not show (publish dates) stays as it was.
        return focus.save_focus(session=session, focus_id=focus_id, values=values, user_id=user_id).id


def _stats(focus_id: int) -> dict[str, Any]:
    end = utcnow().date()
    with session_scope() as session:
        totals = focus.stat_totals(session=session, focus_ids=[focus_id]).get(focus_id, dict.fromkeys(rules.STAT_TYPES, 0))
        series = focus.stats_per_day(session=session, focus_id=focus_id, start=end - timedelta(days=STATS_DAYS - 1), end=end)
    return {"totals": totals, "series": series}


def _figure(series: dict[str, list]) -> go.Figure:
    names = {"view": "Views", "click": "Clicks", "conversion": "Conversions"}
    fig = go.Figure([go.Scatter(x=[d.isoformat() for d, _ in rows], y=[n for _, n in rows], mode="lines+markers", name=names[kind])
                     for kind, rows in series.items()])
    fig.update_layout({"margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "height": 300, "paper_bgcolor": "rgba(0,0,0,0)",
                       "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#888"}, "yaxis": GRID,
                       "legend": {"orientation": "h", "y": -0.2}})
    return fig


def _rate(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "0%"


class FocusEditState(RecordPage, rx.State):
    focus_id: int = 0
    loaded: bool = False
    missing: bool = False
    draft: dict[str, str] = _blank()
    errors: dict[str, str] = dict.fromkeys(ERROR_KEYS, "")
    forms: list[dict[str, str]] = []
    saving: bool = False
    origin: str = ""
    views: int = 0
    clicks: int = 0
    conversions: int = 0
    figure: go.Figure = go.Figure()
    _following: bool = False

    @rx.var
    def title(self) -> str:
        return (self.draft.get("name") or "Focus item") if self.focus_id else "New focus item"

    @rx.var
    def placements(self) -> list[dict[str, str]]:
        return [{"value": k, "label": v} for k, v in rules.PLACEMENTS.get(self.draft.get("style", "bar"), {}).items()]

    @rx.var
    def embed_code(self) -> str:
        return f'<script src="{self.origin}/focus/{self.focus_id}.js" async></script>' if self.focus_id else ""

    @rx.var
    def click_rate(self) -> str:
        return _rate(self.clicks, self.views)

    @rx.var
    def conversion_rate(self) -> str:
        return _rate(self.conversions, self.views)

    @rx.var
    def preview(self) -> dict[str, str]:
        """Where the preview draws the item (CSS values), from the style and placement."""
        style, place = self.draft.get("style", "bar"), self.draft.get("placement", "top")
        out = {"top": "auto", "bottom": "auto", "left": "auto", "right": "auto", "width": "auto", "height": "auto",
               "overlay": "transparent", "align": "center", "justify": "center", "box_width": "100%", "radius": "0",
               "box_height": "auto", "text_align": "center"}
        if style == "bar":
            out |= {"left": "0", "right": "0", "top": "0" if place == "top" else "auto", "bottom": "0" if place == "bottom" else "auto"}
        elif style == "modal":
            out |= {"top": "0", "bottom": "0", "left": "0", "right": "0", "overlay": "rgba(0,0,0,0.5)", "box_width": "60%",
                    "radius": "8px", "align": {"top": "flex-start", "bottom": "flex-end"}.get(place, "center")}
        elif style == "notification":
            out |= {"width": "40%", "radius": "8px", "box_width": "100%", "text_align": "left"}
            out["top" if place.startswith("top") else "bottom"] = "12px"
            out["left" if place.endswith("left") else "right"] = "12px"
        else:  # page
            out |= {"top": "0", "bottom": "0", "left": "0", "right": "0", "box_height": "100%"}
        return out

    # ------------------------------------------------------------ loading

    @rx.event
    async def load(self):
        focus_id = _focus_id(self.router.url.path) or 0
        self.origin = self.router.url.origin
        self.forms = await rx.run_in_thread(_forms)
        self.focus_id, self.missing, self.errors = focus_id, False, dict.fromkeys(ERROR_KEYS, "")
        self.views = self.clicks = self.conversions = 0
        if focus_id:
            draft = await rx.run_in_thread(lambda: _read(focus_id))
            if draft is None:
                self.missing, self.loaded = True, True
                self._loaded_here()
                return
            self.draft = draft
            await self._load_stats()
        else:
            self.draft = _blank()
        self.loaded = True
        self._loaded_here()
        return FocusEditState.follow_changes

    async def _load_stats(self) -> None:
        fid = self.focus_id
        if not fid:
            return
        data = await rx.run_in_thread(lambda: _stats(fid))
        totals = data["totals"]
        self.views, self.clicks, self.conversions = totals["view"], totals["click"], totals["conversion"]
        self.figure = _figure(data["series"])

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            if self.focus_id and any(self.focus_id in p.get("ids", []) for p in batch):
                await self._load_stats()

        await live.follow(self, ["focus"], refresh)

    # ------------------------------------------------------------ the builder

    @rx.event
    def set_value(self, key: str, value: str):
        if key in self.draft:
            self.draft = self.draft | {key: str(value)[:2000]}
            if key == "style":
                choices = rules.PLACEMENTS.get(str(value), {})
                if self.draft["placement"] not in choices:
                    self.draft = self.draft | {"placement": next(iter(choices), "")}

    @rx.event
    def set_flag(self, key: str, on: bool):
        if key in FLAG_KEYS:
            self.draft = self.draft | {key: "1" if on else ""}

    @rx.event
    async def save(self):
        if self.saving:
            return
        self.saving = True
        yield
        values, fid = _values(self.draft), self.focus_id or None
        user_id = (await self.get_state(SessionState)).user_id
        try:
            new_id = await rx.run_in_thread(lambda: _save(fid, values, user_id))
        except rules.FocusError as exc:
            self.saving = False
            self.errors = dict.fromkeys(ERROR_KEYS, "") | {k: v for k, v in exc.errors.items() if k in ERROR_KEYS}
            if exc.status == 404:
                self.missing = True
            yield rx.toast.error("The focus item was not saved: fix the highlighted fields.")
            return
        self.saving, self.errors = False, dict.fromkeys(ERROR_KEYS, "")
        yield rx.toast.success(f"Focus item “{self.draft['name']}” saved.")
        if not fid:
            yield rx.redirect(f"/focus/{new_id}")


# ---------------------------------------------------------------- view


def _select(label: str, key: str, options: dict[str, str] | rx.Var, *, blank: str | None = None, **props) -> rx.Component:
    S = FocusEditState
    control_id = f"focus-{key.replace('_', '-')}"
    if isinstance(options, rx.Var):
        children = [rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"]))]
        if blank is not None:
            children.insert(0, rx.el.option(blank, value=""))
    else:
        children = [rx.el.option(text, value=value) for value, text in options.items()]
    return labelled(label, native_select(*children, id=control_id, value=S.draft[key],
                                         on_change=lambda v: S.set_value(key, v), **props),
                    control_id, error=S.errors[key] if key in ERROR_KEYS else None)


def _text(label: str, key: str, *, area: bool = False, hint: str | None = None, **props) -> rx.Component:
    S = FocusEditState
    control_id = f"focus-{key.replace('_', '-')}"
    error = S.errors[key] if key in ERROR_KEYS else None
    aria = {"aria_invalid": error != ""} if error is not None else {}
    make = rx.text_area if area else rx.input
    props.setdefault("width", "100%")
    control = make(id=control_id, value=S.draft[key], on_change=lambda v: S.set_value(key, v), **aria, **props)
    return labelled(label, control, control_id, error=error, hint=hint, required=key == "name")


def _check(label: str, key: str) -> rx.Component:
    S = FocusEditState
    return rx.el.label(rx.hstack(rx.checkbox(checked=S.draft[key] == "1", on_change=lambda on: S.set_flag(key, on)),
                                 rx.text(label, size="2"), align="center", spacing="2"))


def _colour(key: str) -> rx.Component:
    S = FocusEditState
    control_id = f"focus-color-{key.replace('_', '-')}"
    return labelled(f"{rules.COLOUR_NAMES[key]} colour", rx.el.input(
        id=control_id, type="color", value=S.draft[f"color_{key}"], on_change=lambda v: S.set_value(f"color_{key}", v),
        style={"width": "3.5rem", "height": "2rem", "padding": "0", "border": "1px solid var(--gray-a7)", "border_radius": "4px"},
    ), control_id, error=S.errors[f"color_{key}"])


def _group(title: str, *children: rx.Component) -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend(title, style={"font_weight": "600", "padding": "0 0.3rem"}),
        rx.vstack(*children, spacing="3", width="100%"),
        style={"border": "1px solid var(--gray-a5)", "border_radius": "var(--radius-3)", "padding": "0.75rem", "width": "100%"},
    )


def _builder() -> rx.Component:
    S = FocusEditState
    d = S.draft
    return rx.vstack(
        _text("Name", "name"),
        _text("Description", "description", area=True, rows="2"),
        _check("Published", "published"),
        _group(
            "What it is",
            rx.flex(_select("Type", "type", rules.TYPES), _select("Style", "style", rules.STYLES),
                    _select("Placement", "placement", S.placements), gap="3", width="100%"),
            rx.cond(d["type"] == "form", _select("Form", "form_id", S.forms, blank="Choose a form", width="100%")),
        ),
        _group(
            "Content",
            _text("Headline", "headline"),
            _text("Tagline", "tagline", area=True, rows="2"),
            rx.cond(d["type"] != "form", _text("Button text", "button_text",
                                               hint=None)),
            rx.cond(d["type"] == "link", rx.vstack(
                _text("Link URL", "link_url", placeholder="https://example.com/offer", type="url"),
                _check("Open the link in a new window", "link_new_window"),
                _check("Open the link when the item itself is clicked", "link_activation"),
                spacing="2", width="100%")),
        ),
        _group("Colours", rx.grid(*[_colour(k) for k in COLOUR_KEYS], columns=rx.breakpoints(initial="2", sm="4"), spacing="3",
                                  width="100%")),
        _group(
            "When and how often",
            rx.flex(_select("Show", "when", rules.WHEN), _select("How often", "frequency", {k: v[0] for k, v in rules.FREQUENCY.items()}),
                    gap="3", width="100%"),
            rx.cond(d["when"] == "timeout", _text("Seconds before showing", "timeout", type="number", min="0",
                                                  max=str(rules.MAX_TIMEOUT), width="8rem")),
            _check("Stop showing after the visitor converts", "stop_after_conversion"),
            _check("Stop showing after the visitor closes it", "stop_after_close"),
            _check("Animate", "animate"),
            _text("Show on pages", "show_on", area=True, rows="3",
                  hint="One page address a line; * stands for anything (https://example.com/pricing*). "
                       "The tracking script loads the item on matching pages; leave empty to embed it yourself."),
        ),
        rx.hstack(rx.button("Save focus item", on_click=S.save, loading=S.saving), justify="end", width="100%"),
        spacing="3", flex="3", min_width="22rem",
    )


def _preview_panel() -> rx.Component:
    S = FocusEditState
    d, p = S.draft, S.preview
    button = rx.cond(
        (d["type"] != "form") & (d["button_text"] != ""),
        rx.el.span(d["button_text"], style={"display": "inline-block", "margin_top": "8px", "padding": "6px 14px",
                                            "border_radius": "4px", "font_weight": "700", "background": d["color_button"],
                                            "color": d["color_button_text"]}),
        rx.cond(d["type"] == "link", rx.el.span("Learn more", style={
            "display": "inline-block", "margin_top": "8px", "padding": "6px 14px", "border_radius": "4px", "font_weight": "700",
            "background": d["color_button"], "color": d["color_button_text"]})),
    )
    form = rx.cond(d["type"] == "form", rx.box(
        rx.cond(d["form_id"] != "",
                rx.foreach(S.forms, lambda f: rx.cond(f["value"] == d["form_id"], rx.text("Form: " + f["label"].to(str), size="2"))),
                rx.text("Choose a form", size="2")),
        background="white", color="#222", padding="8px", border_radius="4px", margin_top="8px"))
    item = rx.box(
        rx.box(
            rx.el.span("×", aria_hidden="true", style={"position": "absolute", "top": "4px", "right": "10px", "font_size": "20px"}),
            rx.cond(d["headline"] != "", rx.text(d["headline"], weight="bold", size="3")),
            rx.cond(d["tagline"] != "", rx.text(d["tagline"], size="2")),
            button, form,
            position="relative", background=d["color_primary"], color=d["color_text"], padding="12px 34px 12px 14px",
            width=p["box_width"], height=p["box_height"], border_radius=p["radius"], text_align=p["text_align"],
            box_shadow="0 2px 10px rgba(0,0,0,0.3)", display="flex", flex_direction="column", justify_content="center",
            align_items=rx.cond(p["text_align"] == "center", "center", "flex-start"),
        ),
        position="absolute", top=p["top"], bottom=p["bottom"], left=p["left"], right=p["right"], width=p["width"],
        background=p["overlay"], display="flex", align_items=p["align"], justify_content=p["justify"],
        padding=rx.cond(d["style"] == "modal", "16px", "0"),
    )
    page_lines = rx.vstack(*[rx.box(height="10px", width=w, background="var(--gray-a4)", border_radius="4px")
                             for w in ("60%", "90%", "80%", "85%", "40%", "90%", "70%")], spacing="3", padding="1.5rem")
    return rx.card(
        rx.vstack(
            rx.heading("Preview", size="3", as_="h2", id="focus-preview-heading"),
            rx.box(page_lines, item, position="relative", height="320px", overflow="hidden", width="100%",
                   border="1px solid var(--gray-a5)", border_radius="var(--radius-2)", background="var(--gray-2)",
                   role="img", aria_label="How the item looks on a page: " + d["headline"].to(str) + " " + d["tagline"].to(str)),
            rx.text(rx.cond(d["type"] == "form", "The form shows inside the item on your site.",
                            "Visitors can close it with its × button or the Escape key."), size="1", color=rx.color("gray", 10)),
            spacing="2", width="100%",
        ),
        role="region", aria_labelledby="focus-preview-heading", width="100%",
    )


def _tile(label: str, value: rx.Var) -> rx.Component:
    return rx.card(rx.vstack(rx.text(label, size="1", color=rx.color("gray", 11), white_space="nowrap"),
                             rx.heading(value, size="5"), spacing="0"),
                   role="group", aria_label=label, width="100%", min_width="0")


def _stats_panel() -> rx.Component:
    S = FocusEditState
    return rx.card(
        rx.vstack(
            rx.heading("Statistics", size="3", as_="h2", id="focus-stats-heading"),
            rx.grid(_tile("Views", S.views), _tile("Clicks", S.clicks), _tile("Conversions", S.conversions),
                    _tile("Click rate", S.click_rate), _tile("Conversion rate", S.conversion_rate),
                    columns="3", spacing="2", width="100%"),
            rx.text(f"Per day, last {STATS_DAYS} days", size="1", color=rx.color("gray", 10)),
            rx.plotly(data=S.figure, width="100%", height="300px"),
            spacing="2", width="100%",
        ),
        role="region", aria_labelledby="focus-stats-heading", width="100%",
    )


def _embed_panel() -> rx.Component:
    S = FocusEditState
    return rx.card(
        rx.vstack(
            rx.heading("Embed on a site", size="3", as_="h2", id="focus-embed-heading"),
            rx.text("Paste this where the item should show, or list the pages in “Show on pages” for the tracking script "
                    "to load it.", size="2"),
            rx.text_area(value=S.embed_code, read_only=True, aria_label="Embed code", rows="2", width="100%",
                         font_family="monospace"),
            spacing="2", width="100%",
        ),
        role="region", aria_labelledby="focus-embed-heading", width="100%",
    )


@template(route="/focus/[focus_id]", title="Focus item", on_load=FocusEditState.load)
def focus_page() -> rx.Component:
    S = FocusEditState
    return rx.cond(
        S.missing,
        rx.callout("This focus item does not exist (it may have been deleted).", color_scheme="red", role="alert"),
        rx.cond(
            S.loaded,
            rx.vstack(
                page_header(S.title, rx.link("All focus items", href="/focus", size="2")),
                rx.flex(
                    _builder(),
                    rx.vstack(_preview_panel(), rx.cond(S.focus_id > 0, rx.vstack(_embed_panel(), _stats_panel(), spacing="3", width="100%")),
                              flex="2", min_width="20rem", spacing="3", position="sticky", top="4.5rem"),
                    gap="5", wrap="wrap", width="100%", align="start",
                ),
                spacing="3", width="100%",
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
    )
