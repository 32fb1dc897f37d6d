"""The builder's settings, grouped: what the item is, its content, colours, and when and how often it shows."""

from __future__ import annotations

import reflex as rx

from mautic_app.domain import focus as rules
from mautic_app.ui.components.widgets import labelled, native_select
from mautic_app.ui.pages.focus_edit.data import COLOUR_KEYS
from mautic_app.ui.pages.focus_edit.state import ERROR_KEYS, FocusEditState


def _control_id(key: str) -> str:
    return f"focus-{key.replace('_', '-')}"


def _error(key: str) -> rx.Var | None:
    return FocusEditState.errors[key] if key in ERROR_KEYS else None


def _select(label: str, key: str, options: dict[str, str] | rx.Var, *, blank: str | None = None, **props) -> rx.Component:
    S = FocusEditState
    if isinstance(options, rx.Var):
        children = [rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"]))]
        if blank is not None:
            children.insert(0, rx.el.option(blank, value=""))
    else:
        children = [rx.el.option(text, value=value) for value, text in options.items()]
    return labelled(label, native_select(*children, id=_control_id(key), value=S.draft[key],
                                         on_change=lambda v: S.set_value(key, v), **props),
                    _control_id(key), error=_error(key))


def _text(label: str, key: str, *, area: bool = False, hint: str | None = None, **props) -> rx.Component:
    S = FocusEditState
    error = _error(key)
    aria = {"aria_invalid": error != ""} if error is not None else {}
    make = rx.text_area if area else rx.input
    props.setdefault("width", "100%")
    control = make(id=_control_id(key), value=S.draft[key], on_change=lambda v: S.set_value(key, v), **aria, **props)
    return labelled(label, control, _control_id(key), error=error, hint=hint, required=key == "name")


def _check(label: str, key: str) -> rx.Component:
    S = FocusEditState
    return rx.el.label(rx.hstack(rx.checkbox(checked=S.draft[key] == "1", on_change=lambda on: S.set_flag(key, on)),
                                 rx.text(label, size="2"), align="center", spacing="2"))


def _colour(key: str) -> rx.Component:
    S = FocusEditState
    control_id = _control_id(f"color_{key}")
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


def builder() -> rx.Component:
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
            rx.cond(d["type"] != "form", _text("Button text", "button_text")),
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
