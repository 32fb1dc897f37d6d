"""Settings → Custom fields (administrators only): contact and company fields, each a real column."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain.fields import FIELD_GROUPS, FIELD_TYPES, alias_from_label, options_of
from mautic_app.services import fields as field_service
from mautic_app.ui import live
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, confirm_dialog, labelled, native_select, plain_header
from mautic_app.ui.layout import page_header, template

ROUTE = "/settings/fields"
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


class FieldsState(rx.State):
    obj: str = "contact"
    rows: list[dict[str, str]] = []
    loaded: bool = False
    busy_move: bool = False
    # The create / edit dialog: label, alias and type are controlled (the alias follows the label
    # until edited; the type decides which properties are asked for), the rest come from the form.
    editing: bool = False
    edit_id: int = 0
    f_label: str = ""
    f_alias: str = ""
    alias_touched: bool = False
    f_type: str = "text"
    draft: dict[str, str] = {}
    errors: dict[str, str] = {k: "" for k in FORM_KEYS}
    saving: bool = False
    form_key: int = 0
    delete_id: int = 0
    delete_label: str = ""
    delete_error: str = ""
    deleting: bool = False
    _following: bool = False

    @rx.var
    def dialog_title(self) -> str:
        noun = "contact field" if self.obj == "contact" else "company field"
        return f"Edit {noun}" if self.edit_id else f"New {noun}"

    @rx.var
    def delete_open(self) -> bool:
        return self.delete_id > 0

    @rx.var
    def last_index(self) -> int:
        return len(self.rows) - 1

    @rx.var
    def count_label(self) -> str:
        custom = sum(1 for r in self.rows if not r["fixed"])
        return f"{len(self.rows)} fields ({custom} custom)"

    async def _reload(self) -> None:
        obj = self.obj
        self.rows = await rx.run_in_thread(lambda: _load(obj))
        self.loaded = True

    @rx.event
    async def load(self):
        self.editing, self.delete_id = False, 0
        wanted = str(self.router.url.query_parameters.get("object", "") or "")
        if wanted in OBJECTS:
            self.obj = wanted
        await self._reload()
        return FieldsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["fields"], refresh)

    @rx.event
    async def set_obj(self, value: str):
        if value in OBJECTS and value != self.obj:
            self.obj = value
            self.loaded = False
            yield rx.call_script(f"window.history.replaceState(window.history.state, '', '{ROUTE}?object={value}')")
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

    def _open(self, edit_id: int, row: dict[str, str]) -> None:
        self.edit_id = edit_id
        self.f_label, self.f_alias, self.f_type = row["label"], row["alias"], row["type"]
        self.alias_touched = bool(edit_id)
        self.draft = {k: row.get(k, "") for k in ("group", "default_value", "options", "yes", "no", "scale", *FLAG_NAMES)}
        self.errors = {k: "" for k in FORM_KEYS}
        self.form_key += 1
        self.editing = True

    @rx.event
    def open_new(self):
        blank = {"label": "", "alias": "", "type": "text", "group": "core", "default_value": "", "options": "",
                 "yes": "Yes", "no": "No", "scale": "0", "is_visible": "1", "is_listable": "1"}
        self._open(0, blank)

    @rx.event
    def open_edit(self, field_id: str):
        row = next((r for r in self.rows if r["id"] == field_id), None)
        if row is not None:
            self._open(int(field_id), row)

    @rx.event
    def close_dialog(self, _open: bool = False):
        if not self.saving:
            self.editing = False

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
            **{name: str(form.get(name, "")).lower() in {"1", "on", "true"} for name in FLAG_NAMES},
        }
        # Keep what was typed if the save fails and the form is shown again.
        self.draft = self.draft | {
            "group": values["group"], "default_value": values["default_value"] or "",
            "options": str(form.get("options", self.draft.get("options", ""))), "yes": str(form.get("yes", "Yes")),
            "no": str(form.get("no", "No")), "scale": str(form.get("scale", "0")),
        } | {name: "1" if values[name] else "" for name in FLAG_NAMES}
        obj, field_id = self.obj, self.edit_id or None
        self.saving = True
        yield
        try:
            label = await rx.run_in_thread(lambda: _save(obj, field_id, values))
        except field_service.FieldError as exc:
            self.saving = False
            self.errors = {k: "" for k in FORM_KEYS} | {k: str(v) for k, v in exc.errors.items()}
            return
        self.saving = False
        self.editing = False
        await self._reload()
        yield rx.toast.success(f"Field “{label}” saved.")

    # ------------------------------------------------------------ delete

    @rx.event
    def ask_delete(self, field_id: str):
        row = next((r for r in self.rows if r["id"] == field_id), None)
        if row is not None and not row["fixed"]:
            self.delete_id, self.delete_label, self.delete_error = int(field_id), row["label"], ""

    @rx.event
    def cancel_delete(self, _open: bool = False):
        if not self.deleting:
            self.delete_id = 0

    @rx.event
    async def confirm_delete(self):
        field_id, label = self.delete_id, self.delete_label
        if not field_id:
            return
        self.deleting = True
        yield
        try:
            await rx.run_in_thread(lambda: _delete(field_id))
        except field_service.FieldError as exc:
            self.deleting = False
            self.delete_error = " ".join(exc.errors.values())
            return
        self.deleting = False
        self.delete_id = 0
        await self._reload()
        yield rx.toast.success(f"Field “{label}” deleted.")


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
        rx.table.cell(
            rx.hstack(
                rx.icon_button(rx.icon("pencil", size=14), size="1", variant="soft", aria_label="Edit " + label,
                               on_click=S.open_edit(row["id"])),
                rx.cond(
                    row["fixed"] == "1",
                    rx.box(width="24px"),
                    rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                                   aria_label="Delete " + label, on_click=S.ask_delete(row["id"])),
                ),
                spacing="2",
                justify="end",
            ),
        ),
        _hover={"background": rx.color("gray", 2)},
    )


def _table() -> rx.Component:
    S = FieldsState
    return rx.cond(
        S.loaded,
        rx.vstack(
            rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status"),
            rx.box(
                rx.table.root(
                    rx.el.caption(rx.cond(S.obj == "contact", "Contact fields", "Company fields"), style=VISUALLY_HIDDEN),
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(rx.el.span("Order", style=VISUALLY_HIDDEN)),
                            plain_header("Label"),
                            plain_header("Alias"),
                            plain_header("Type"),
                            plain_header("Group"),
                            plain_header("Flags"),
                            rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN), width="6rem"),
                        ),
                    ),
                    rx.table.body(rx.foreach(S.rows, _table_row)),
                    variant="surface",
                    size="1",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            spacing="2",
            width="100%",
            padding_top="1rem",
        ),
        rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
    )


def _described(key: str, control_id: str) -> dict[str, Any]:
    error = FieldsState.errors[key]
    return {"aria_invalid": error != "", "aria_describedby": rx.cond(error != "", f"{control_id}-error", "")}


def _type_properties() -> rx.Component:
    S = FieldsState
    error = S.errors["properties"]
    options = labelled(
        "Options",
        rx.text_area(id="field-options", name="options", default_value=S.draft["options"], rows="5", width="100%",
                     placeholder="One option per line", **_described("properties", "field-options")),
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
                 width="8rem", **_described("properties", "field-scale")),
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
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.dialog_title),
            rx.dialog.description(
                rx.cond(S.edit_id > 0, "A field's alias and type cannot change once it is created.",
                        "Each field becomes a column of its own; its alias is the column name."),
                size="2",
                color=rx.color("gray", 11),
                margin_bottom="1rem",
            ),
            rx.form(
                rx.vstack(
                    rx.grid(
                        labelled(
                            "Label",
                            rx.input(id="field-label", name="label", value=S.f_label, on_change=S.set_label, auto_focus=True,
                                     width="100%", aria_required=True, **_described("label", "field-label")),
                            "field-label",
                            required=True,
                            error=S.errors["label"],
                        ),
                        labelled(
                            "Alias",
                            rx.input(id="field-alias", name="alias", value=S.f_alias, on_change=S.set_alias,
                                     disabled=S.edit_id > 0, width="100%", font_family="monospace",
                                     **_described("alias", "field-alias")),
                            "field-alias",
                            error=S.errors["alias"],
                            hint="Suggested from the label; lower-case letters, digits and underscores.",
                        ),
                        labelled(
                            "Type",
                            native_select(*[rx.el.option(label, value=key) for key, label in FIELD_TYPES.items()],
                                          id="field-type", name="type", value=S.f_type, on_change=S.set_type, disabled=S.edit_id > 0,
                                          **_described("type", "field-type")),
                            "field-type",
                            error=S.errors["type"],
                        ),
                        labelled(
                            "Group",
                            native_select(*[rx.el.option(GROUP_LABELS[g], value=g) for g in FIELD_GROUPS],
                                          id="field-group", name="group", default_value=S.draft["group"],
                                          **_described("group", "field-group")),
                            "field-group",
                            error=S.errors["group"],
                        ),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="4",
                        width="100%",
                    ),
                    _type_properties(),
                    labelled(
                        "Default value",
                        rx.input(id="field-default", name="default_value", default_value=S.draft["default_value"], width="100%",
                                 **_described("default_value", "field-default")),
                        "field-default",
                        error=S.errors["default_value"],
                    ),
                    rx.el.fieldset(
                        rx.el.legend(rx.text("Behaviour", size="2", weight="medium"), style={"margin_bottom": "0.5rem"}),
                        rx.grid(*[_flag_switch(*flag) for flag in FLAGS], columns=rx.breakpoints(initial="1", sm="2"),
                                spacing="3", width="100%"),
                        style={"border": "none", "padding": "0", "margin": "0", "width": "100%"},
                    ),
                    rx.cond(
                        (S.errors["id"] != "") | (S.errors["object"] != ""),
                        rx.callout(S.errors["id"] + " " + S.errors["object"], color_scheme="red", role="alert", width="100%"),
                    ),
                    rx.hstack(
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.close_dialog(False)),
                        rx.button("Save", type="submit", loading=S.saving),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=S.save,
                no_validate=True,
                key=S.form_key,
                aria_label=S.dialog_title,
            ),
            max_width="44rem",
        ),
        open=S.editing,
        on_open_change=S.close_dialog,
    )


@template(route=ROUTE, title="Custom fields", on_load=FieldsState.load, admin_only=True)
def fields_page() -> rx.Component:
    S = FieldsState
    return rx.vstack(
        page_header("Custom fields", rx.button(rx.icon("plus", size=16), "New field", on_click=S.open_new)),
        rx.tabs.root(
            rx.tabs.list(*[rx.tabs.trigger(label, value=key) for key, label in OBJECTS.items()]),
            *[rx.tabs.content(_table(), value=key) for key in OBJECTS],
            value=S.obj,
            on_change=S.set_obj,
            width="100%",
        ),
        _dialog(),
        confirm_dialog(
            open=S.delete_open,
            title="Delete field",
            description=rx.cond(
                S.delete_error != "",
                S.delete_error,
                "Delete the field “" + S.delete_label + "”? Its column and every value stored in it are removed. "
                "This cannot be undone.",
            ),
            confirm_label="Delete",
            on_confirm=S.confirm_delete,
            on_cancel=S.cancel_delete,
            busy=S.deleting,
        ),
        spacing="3",
        width="100%",
    )
