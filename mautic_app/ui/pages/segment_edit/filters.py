"""The filter builder's rows: glue, a field picked by category (with a search), the operators of the
field's type with their help, and a value input that suits the type."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, native_select, suggestions
from mautic_app.ui.pages.segment_edit.state import SegmentEditState

MAX_CHECKBOXES = 30  # more options than this: type the values, separated by |
DATES_LIST = "relative-dates"  # the id of the page's datalist of relative dates


def _field_picker(row: rx.Var, index: rx.Var) -> rx.Component:
    S = SegmentEditState
    find = row["find"].to(str).lower()

    def option(f: rx.Var) -> rx.Component:
        label = f["label"].to(str)
        return rx.cond((find == "") | label.lower().contains(find) | (f["key"] == row["field"]),
                       rx.el.option(f["label"], value=f["key"]))

    return rx.hstack(
        rx.input(placeholder="Find a field", value=row["find"], on_change=lambda v: S.set_find(index, v), width="9rem",
                 flex_shrink="0", aria_label="Find a field for filter " + (index + 1).to_string()),
        native_select(
            rx.el.option("Choose a field", value="", disabled=True),
            rx.foreach(S.groups, lambda g: rx.el.optgroup(rx.foreach(g["fields"].to(list[dict[str, str]]), option),
                                                            label=g["category"])),
            value=row["field"], on_change=lambda v: S.set_field(index, v), width="100%",
            aria_label="Field of filter " + (index + 1).to_string(),
        ),
        spacing="2", align="center", width="100%",
    )


def _date_input(value: rx.Var, on_change, label: rx.Var) -> rx.Component:
    return rx.debounce_input(rx.input(value=value, on_change=on_change, aria_label=label, width="9rem", list=DATES_LIST),
                             debounce_timeout=350)


def _choose(*options: rx.Component, row: rx.Var, index: rx.Var, name: rx.Var, width: str) -> rx.Component:
    return native_select(rx.el.option("Choose", value=""), *options, value=row["value"],
                         on_change=lambda v: SegmentEditState.set_value(index, v), aria_label=name, width=width)


def _checkboxes(options: rx.Var, chosen: rx.Var, index: rx.Var, name: rx.Var) -> rx.Component:
    S = SegmentEditState
    return rx.el.fieldset(
        rx.el.legend(name, style=VISUALLY_HIDDEN),
        rx.flex(
            rx.foreach(options, lambda o: rx.el.label(
                rx.hstack(
                    rx.checkbox(checked=chosen.contains("|" + o["value"].to(str) + "|"),
                                on_change=lambda on: S.toggle_option(index, o["value"], on)),
                    rx.text(o["label"], size="2"), spacing="1", align="center"))),
            wrap="wrap", gap="2", max_width="28rem",
        ),
        style={"border": "none", "padding": "0", "margin": "0"},
    )


def _value_input(row: rx.Var, index: rx.Var) -> rx.Component:
    S = SegmentEditState
    op, kind = row["operator"].to(str), row["type"].to(str)
    options = S.field_options[row["field"].to(str)].to(list[dict[str, str]])
    has_options = S.field_options.contains(row["field"])
    name = "Value of filter " + (index + 1).to_string()
    chosen = ("|" + row["value"].to(str) + "|")
    is_date = (kind == "date") | (kind == "datetime")
    text_input = rx.debounce_input(
        rx.input(value=row["value"], on_change=lambda v: S.set_value(index, v), aria_label=name, width="100%",
                 list=rx.cond(is_date, DATES_LIST, ""), auto_complete="off",
                 # a long list (countries, time zones...) is typed, | between values, with its values suggested
                 custom_attrs=suggestions(rx.cond(has_options, S.field_values[row["field"].to(str)], rx.Var.create([])), "|"),
                 placeholder=rx.cond(op.contains("in"), "Values separated by |",
                                     rx.cond(is_date, "today, -7 days, 2026-01-31…", "Value"))),
        debounce_timeout=350,
    )
    return rx.cond(
        (op == "empty") | (op == "!empty"),
        rx.fragment(),
        rx.cond(
            (op == "between") | (op == "!between"),
            rx.hstack(
                _date_input(row["value"], lambda v: S.set_value(index, v), name + " from"),
                rx.text("and", size="2"),
                _date_input(row["value2"], lambda v: S.set_value2(index, v), name + " to"),
                align="center", spacing="2",
            ),
            rx.cond(
                kind == "boolean",
                _choose(rx.el.option("Yes", value="1"), rx.el.option("No", value="0"), row=row, index=index, name=name,
                        width="8rem"),
                rx.cond(
                    has_options & (options.length() <= MAX_CHECKBOXES) & ((op == "in") | (op == "!in")),
                    _checkboxes(options, chosen, index, name),
                    rx.cond(
                        has_options & ((op == "=") | (op == "!=")),
                        _choose(rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])), row=row, index=index,
                                name=name, width="100%"),
                        text_input,
                    ),
                ),
            ),
        ),
    )


def filter_row(row: rx.Var, index: rx.Var) -> rx.Component:
    S = SegmentEditState
    number = (index + 1).to_string()
    ops = S.type_operators[row["type"].to(str)].to(list[dict[str, str]])
    help_text = rx.foreach(ops, lambda o: rx.cond((o["value"] == row["operator"]) & (o["help"] != ""),
                                                  rx.text(o["help"], size="1", color=rx.color("gray", 10))))
    return rx.box(
        rx.vstack(
            rx.cond(
                index > 0,
                native_select(rx.el.option("and", value="and"), rx.el.option("or", value="or"), value=row["glue"],
                              on_change=lambda v: S.set_glue(index, v), width="5rem", aria_label="Glue of filter " + number),
            ),
            # Two lines by design: the field; then how it compares and to what. One line wrapped the value box
            # wherever the page's width fell.
            rx.hstack(
                _field_picker(row, index),
                rx.icon_button(rx.icon("x", size=14), size="1", variant="soft", color_scheme="gray",
                               aria_label="Remove filter " + number, on_click=S.remove_filter(index)),
                align="center", spacing="2", width="100%",
            ),
            rx.hstack(
                native_select(rx.foreach(ops, lambda o: rx.el.option(o["label"], value=o["value"])), value=row["operator"],
                              on_change=lambda v: S.set_operator(index, v), width="11rem", flex_shrink="0",
                              aria_label="Operator of filter " + number),
                rx.box(_value_input(row, index), flex="1", min_width="0"),
                align="center", spacing="2", width="100%",
            ),
            help_text,
            spacing="1",
        ),
        role="group", aria_label="Filter " + number,
        padding="0.6rem", border_radius="var(--radius-3)",
        border=rx.cond(S.error_index == index, "1px solid var(--red-8)", "1px solid var(--gray-a5)"),
        width="100%",
    )
