"""The form's fields: the list (each row opens its editor, moves, or is dragged into order) and the
editor of the selected field, whose inputs depend on the field's kind."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.sortable import drag_item
from mautic_app.ui.components.widgets import labelled, native_select, option_list
from mautic_app.ui.pages.form_edit.state import FormEditState


def check(label: str, checked: rx.Var, on_change, hint: str = "") -> rx.Component:
    """A checkbox for a "1"/"" value, with an optional hint below it."""
    return rx.vstack(
        rx.el.label(rx.checkbox(checked=checked == "1", on_change=on_change), rx.text(label, size="2", as_="span"),
                    style={"display": "flex", "gap": "0.5rem", "align_items": "center"}),
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        spacing="0",
    )


def _flag(label: str, key: str, hint: str = "") -> rx.Component:
    S = FormEditState
    return check(label, S.field[key], lambda v: S.set_form_field(key, v), hint)


def _text(label: str, key: str, *, area: bool = False, hint: str = "", kind: str = "text") -> rx.Component:
    S = FormEditState
    control_id = f"field-{key}"
    control = (rx.text_area(id=control_id, value=S.field[key], on_change=lambda v: S.set_form_field(key, v), rows="4", width="100%")
               if area else rx.input(id=control_id, type=kind, value=S.field[key], on_change=lambda v: S.set_form_field(key, v), width="100%"))
    return labelled(label, control, control_id, error=S.field_errors.get(key, ""), hint=hint or None)


def _choice(label: str, key: str, *options: rx.Component, control_id: str, shows_error: bool = False) -> rx.Component:
    S = FormEditState
    return labelled(label, native_select(*options, id=control_id, value=S.field[key], on_change=lambda v: S.set_form_field(key, v)),
                    control_id, error=S.field_errors.get(key, "") if shows_error else None)


def _condition() -> rx.Component:
    """Which values of the parent field show this one."""
    f = FormEditState.field
    return rx.vstack(
        _flag("…has any value", "condition_any"),
        rx.cond(f["condition_any"] != "1", rx.vstack(
            _choice("…has", "condition_expr", rx.el.option("one of these values", value="in"),
                    rx.el.option("none of these values", value="notIn"), control_id="field-condition-expr"),
            _text("Values (comma separated)", "condition_values"), width="100%")),
        width="100%")


def _value_settings() -> rx.Component:
    """What only fields that keep a value have: mapping, validation, auto-fill, progressive profiling, conditions."""
    S = FormEditState
    return rx.vstack(
        _choice("Fills the contact or company field", "mapped", *option_list(S.mapping, blank="Nothing"), control_id="field-mapped"),
        _flag("Required", "is_required"),
        _text("Default value", "default_value"),
        _text("Placeholder", "placeholder"),
        _text("Help text", "help_message"),
        _text("Message when invalid", "validation_message"),
        _flag("Auto-fill from the known contact", "is_auto_fill", "Only on your own pages and allowed sites (Settings → Tracking)."),
        _flag("Show even when the contact's value is known", "show_when_value_exists"),
        _flag("Always show (progressive profiling never hides it)", "always_display"),
        _text("Show after this many submissions", "show_after_x_submissions", kind="number"),
        _choice("Show only when another field…", "parent_alias", *option_list(S.parent_choices, blank="Always show"),
                control_id="field-parent", shows_error=True),
        rx.cond(S.field["parent_alias"] != "", _condition()),
        _flag("Keep the value in the results", "save_result"),
        width="100%", spacing="3",
    )


def field_editor() -> rx.Component:
    S = FormEditState
    kind = S.field["type"]
    return rx.card(
        rx.vstack(
            rx.heading("Field: " + S.field["label"], size="3", as_="h3"),
            _text("Label", "label"),
            _text("Field alias", "alias", hint="The name in mauticform[…] and in the results."),
            rx.cond(S.field_stores_value, _value_settings()),
            rx.cond(S.field_has_options, _text("Options (one per line; value|label to differ)", "options", area=True)),
            rx.cond(kind == "captcha", rx.vstack(_text("Question", "question"), _text("Answer", "captcha"), width="100%")),
            rx.cond((kind == "freetext") | (kind == "freehtml"), _text("Text", "text", area=True,
                                                                       hint="HTML blocks keep safe markup only: no scripts.")),
            rx.cond(kind == "pagebreak", rx.vstack(_text("Next button", "next_page_label"), _text("Previous button", "prev_page_label"),
                                                   width="100%")),
            _flag("Show the label", "show_label"),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def field_row(row: rx.Var, index: rx.Var) -> rx.Component:
    S = FormEditState
    name = row["label"].to(str)
    return drag_item(rx.hstack(
        rx.icon("grip-vertical", size=16, color=rx.color("gray", 9), aria_hidden="true", style={"cursor": "grab"}),
        rx.button(rx.text(row["label"], weight="medium"),
                  # on the selected row's solid blue a soft badge is blue on blue: a light one reads there
                  rx.badge(row["type"], variant=rx.cond(S.selected == index, "surface", "soft"),
                           high_contrast=S.selected == index),
                  rx.cond(row["is_required"] == "1", rx.text("*", color=rx.color("red", 11))),
                  variant=rx.cond(S.selected == index, "solid", "soft"), on_click=S.select_form_field(index),
                  aria_label="Edit field " + name, aria_pressed=rx.cond(S.selected == index, "true", "false"), flex="1",
                  justify="start"),
        rx.icon_button(rx.icon("arrow-up", size=14), size="1", variant="soft", aria_label="Move " + name + " up",
                       on_click=S.move_form_field(index, -1), disabled=index == 0),
        rx.icon_button(rx.icon("arrow-down", size=14), size="1", variant="soft", aria_label="Move " + name + " down",
                       on_click=S.move_form_field(index, 1), disabled=index == S.fields.length() - 1),
        rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red", aria_label="Remove field " + name,
                       on_click=S.remove_form_field(index)),
        width="100%", align="center",
    ), on_pick=S.pick_form_field(index), on_put=S.put_form_field(index), on_done=S.drop_nothing, role="listitem",
        width="100%", style={"opacity": rx.cond(S.dragging == index, "0.5", "1")})
