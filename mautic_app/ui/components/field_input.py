"""Form inputs generated from the field registry, one kind of control per field type.

``FieldInput`` is the plain description a page keeps in its state; ``field_control`` renders
it inside ``rx.foreach``. Values travel as strings: ``form_values`` turns a submitted form back
into ``{alias: value}`` for the services, which validate them.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import reflex as rx

from mautic_app.domain.fields import COUNTRIES, LOCALES, SORTED_TIMEZONES, FieldSpec, options_of
from mautic_app.ui.components.widgets import WHEN_TEXT, field_message, native_select

GROUP_LABELS = {"core": "Core", "social": "Social", "personal": "Personal", "professional": "Professional"}
# Fields the system keeps up to date itself; they are shown on the detail page but not edited.
NOT_EDITABLE = {"last_active"}


@dataclasses.dataclass
class FieldInput:
    alias: str = ""
    label: str = ""
    type: str = "text"
    group: str = "core"
    required: bool = False
    options: list[str] = dataclasses.field(default_factory=list)
    step: str = "1"
    yes: str = "Yes"
    no: str = "No"


def describe_field(spec: FieldSpec) -> FieldInput:
    scale = int(spec.properties.get("scale") or 0) if spec.type == "number" else 0
    return FieldInput(
        alias=spec.alias,
        label=spec.label,
        type=spec.type,
        group=spec.group if spec.group in GROUP_LABELS else "core",
        required=spec.is_required,
        options=options_of(spec),
        step="1" if scale <= 0 else "0." + "0" * (scale - 1) + "1",
        yes=str(spec.properties.get("yes") or "Yes"),
        no=str(spec.properties.get("no") or "No"),
    )


def input_value(spec_type: str, value: Any) -> str:
    """A stored value as the string an HTML control of that field type expects."""
    if value is None:
        return ""
    if spec_type == "boolean":
        return "1" if value else "0"
    if spec_type == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if spec_type == "date" and isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    if spec_type == "time":
        return str(value)[:5]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def display_value(spec_type: str, value: Any, yes: str = "Yes", no: str = "No") -> str:
    """A stored value as text for lists and the detail page (always plain text, never markup)."""
    if value is None or value == "":
        return ""
    if spec_type == "boolean" or isinstance(value, bool):
        return yes if value else no
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if spec_type == "multiselect":
        return ", ".join(p for p in str(value).split("|") if p)
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{int(value):,}"
    if spec_type == "time":
        return str(value)[:5]
    return str(value)


def form_values(fields: list[FieldInput] | list[dict], form: Any, original: dict[str, str] | None = None) -> dict[str, Any]:
    """Submitted form data (``rx.form.FormData`` or a dict) to ``{alias: value}`` strings.

    A switch that is off submits nothing: it reads as "0" (no) when the field had a value,
    and is left out when the field was never set, so opening and saving a form does not
    answer yes/no questions nobody asked. A multiselect submits one entry per ticked option,
    joined with ``|`` as the services store them.
    """
    original = original or {}
    out: dict[str, Any] = {}
    getlist = getattr(form, "getlist", None)
    for f in fields:
        alias = f["alias"] if isinstance(f, dict) else f.alias
        ftype = f["type"] if isinstance(f, dict) else f.type
        if alias in NOT_EDITABLE:
            continue
        if ftype == "boolean":
            if str(form.get(alias, "")).strip().lower() in {"on", "1", "true", "yes"}:
                out[alias] = "1"
            elif original.get(alias, "") != "":
                out[alias] = "0"
        elif ftype == "multiselect":
            items = getlist(alias) if getlist else ([form[alias]] if alias in form else [])
            out[alias] = "|".join(str(i) for i in items if str(i).strip())
        else:
            out[alias] = str(form.get(alias, "") or "")
    return out


# ---------------------------------------------------------------- rendering

def _text_input(field: rx.Var, value: rx.Var, control_id: rx.Var, invalid: rx.Var, described: rx.Var, input_type: str = "text",
                **extra) -> rx.Component:
    return rx.input(
        id=control_id,
        name=field.alias,
        type=input_type,
        default_value=value,
        aria_invalid=invalid,
        aria_required=field.required,
        aria_describedby=described,
        width="100%",
        **extra,
    )


def field_control(field: rx.Var, values: rx.Var, errors: rx.Var) -> rx.Component:
    """The labelled control for one ``FieldInput`` Var (use inside ``rx.foreach``)."""
    control_id = "field-" + field.alias.to(str)
    value = values[field.alias].to(str)
    error = errors[field.alias].to(str)
    invalid = error != ""
    described = rx.cond(invalid, control_id + "-error", "")
    ftype = field.type.to(str)

    def native(*options: rx.Component) -> rx.Component:
        return native_select(*options, id=control_id, name=field.alias, default_value=value, aria_invalid=invalid,
                             aria_required=field.required, aria_describedby=described)

    blank = rx.el.option("—", value="")
    list_options = rx.foreach(field.options, lambda o: rx.el.option(o, value=o))
    control = rx.match(
        ftype,
        ("textarea", rx.text_area(id=control_id, name=field.alias, default_value=value, aria_invalid=invalid,
                                  aria_describedby=described, rows="4", width="100%")),
        ("html", rx.text_area(id=control_id, name=field.alias, default_value=value, aria_invalid=invalid,
                              aria_describedby=described, rows="6", width="100%", font_family="monospace")),
        ("select", native(blank, list_options)),
        ("lookup", rx.fragment(
            _text_input(field, value, control_id, invalid, described, list="options-" + field.alias.to(str)),
            rx.el.datalist(rx.foreach(field.options, lambda o: rx.el.option(value=o)), id="options-" + field.alias.to(str)),
        )),
        ("country", native(blank, *[rx.el.option(c, value=c) for c in COUNTRIES])),
        ("timezone", native(blank, *[rx.el.option(tz, value=tz) for tz in SORTED_TIMEZONES])),
        ("locale", _text_input(field, value, control_id, invalid, described, list="locale-options", placeholder="en_US")),
        ("boolean", rx.hstack(
            rx.switch(id=control_id, name=field.alias, value="1", default_checked=value == "1",
                      aria_describedby=described),
            rx.text(field.yes + " / " + field.no, size="1", color=rx.color("gray", 10), aria_hidden="true"),
            align="center",
            spacing="2",
        )),
        ("multiselect", rx.flex(
            rx.foreach(
                field.options,
                lambda o: rx.box(rx.checkbox(o, name=field.alias, value=o, default_checked=value.split("|").contains(o))),
            ),
            wrap="wrap",
            gap="4",
            padding_y="0.35rem",
            role="group",
            aria_labelledby=control_id + "-label",
        )),
        ("number", _text_input(field, value, control_id, invalid, described, "number", step=field.step)),
        ("email", _text_input(field, value, control_id, invalid, described, "email", auto_complete="off")),
        ("tel", _text_input(field, value, control_id, invalid, described, "tel")),
        ("url", _text_input(field, value, control_id, invalid, described, "url", placeholder="https://")),
        ("date", _text_input(field, value, control_id, invalid, described, "date")),
        ("datetime", _text_input(field, value, control_id, invalid, described, **WHEN_TEXT)),
        ("time", _text_input(field, value, control_id, invalid, described, "time")),
        _text_input(field, value, control_id, invalid, described),
    )
    label = rx.el.label(
        field.label,
        rx.cond(field.required, rx.el.span(" *", aria_hidden="true", style={"color": "var(--red-11)"})),
        html_for=control_id,
        id=control_id + "-label",
        style={"font_size": "var(--font-size-2)", "font_weight": "500"},
    )
    return rx.vstack(label, control, field_message(error, control_id), spacing="1", width="100%", align="stretch")


def shared_datalists() -> rx.Component:
    """Datalists that several inputs on a page point at (render once per page)."""
    return rx.el.datalist(*[rx.el.option(value=loc) for loc in LOCALES], id="locale-options")
