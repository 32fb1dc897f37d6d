"""Small shared widgets: a styled native select, labelled controls, sortable headers, a pager, form switches.

Native ``<select>`` elements are used for choices: they carry their label to assistive
technology, submit with forms, and need no portal; the style below matches Radix inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML
from reflex_components_core.el.elements.forms import Form

SELECT_STYLE: dict[str, Any] = {
    "height": "var(--space-6)",
    "padding": "0 var(--space-2)",
    "border_radius": "var(--radius-2)",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "font_size": "var(--font-size-2)",
    "font_family": "inherit",
    "min_width": "0",
    "_focus_visible": {"outline": "2px solid var(--focus-8)", "outline_offset": "-1px"},
}

# Every chart: no Plotly tool bar (on a phone it covered the legends; marketers read these charts, not edit them).
PLOT_CONFIG: dict[str, Any] = {"displayModeBar": False, "responsive": True}

VISUALLY_HIDDEN: dict[str, Any] = {
    "position": "absolute", "width": "1px", "height": "1px", "padding": "0", "margin": "-1px", "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)", "white_space": "nowrap", "border": "0",
}


def native_select(*options: rx.Component, width: str = "100%", **props) -> rx.Component:
    """A ``<select>`` styled like a Radix text field. Pass ``rx.el.option`` children (or a foreach)."""
    style = dict(SELECT_STYLE)
    style["width"] = width
    return rx.el.select(*options, style=style, **props)


def option_list(options: rx.Var | list, blank: str | None = None) -> list[rx.Component]:
    """Options from ``[{"value": .., "label": ..}]`` (a Var or a list), with an optional blank first."""
    head = [rx.el.option(blank, value="")] if blank is not None else []
    if isinstance(options, rx.Var):
        return [*head, rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"]))]
    return [*head, *[rx.el.option(o["label"], value=o["value"]) for o in options]]


def labelled(label: str | rx.Var, control: rx.Component, html_for: str | rx.Var, *, required: bool | rx.Var = False,
             error: rx.Var | None = None, hint: str | None = None) -> rx.Component:
    """A label above a control, an optional required marker, and the field's error below it."""
    return rx.vstack(
        rx.el.label(
            label,
            rx.cond(required, rx.el.span(" *", aria_hidden="true", style={"color": "var(--red-11)"})),
            html_for=html_for,
            style={"font_size": "var(--font-size-2)", "font_weight": "500"},
        ),
        control,
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        field_message(error, html_for) if error is not None else rx.fragment(),
        spacing="1",
        width="100%",
        align="stretch",
    )


def field_message(error: rx.Var, control_id: str | rx.Var) -> rx.Component:
    """The error text for a control; its id is ``<control id>-error`` for aria-describedby."""
    return rx.cond(
        error != "",
        rx.text(
            rx.icon("circle-alert", size=14, aria_hidden="true", style={"display": "inline", "vertical_align": "-2px", "margin_right": "4px"}),
            error,
            id=f"{control_id}-error",
            color=rx.color("red", 11),
            size="1",
            role="alert",
        ),
    )


def sort_header(label: str | rx.Var, key: str | rx.Var, current: rx.Var, direction: rx.Var, on_sort, **props: Any) -> rx.Component:
    """A column header whose button sorts by ``key``; ``aria-sort`` says the current order."""
    active = current == key
    return rx.table.column_header_cell(
        rx.el.button(
            label,
            rx.cond(
                active,
                rx.cond(direction == "asc", rx.icon("arrow-up", size=14, aria_hidden="true"), rx.icon("arrow-down", size=14, aria_hidden="true")),
                rx.icon("arrow-up-down", size=14, aria_hidden="true", color=rx.color("gray", 8)),
            ),
            type="button",
            on_click=on_sort(key),
            style={
                "display": "inline-flex", "align_items": "center", "gap": "4px", "background": "none", "border": "none",
                "padding": "0", "font": "inherit", "font_weight": "600", "color": "inherit", "cursor": "pointer",
                "white_space": "nowrap",
            },
        ),
        aria_sort=rx.cond(active, rx.cond(direction == "asc", "ascending", "descending"), "none"),
        white_space="nowrap",
        **props,
    )


def plain_header(label: str | rx.Var) -> rx.Component:
    return rx.table.column_header_cell(rx.text(label, weight="bold", white_space="nowrap"))


def hidden_header(label: str, **props: Any) -> rx.Component:
    """A column header only screen readers read (the row actions', a reorder column's)."""
    return rx.table.column_header_cell(rx.el.span(label, style=VISUALLY_HIDDEN), **props)


def pager(page: rx.Var, pages: rx.Var, known_last: rx.Var, on_prev, on_next, page_size: rx.Var, on_size,
          sizes: tuple[int, ...] = (10, 30, 50, 100, 200)) -> rx.Component:
    """Previous/next buttons, the page position and a page-size choice."""
    return rx.hstack(
        rx.hstack(
            rx.el.label("Rows per page", html_for="page-size", style={"font_size": "var(--font-size-2)", "color": "var(--gray-11)"}),
            native_select(*[rx.el.option(str(n), value=str(n)) for n in sizes], id="page-size", value=page_size,
                          on_change=on_size, width="5rem"),
            align="center",
            spacing="2",
        ),
        rx.spacer(),
        rx.text(
            rx.cond(known_last, f"Page {page} of {pages}", f"Page {page}"),
            size="2",
            color=rx.color("gray", 11),
            aria_live="polite",
        ),
        rx.icon_button(rx.icon("chevron-left", size=16), on_click=on_prev, disabled=page <= 1, variant="soft",
                       aria_label="Previous page"),
        rx.icon_button(rx.icon("chevron-right", size=16), on_click=on_next, disabled=page >= pages, variant="soft",
                       aria_label="Next page"),
        align="center",
        spacing="3",
        width="100%",
        padding_top="0.75rem",
        wrap="wrap",
    )


