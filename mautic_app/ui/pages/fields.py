"""Settings → Custom fields (administrators only): contact and company fields, each a real column."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain.fields import FIELD_GROUPS, FIELD_TYPES, alias_from_label, options_of
from mautic_app.services import fields as field_service
from mautic_app.ui.components.list_dialog import ListDialog, dialog_input, new_button, record_dialog
from mautic_app.ui.components.paged_list import count_status, delete_button, delete_confirmation, list_table, row_actions
from mautic_app.ui.components.widgets import error_aria, form_flag, hidden_header, labelled, native_select
from mautic_app.ui.layout import page_header, template

OBJECTS = {"contact": "Contact fields", "company": "Company fields"}
GROUP_LABELS = {"core": "Core", "social": "Social", "personal": "Personal", "professional": "Professional"}
OPTION_TYPES = ("select", "multiselect", "lookup")
FORM_KEYS = ("label", "alias", "type", "group", "default_value", "properties", "id", "object")
# (form name, label, help text) for each flag; the form name is the service's keyword.
FLAGS = (
    ("is_required", "Required", "A value must be given when a record is saved in the app."),
    ("is_visible", "Visible", "Shown on forms and detail pages."),
    ("is_listable", "Listable", "Can be chosen as a list column and in filters."),
    ("is_publicly_updatable", "Publicly updatable", "May be set by tracking requests and public forms."),
    ("is_unique_identifier", "Unique identifier", "Finds an existing record when matching imports and tracking."),
    ("is_indexed", "Indexed", "Adds a database index, for fields searched or filtered often."),
)
FLAG_NAMES = tuple(f[0] for f in FLAGS)


def _row(d) -> dict[str, str]:
    props = dict(d.properties or {})
    return {
        "id": str(d.id),
        "label": d.label,
        "alias": d.alias,
        "type": d.type,
        "type_label": FIELD_TYPES.get(d.type, d.type),
        "group": d.group,
        "group_label": GROUP_LABELS.get(d.group, d.group),
        "default_value": d.default_value or "",
        "fixed": "1" if d.is_fixed else "",
        "options": "\n".join(options_of(field_service.to_spec(d))),
        "yes": str(props.get("yes") or "Yes"),
        "no": str(props.get("no") or "No"),
        "scale": str(props.get("scale") or 0),
        **{name: "1" if getattr(d, name) else "" for name in FLAG_NAMES},
    }


def _load(obj: str) -> list[dict[str, str]]:
    with session_scope() as session:
        return [_row(d) for d in field_service.definitions(session=session, obj=obj)]


def _properties(field_type: str, form: dict) -> dict[str, Any]:
    if field_type in OPTION_TYPES:
        return {"list": [line.strip() for line in str(form.get("options", "")).splitlines() if line.strip()]}
    if field_type == "boolean":
        return {"yes": str(form.get("yes", "")).strip() or "Yes", "no": str(form.get("no", "")).strip() or "No"}
    if field_type == "number":
        return {"scale": str(form.get("scale", "")).strip() or "0"}
    return {}


def _save(obj: str, field_id: int | None, values: dict[str, Any]) -> str:
    with session_scope() as session:
        if field_id:
            values = {k: v for k, v in values.items() if k not in ("alias", "type", "is_indexed")}
            return field_service.update_field(session=session, field_id=field_id, **values).label
        return field_service.create_field(session=session, obj=obj, **values).label


def _move(field_id: int, step: int) -> None:
    with session_scope() as session:
        field_service.move_field(session=session, field_id=field_id, step=step)


def _delete(field_id: int) -> None:
    with session_scope() as session:
        field_service.delete_field(session=session, field_id=field_id)


class FieldsState(ListDialog, rx.State):
    noun: ClassVar[str] = "field"
    follow_topics: ClassVar[tuple[str, ...]] = ("fields",)
    name_key: ClassVar[str] = "label"
    refusal: ClassVar[tuple[type[Exception], ...]] = (field_service.FieldError,)
    blank: ClassVar[dict[str, str]] = {
        "label": "", "alias": "", "type": "text", "group": "core", "default_value": "", "options": "", "yes": "Yes",
        "no": "No", "scale": "0",
    } | {name: "" for name in FLAG_NAMES} | {"is_visible": "1", "is_listable": "1"}
    form_keys: ClassVar[tuple[str, ...]] = FORM_KEYS

    obj: str = "contact"
    busy_move: bool = False
    # Label, alias and type are controlled: the alias follows the label until edited; the type decides
    # which properties are asked for. The rest come from the form.
    f_label: str = ""
    f_alias: str = ""
    alias_touched: bool = False
    f_type: str = "text"

    @rx.var
    def dialog_title(self) -> str:
        noun = "contact field" if self.obj == "contact" else "company field"
        return f"Edit {noun}" if self.edit_id else f"New {noun}"

    @rx.var
    def last_index(self) -> int:
        return len(self.rows) - 1

    @rx.var
    def count_label(self) -> str:
        custom = sum(1 for r in self.rows if not r["fixed"])
        return f"{len(self.rows)} fields ({custom} custom)"

    async def _on_load(self) -> None:
        wanted = str(self.router.url.query_parameters.get("object", "") or "")
        if wanted in OBJECTS:
            self.obj = wanted

    async def _reload(self) -> None:
        obj = self.obj
        self.rows = await rx.run_in_thread(lambda: _load(obj))
        self.loaded = True

    def _deletable(self, row: dict[str, str]) -> bool:
        return not row["fixed"]

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def set_obj(self, value: str):
        if value in OBJECTS and value != self.obj:
            self.obj = value
            self.loaded = False
            yield rx.call_script(f"window.history.replaceState(window.history.state, '', '{routes.custom_fields(value)}')")
            await self._reload()

    # ------------------------------------------------------------ order

    @rx.event
    async def move(self, field_id: str, step: int):
        if self.busy_move:
            return
        self.busy_move = True
        yield
        await rx.run_in_thread(lambda: _move(int(field_id), int(step)))
        await self._reload()
        self.busy_move = False

    # ------------------------------------------------------------ create / edit

    def _open_dialog(self, edit_id: int, draft: dict[str, str]) -> None:
        super()._open_dialog(edit_id, draft)
        self.f_label, self.f_alias, self.f_type = draft["label"], draft["alias"], draft["type"]
        self.alias_touched = bool(edit_id)

    @rx.event
    def set_label(self, value: str):
        self.f_label = value
        if not self.edit_id and not self.alias_touched:
            self.f_alias = alias_from_label(value) if value.strip() else ""

    @rx.event
    def set_alias(self, value: str):
        if self.edit_id:
            return
        self.f_alias = value
        self.alias_touched = value.strip() != ""
        if not self.alias_touched:
            self.f_alias = alias_from_label(self.f_label) if self.f_label.strip() else ""

    @rx.event
    def set_type(self, value: str):
        if not self.edit_id and value in FIELD_TYPES:
            self.f_type = value

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        field_type = self.f_type
        values: dict[str, Any] = {
            "label": str(form.get("label", self.f_label)),
            "alias": self.f_alias,
            "type": field_type,
            "group": str(form.get("group", "core")),
            "default_value": str(form.get("default_value", "")).strip() or None,
            "properties": _properties(field_type, form),
            **{name: form_flag(form, name) for name in FLAG_NAMES},
        }
        # Keep what was typed if the save fails and the form is shown again.
        self.draft = self.draft | {
            "group": values["group"], "default_value": values["default_value"] or "",
            "options": str(form.get("options", self.draft.get("options", ""))), "yes": str(form.get("yes", "Yes")),
            "no": str(form.get("no", "No")), "scale": str(form.get("scale", "0")),
        } | {name: "1" if values[name] else "" for name in FLAG_NAMES}
        obj, field_id = self.obj, self.edit_id or None
        async for update in self._submit(lambda: _save(obj, field_id, values)):
            yield update


# ---------------------------------------------------------------- view


def _flag_badges(row: rx.Var) -> rx.Component:
    def badge(key: str, text: str, color: str) -> rx.Component:
        return rx.cond(row[key] == "1", rx.badge(text, color_scheme=color, variant="soft"))

    return rx.flex(
        badge("is_required", "Required", "red"),
        badge("is_listable", "Listable", "blue"),
        badge("is_publicly_updatable", "Publicly updatable", "amber"),
        badge("is_unique_identifier", "Unique identifier", "purple"),
        badge("is_indexed", "Indexed", "gray"),
        rx.cond(row["is_visible"] == "", rx.badge("Hidden", color_scheme="gray", variant="outline")),
        wrap="wrap",
        gap="1",
    )


def _table_row(row: rx.Var, index: rx.Var) -> rx.Component:
    S = FieldsState
    label = row["label"].to(str)
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.icon_button(rx.icon("arrow-up", size=14), size="1", variant="ghost", aria_label="Move " + label + " up",
                               disabled=(index == 0) | S.busy_move, on_click=S.move(row["id"], -1)),
                rx.icon_button(rx.icon("arrow-down", size=14), size="1", variant="ghost", aria_label="Move " + label + " down",
                               disabled=(index == S.last_index) | S.busy_move, on_click=S.move(row["id"], 1)),
                spacing="1",
            ),
            width="4.5rem",
        ),
        rx.table.row_header_cell(
            rx.hstack(
                rx.text(row["label"], weight="medium"),
                rx.cond(row["fixed"] == "1", rx.badge("Core", color_scheme="gray", variant="surface")),
                align="center",
                spacing="2",
            ),
        ),
        rx.table.cell(rx.code(row["alias"], variant="ghost")),
        rx.table.cell(row["type_label"]),
        rx.table.cell(row["group_label"]),
        rx.table.cell(_flag_badges(row)),
        rx.table.cell(row_actions(S, row, name=label, delete=rx.cond(row["fixed"] == "1", rx.box(width="24px"),
                                                                     delete_button(S, row, label)))),
        _hover={"background": rx.color("gray", 2)},
    )


def _table() -> rx.Component:
    S = FieldsState
    columns = (hidden_header("Order"), "Label", "Alias", "Type", "Group", "Flags")
    return rx.cond(
        S.loaded,
        rx.vstack(
            count_status(S),
            list_table(S, rx.cond(S.obj == "contact", "Contact fields", "Company fields"), columns, _table_row, size="1"),
            spacing="2",
            width="100%",
            padding_top="1rem",
        ),
        rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
    )


def _type_properties() -> rx.Component:
    S = FieldsState
    error = S.errors["properties"]
    options = labelled(
        "Options",
        rx.text_area(id="field-options", name="options", default_value=S.draft["options"], rows="5", width="100%",
                     placeholder="One option per line", **error_aria(S.errors["properties"], "field-options")),
        "field-options",
        required=S.f_type != "lookup",
        error=error,
        hint="One option per line.",
    )
    boolean = rx.vstack(
        rx.grid(
            labelled("Yes label", rx.input(id="field-yes", name="yes", default_value=S.draft["yes"], width="100%"), "field-yes"),
            labelled("No label", rx.input(id="field-no", name="no", default_value=S.draft["no"], width="100%"), "field-no"),
            columns="2",
            spacing="3",
            width="100%",
        ),
        rx.cond(error != "", rx.text(error, color=rx.color("red", 11), size="1", role="alert")),
        width="100%",
    )
    number = labelled(
        "Decimal places",
        rx.input(id="field-scale", name="scale", type="number", min="0", max="8", step="1", default_value=S.draft["scale"],
                 width="8rem", **error_aria(S.errors["properties"], "field-scale")),
        "field-scale",
        error=error,
    )
    return rx.match(
        S.f_type,
        ("select", options),
        ("multiselect", options),
        ("lookup", options),
        ("boolean", boolean),
        ("number", number),
        rx.fragment(),
    )


def _flag_switch(name: str, label: str, hint: str) -> rx.Component:
    S = FieldsState
    locked = (S.edit_id > 0) if name == "is_indexed" else False
    control_id = f"flag-{name}"
    return rx.hstack(
        rx.switch(id=control_id, name=name, value="1", default_checked=S.draft[name] == "1", disabled=locked,
                  aria_describedby=f"{control_id}-hint"),
        rx.vstack(
            rx.el.label(label, html_for=control_id, style={"font_size": "var(--font-size-2)", "font_weight": "500",
                                                           "cursor": "pointer"}),
            rx.text(hint, id=f"{control_id}-hint", size="1", color=rx.color("gray", 10)),
            spacing="0",
        ),
        align="start",
        spacing="2",
    )


def _dialog() -> rx.Component:
    S = FieldsState
    return record_dialog(
        S,
        rx.dialog.description(
            rx.cond(S.edit_id > 0, "A field's alias and type cannot change once it is created.",
                    "Each field becomes a column of its own; its alias is the column name."),
            size="2",
            color=rx.color("gray", 11),
            margin_bottom="1rem",
        ),
        rx.grid(
            labelled(
                "Label",
                rx.input(id="field-label", name="label", value=S.f_label, on_change=S.set_label, auto_focus=True,
                         width="100%", aria_required=True, **error_aria(S.errors["label"], "field-label")),
                "field-label",
                required=True,
                error=S.errors["label"],
            ),
            labelled(
                "Alias",
                rx.input(id="field-alias", name="alias", value=S.f_alias, on_change=S.set_alias,
                         disabled=S.edit_id > 0, width="100%", font_family="monospace",
                         **error_aria(S.errors["alias"], "field-alias")),
                "field-alias",
                error=S.errors["alias"],
                hint="Suggested from the label; lower-case letters, digits and underscores.",
            ),
            labelled(
                "Type",
                native_select(*[rx.el.option(label, value=key) for key, label in FIELD_TYPES.items()],
                              id="field-type", name="type", value=S.f_type, on_change=S.set_type, disabled=S.edit_id > 0,
                              **error_aria(S.errors["type"], "field-type")),
                "field-type",
                error=S.errors["type"],
            ),
            labelled(
                "Group",
                native_select(*[rx.el.option(GROUP_LABELS[g], value=g) for g in FIELD_GROUPS],
                              id="field-group", name="group", default_value=S.draft["group"],
                              **error_aria(S.errors["group"], "field-group")),
                "field-group",
                error=S.errors["group"],
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            width="100%",
        ),
        _type_properties(),
        dialog_input(S, "Default value", "default_value", "field-default"),
        rx.el.fieldset(
            rx.el.legend(rx.text("Behaviour", size="2", weight="medium"), style={"margin_bottom": "0.5rem"}),
            rx.grid(*[_flag_switch(*flag) for flag in FLAGS], columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3", width="100%"),
            style={"border": "none", "padding": "0", "margin": "0", "width": "100%"},
        ),
        problems=("id", "object"),
        max_width="44rem",
    )


@template(route=routes.CUSTOM_FIELDS, title="Custom fields", on_load=FieldsState.load, admin_only=True)
def fields_page() -> rx.Component:
    S = FieldsState
    return rx.vstack(
        page_header("Custom fields", new_button(S, "New field")),
        rx.tabs.root(
            rx.tabs.list(*[rx.tabs.trigger(label, value=key) for key, label in OBJECTS.items()]),
            *[rx.tabs.content(_table(), value=key) for key in OBJECTS],
            value=S.obj,
            on_change=S.set_obj,
            width="100%",
        ),
        _dialog(),
        delete_confirmation(S, "Its column and every value stored in it are removed."),
        spacing="3",
        width="100%",
    )