def confirm_dialog(
    *, open: rx.Var, title: str | rx.Var, description: str | rx.Var, confirm_label: str, on_confirm, on_cancel,
    busy: rx.Var | bool = False,
) -> rx.Component:
    """A controlled alert dialog with Cancel and a red confirm button.

    ``on_cancel`` must accept one optional bool (it doubles as ``on_open_change``).
    """
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray", on_click=on_cancel(False))),
                rx.button(confirm_label, color_scheme="red", on_click=on_confirm, loading=busy),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            max_width="28rem",
        ),
        open=open,
        on_open_change=on_cancel,
    )


def section(title: str | rx.Var, *children: rx.Component, actions: rx.Component | None = None, **props) -> rx.Component:
    """A titled card used on detail pages; a region named by its heading."""
    heading_id = props.pop("heading_id", None)
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(title, size="3", as_="h2", id=heading_id),
                rx.spacer(),
                actions or rx.fragment(),
                align="center",
                width="100%",
            ),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        role="region",
        aria_labelledby=heading_id,
        **props,
    )


class _PostForm(Form):
    """A form the browser itself posts: Reflex's forms always stop the submission to send it over the socket."""

    @classmethod
    def create(cls, *children, **props) -> rx.Component:
        return BaseHTML.create.__func__(cls, *children, **props)


def post_form(*children: rx.Component, action: str, **props) -> rx.Component:
    """A plain HTML form posting to an HTTP route (signing in and out: only a response sets an HttpOnly cookie)."""
    return _PostForm.create(*children, action=action, method="post", **props)


def form_flag(form: Mapping[str, Any], name: str) -> bool:
    """Whether a submitted switch or checkbox is on."""
    return str(form.get(name, "")).lower() in {"1", "on", "true"}


def error_aria(error: rx.Var, control_id: str) -> dict[str, Any]:
    """A control's ARIA props: invalid while ``error`` is set, described by the message ``labelled`` shows."""
    return {"aria_invalid": error != "", "aria_describedby": rx.cond(error != "", f"{control_id}-error", "")}


def switch_field(id_prefix: str, name: str, label: str, checked: rx.Var) -> rx.Component:
    """A switch submitted as ``name`` ("1" when on), with a clickable label; its id is ``<id_prefix>-<name>``."""
    control_id = f"{id_prefix}-{name}"
    return rx.hstack(
        rx.switch(id=control_id, name=name, value="1", default_checked=checked),
        rx.el.label(label, html_for=control_id, style={"font_size": "var(--font-size-2)", "cursor": "pointer"}),
        align="center",
        spacing="2",
    )


def when_input(value: Any) -> str:
    """A stored UTC datetime as a :data:`WHEN_TEXT` input shows it."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


# A date and time typed in one box: one Tab stop, where Chromium's ``datetime-local`` takes one per part (day,
# month, year, hours, minutes, AM/PM, picker). Every server parser takes a space or a "T" between the two.
WHEN_TEXT: dict[str, Any] = {
    "placeholder": "YYYY-MM-DD HH:MM", "auto_complete": "off", "spell_check": False,
    "pattern": r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?",
    "title": "A date and time such as 2026-12-31 09:00 (the time may be left out)",
}


def code_to_copy(label: str, code: rx.Var | str, hint: str | rx.Component = "") -> rx.Component:
    """Code for a marketer's site: shown in full, selectable, with a "Copy <label>" button beside its name.

    The copy happens in the browser (no round trip), so it works however slow the server is.
    """
    return rx.vstack(
        rx.hstack(
            rx.text(label, size="2", weight="bold"),
            rx.spacer(),
            rx.button(rx.icon("copy", size=14), "Copy", size="1", variant="soft", aria_label=f"Copy {label.lower()}",
                      on_click=[rx.set_clipboard(code), rx.toast.info(f"{label} copied.")]),
            align="center", width="100%",
        ),
        rx.text(hint, size="1", color=rx.color("gray", 11)) if isinstance(hint, str) and hint else hint or rx.fragment(),
        rx.el.pre(
            rx.el.code(code),
            aria_label=label,
            style={"background": rx.color("gray", 3), "color": rx.color("gray", 12), "padding": "0.6rem 0.75rem",
                   "border_radius": "var(--radius-3)", "white_space": "pre-wrap", "word_break": "break-all",
                   "font_size": "0.8rem", "width": "100%", "max_height": "12rem", "overflow_y": "auto", "margin": "0"},
        ),
        spacing="1", width="100%",
    )


def tag_input(known: rx.Var, **props: Any) -> rx.Component:
    """A comma-separated tags box that suggests ``known`` tags as one types, after the tags already typed."""
    return rx.input(custom_attrs=suggestions(known, ","), auto_complete="off", **props)


def suggestions(known: rx.Var, separator: str) -> dict[str, Any]:
    """The attributes with which ``assets/shell.js`` fills a box's suggestion list from ``known`` values, for the
    value being typed after the last ``separator``."""
    return {"data-suggest": known.to_string(), "data-separator": separator}
