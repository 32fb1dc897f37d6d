"""One form: its settings, fields and submit actions, with a live preview and the embed code.

``/forms/new`` creates one. Fields are added by kind, edited one at a time, and dragged into order
(or moved up and down with buttons); the preview is the very HTML sites will get, re-rendered on
every change.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain import forms as rules
from mautic_app.services import forms, segments
from mautic_app.ui.components.sortable import drag_item
from mautic_app.ui.components.widgets import labelled, native_select, option_list
from mautic_app.ui.layout import RecordPage, page_header, template
from mautic_app.ui.session import SessionState

FIELD_KEYS = ("label", "alias", "type", "is_required", "mapped", "default_value", "help_message", "options", "placeholder",
              "is_auto_fill", "show_when_value_exists", "show_after_x_submissions", "always_display", "parent_alias",
              "condition_values", "condition_any", "condition_expr", "captcha", "question", "text", "prev_page_label", "next_page_label",
              "validation_message", "save_result", "show_label", "id")
ACTION_KEYS = ("type", "name", "points", "add_tags", "remove_tags", "addToLists", "removeFromLists", "score", "post_url", "id")
ACTION_PROPERTIES = ACTION_KEYS[2:-1]
SETTINGS = {"name": "", "alias": "", "description": "", "post_action": "message", "post_action_property": "",
            "form_type": "standalone", "in_kiosk_mode": "", "progressive_profiling_limit": "", "no_index": "", "is_published": "1"}


def _form_id(path: str) -> int | None:
    parts = [p for p in (path or "").split("/") if p]
    return int(parts[1]) if len(parts) == 2 and parts[0] == "forms" and parts[1].isdigit() else None


def _blank_field(kind: str, taken: list[str]) -> dict[str, str]:
    label = rules.FIELD_TYPES[kind].label if kind != "button" else "Submit"
    row = dict.fromkeys(FIELD_KEYS, "")
    row |= {"label": label, "alias": rules.alias_from_label(label, taken), "type": kind, "show_when_value_exists": "1",
            "save_result": "1", "show_label": "1"}
    if rules.FIELD_TYPES[kind].has_options:
        row["options"] = "First option\nSecond option"
    return row


def field_to_row(f: rules.Field) -> dict[str, str]:
    p = f.properties
    options = "\n".join(o["value"] if o["value"] == o["label"] else f"{o['value']}|{o['label']}" for o in p.get("options") or [])
    return dict.fromkeys(FIELD_KEYS, "") | {
        "label": f.label, "alias": f.alias, "type": f.type, "is_required": "1" if f.is_required else "",
        "mapped": f"{f.mapped_object}:{f.mapped_field}" if f.mapped_field else "", "default_value": f.default_value,
        "help_message": f.help_message, "options": options, "placeholder": str(p.get("placeholder") or ""),
        "is_auto_fill": "1" if f.is_auto_fill else "", "show_when_value_exists": "1" if f.show_when_value_exists else "",
        "show_after_x_submissions": str(f.show_after_x_submissions or ""), "always_display": "1" if f.always_display else "",
        "parent_alias": f.parent_alias, "condition_values": ", ".join(f.conditions.get("values") or []),
        "condition_any": "1" if f.conditions.get("any") else "", "condition_expr": f.conditions.get("expr") or "in", "captcha": str(p.get("captcha") or ""),
        "question": str(p.get("question") or ""), "text": str(p.get("text") or ""),
        "prev_page_label": str(p.get("prev_page_label") or ""), "next_page_label": str(p.get("next_page_label") or ""),
        "validation_message": f.validation_message, "save_result": "1" if f.save_result else "", "show_label": "1" if f.show_label else "",
        "id": str(f.id or ""),
    }


def row_to_field(row: dict[str, str]) -> dict[str, Any]:
    mapped_object, _, mapped_field = (row.get("mapped") or "").partition(":")
    props = {k: row[k] for k in ("placeholder", "captcha", "question", "text", "prev_page_label", "next_page_label") if row.get(k)}
    if rules.FIELD_TYPES.get(row.get("type", ""), rules.FIELD_TYPES["text"]).has_options:
        props["options"] = row.get("options", "")
    return {
        "label": row.get("label", ""), "alias": row.get("alias", ""), "type": row.get("type", ""), "is_required": row.get("is_required") == "1",
        "mapped_object": mapped_object if mapped_field else "", "mapped_field": mapped_field, "default_value": row.get("default_value", ""),
        "help_message": row.get("help_message", ""), "properties": props, "is_auto_fill": row.get("is_auto_fill") == "1",
        "show_when_value_exists": row.get("show_when_value_exists") == "1",
        "show_after_x_submissions": row.get("show_after_x_submissions") or None, "always_display": row.get("always_display") == "1",
        "parent_alias": row.get("parent_alias", ""),
        "conditions": {"any": row.get("condition_any") == "1", "expr": row.get("condition_expr") or "in",
                       "values": [v.strip() for v in (row.get("condition_values") or "").split(",") if v.strip()]},
        "validation_message": row.get("validation_message", ""), "save_result": row.get("save_result") == "1",
        "show_label": row.get("show_label") == "1", "id": int(row["id"]) if str(row.get("id") or "").isdigit() else None,
    }


def row_to_action(row: dict[str, str]) -> dict[str, Any]:
    return {"type": row.get("type", ""), "name": row.get("name", ""),
            "id": int(row["id"]) if str(row.get("id") or "").isdigit() else None,
            "properties": {k: row[k] for k in ACTION_PROPERTIES if row.get(k) not in (None, "")}}


def _preview(settings: dict[str, str], rows: list[dict[str, str]]) -> str:
    """The HTML a site gets, from the fields as they stand (fields with a mistake are left out until fixed)."""
    raw = [row_to_field(r) for r in rows]
    mapped = {f["mapped_field"] for f in raw}
    for _ in range(2):
        try:
            fields = rules.check_fields(raw, contact_fields=mapped, company_fields=mapped)
            break
        except rules.FormError as exc:
            bad = {int(k.split(".")[1]) for k in exc.errors if k.startswith("fields.") and k.split(".")[1].isdigit()}
            raw = [f for i, f in enumerate(raw) if i not in bad]
    else:
        fields = []
    return rules.render_form(form_id=0, alias=settings.get("alias") or "preview", name=settings.get("name") or "Form",
                             fields=fields, action="#")


def _choices() -> dict[str, Any]:
    with session_scope() as session:
        mappable = forms.mappable_fields(session=session)
        segs = segments.list_segments(session=session, limit=500)[1]
    return {
        "mapping": [{"value": f"contact:{a}", "label": f"Contact: {lbl}"} for a, lbl in mappable["contact"]]
        + [{"value": f"company:{a}", "label": f"Company: {lbl}"} for a, lbl in mappable["company"]],
        "segments": [{"value": str(s.id), "label": s.name} for s in segs],
    }


def _read(form_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        form = forms.get_form(session=session, form_id=form_id)
        if form is None:
            return None
        fields = forms.fields_of(session=session, form_id=form_id)
        actions = forms.actions_of(session=session, form_id=form_id)
        settings = {
            "name": form.name, "alias": form.alias, "description": form.description, "post_action": form.post_action,
            "post_action_property": form.post_action_property, "form_type": form.form_type,
            "in_kiosk_mode": "1" if form.in_kiosk_mode else "", "no_index": "1" if form.no_index else "",
            "progressive_profiling_limit": str(form.progressive_profiling_limit or ""), "is_published": "1" if form.is_published else "",
        }
        action_rows = []
        for a in actions:
            row = dict.fromkeys(ACTION_KEYS, "") | {"type": a.type, "name": a.name, "id": str(a.id)}
            for k, v in (a.properties or {}).items():
                if k in row:
                    row[k] = ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)
            action_rows.append(row)
        return {"settings": settings, "fields": [field_to_row(f) for f in fields], "actions": action_rows}


def _save(form_id: int | None, settings: dict[str, str], rows: list[dict[str, str]], actions: list[dict[str, str]],
          user_id: int) -> tuple[int | None, dict[str, str]]:
    values = dict(settings) | {k: settings.get(k) == "1" for k in ("in_kiosk_mode", "no_index", "is_published")}
    with session_scope() as session:
        try:
            form = forms.save_form(session=session, form_id=form_id, values=values, fields=[row_to_field(r) for r in rows],
                                   actions=[row_to_action(a) for a in actions], user_id=user_id)
        except rules.FormError as exc:
            session.rollback()
            return None, exc.errors
        session.commit()
        return form.id, {}


class FormEditState(RecordPage, rx.State):
    form_id: int = 0  # 0 while new
    missing: bool = False
    settings: dict[str, str] = dict(SETTINGS)
    fields: list[dict[str, str]] = []
    actions: list[dict[str, str]] = []
    selected: int = -1
    dragging: int = -1  # the field being dragged, while a drag lasts
    errors: dict[str, str] = {}
    preview_html: str = ""
    mapping: list[dict[str, str]] = []
    segment_choices: list[dict[str, str]] = []
    saving: bool = False
    origin: str = ""

    @rx.var
    def field(self) -> dict[str, str]:
        return self.fields[self.selected] if 0 <= self.selected < len(self.fields) else dict.fromkeys(FIELD_KEYS, "")

    @rx.var
    def field_has_options(self) -> bool:
        kind = rules.FIELD_TYPES.get(self.field.get("type", ""))
        return bool(kind and kind.has_options)

    @rx.var
    def field_stores_value(self) -> bool:
        kind = rules.FIELD_TYPES.get(self.field.get("type", ""))
        return bool(kind and kind.stores_value)

    @rx.var
    def field_errors(self) -> dict[str, str]:
        prefix = f"fields.{self.selected}."
        return {k[len(prefix):]: v for k, v in self.errors.items() if k.startswith(prefix)}

    @rx.var
    def error_list(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.errors.items()]

    @rx.var
    def embed_code(self) -> str:
        if not self.form_id:
            return "Save the form to get its embed code."
        return f'<script type="text/javascript" src="{self.origin}/form/generate.js?id={self.form_id}"></script>'

    @rx.var
    def parent_choices(self) -> list[dict[str, str]]:
        me = self.field.get("alias", "")
        return [{"value": f["alias"], "label": f["label"]} for f in self.fields
                if f["alias"] != me and rules.FIELD_TYPES.get(f["type"], rules.FIELD_TYPES["freetext"]).stores_value]

    def _refresh(self) -> None:
        self.preview_html = _preview(self.settings, self.fields)

    @rx.event
    async def load(self):
        self.origin = self.router.url.origin
        choices = await rx.run_in_thread(_choices)
        self.mapping, self.segment_choices = choices["mapping"], choices["segments"]
        self.errors, self.selected, self.missing = {}, -1, False
        form_id = _form_id(self.router.url.path)
        if form_id is None:
            self.form_id, self.settings, self.actions = 0, dict(SETTINGS), []
            self.fields = [_blank_field("email", []) | {"label": "E-mail", "alias": "email", "mapped": "contact:email", "is_required": "1"},
                           _blank_field("button", ["email"])]
        else:
            data = await rx.run_in_thread(lambda: _read(form_id))
            if data is None:
                self.missing = True
                self._loaded_here()
                return
            self.form_id, self.settings, self.fields, self.actions = form_id, data["settings"], data["fields"], data["actions"]
        self._refresh()
        self._loaded_here()

    @rx.event
    def set_setting(self, key: str, value: str | bool):
        self.settings = self.settings | {key: ("1" if value else "") if isinstance(value, bool) else str(value)}
        self._refresh()

    @rx.event
    def add_form_field(self, kind: str):
        if kind not in rules.FIELD_TYPES:
            return
        at = len(self.fields) - (1 if self.fields and self.fields[-1]["type"] == "button" else 0)
        self.fields = self.fields[:at] + [_blank_field(kind, [f["alias"] for f in self.fields])] + self.fields[at:]
        self.selected = at
        self._refresh()

    @rx.event
    def select_form_field(self, index: int):
        self.selected = index if self.selected != index else -1

    @rx.event
    def set_form_field(self, key: str, value: str | bool):
        if not 0 <= self.selected < len(self.fields) or key not in FIELD_KEYS or key == "id":
            return
        rows = list(self.fields)
        rows[self.selected] = rows[self.selected] | {key: ("1" if value else "") if isinstance(value, bool) else str(value)}
        self.fields = rows
        self._refresh()

    @rx.event
    def move_form_field(self, index: int, step: int):
        target = index + step
        if 0 <= index < len(self.fields) and 0 <= target < len(self.fields):
            rows = list(self.fields)
            rows[index], rows[target] = rows[target], rows[index]
            self.fields = rows
            if self.selected in (index, target):
                self.selected = target if self.selected == index else index
            self._refresh()

    @rx.event
    def pick_form_field(self, index: int):
        self.dragging = index

    @rx.event
    def put_form_field(self, index: int):
        """The field being dragged goes where it was dropped; the others close up around it."""
        start, self.dragging = self.dragging, -1
        if start == index or not (0 <= start < len(self.fields) and 0 <= index < len(self.fields)):
            return
        rows = list(self.fields)
        rows.insert(index, rows.pop(start))
        self.fields = rows
        if self.selected == start:
            self.selected = index
        elif start < self.selected <= index:
            self.selected -= 1
        elif index <= self.selected < start:
            self.selected += 1
        self._refresh()

    @rx.event
    def drop_nothing(self):
        self.dragging = -1

    @rx.event
    def remove_form_field(self, index: int):
        self.fields = [f for i, f in enumerate(self.fields) if i != index]
        self.selected = -1
        self._refresh()

    @rx.event
    def add_action(self, kind: str):
        if kind in rules.ACTION_TYPES and rules.ACTION_TYPES[kind].available:
            self.actions = [*self.actions, dict.fromkeys(ACTION_KEYS, "") | {"type": kind, "name": rules.ACTION_TYPES[kind].label}]

    @rx.event
    def set_action(self, index: int, key: str, value: str):
        if 0 <= index < len(self.actions) and key in ACTION_KEYS and key != "id":
            rows = list(self.actions)
            rows[index] = rows[index] | {key: str(value)}
            self.actions = rows

    @rx.event
    def remove_action(self, index: int):
        self.actions = [a for i, a in enumerate(self.actions) if i != index]

    @rx.event
    async def save(self):
        if self.saving:
            return
        user_id = (await self.get_state(SessionState)).user_id
        self.saving = True
        yield
        form_id, settings, rows, actions = self.form_id or None, dict(self.settings), list(self.fields), list(self.actions)
        new_id, errors = await rx.run_in_thread(lambda: _save(form_id, settings, rows, actions, user_id))
        self.saving = False
        self.errors = errors
        if errors:
            yield rx.toast.error("The form was not saved: see the messages.")
            return
        yield rx.toast.success("Form saved.")
        if not self.form_id:
            yield rx.redirect(f"/forms/{new_id}")


def _check(label: str, checked: rx.Var, on_change, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.checkbox(checked=checked == "1", on_change=on_change), rx.text(label, size="2", as_="span"),
                    style={"display": "flex", "gap": "0.5rem", "align_items": "center"}),
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        spacing="0",
    )


def _text(label: str, key: str, *, area: bool = False, hint: str = "", kind: str = "text") -> rx.Component:
    S = FormEditState
    control_id = f"field-{key}"
    control = (rx.text_area(id=control_id, value=S.field[key], on_change=lambda v: S.set_form_field(key, v), rows="4", width="100%")
               if area else rx.input(id=control_id, type=kind, value=S.field[key], on_change=lambda v: S.set_form_field(key, v), width="100%"))
    return labelled(label, control, control_id, error=S.field_errors.get(key, ""), hint=hint or None)


def _field_editor() -> rx.Component:
    S = FormEditState
    f = S.field
    kind = f["type"]
    return rx.card(
        rx.vstack(
            rx.heading("Field: " + f["label"], size="3", as_="h3"),
            _text("Label", "label"),
            _text("Field alias", "alias", hint="The name in mauticform[…] and in the results."),
            rx.cond(S.field_stores_value, rx.vstack(
                labelled("Fills the contact or company field",
                         native_select(*option_list(S.mapping, blank="Nothing"), id="field-mapped", value=f["mapped"],
                                       on_change=lambda v: S.set_form_field("mapped", v)), "field-mapped"),
                _check("Required", f["is_required"], lambda v: S.set_form_field("is_required", v)),
                _text("Default value", "default_value"),
                _text("Placeholder", "placeholder"),
                _text("Help text", "help_message"),
                _text("Message when invalid", "validation_message"),
                _check("Auto-fill from the known contact", f["is_auto_fill"], lambda v: S.set_form_field("is_auto_fill", v),
                       "Only on your own pages and allowed sites (Settings → Tracking)."),
                _check("Show even when the contact's value is known", f["show_when_value_exists"],
                       lambda v: S.set_form_field("show_when_value_exists", v)),
                _check("Always show (progressive profiling never hides it)", f["always_display"], lambda v: S.set_form_field("always_display", v)),
                _text("Show after this many submissions", "show_after_x_submissions", kind="number"),
                labelled("Show only when another field…",
                         native_select(*option_list(S.parent_choices, blank="Always show"), id="field-parent", value=f["parent_alias"],
                                       on_change=lambda v: S.set_form_field("parent_alias", v)), "field-parent",
                         error=S.field_errors.get("parent_alias", "")),
                rx.cond(f["parent_alias"] != "", rx.vstack(
                    _check("…has any value", f["condition_any"], lambda v: S.set_form_field("condition_any", v)),
                    rx.cond(f["condition_any"] != "1", rx.vstack(
                        labelled("…has", native_select(rx.el.option("one of these values", value="in"),
                                                       rx.el.option("none of these values", value="notIn"),
                                                       id="field-condition-expr", value=f["condition_expr"],
                                                       on_change=lambda v: S.set_form_field("condition_expr", v)),
                                 "field-condition-expr"),
                        _text("Values (comma separated)", "condition_values"), width="100%")),
                    width="100%")),
                _check("Keep the value in the results", f["save_result"], lambda v: S.set_form_field("save_result", v)),
                width="100%", spacing="3",
            )),
            rx.cond(S.field_has_options, _text("Options (one per line; value|label to differ)", "options", area=True)),
            rx.cond(kind == "captcha", rx.vstack(_text("Question", "question"), _text("Answer", "captcha"), width="100%")),
            rx.cond((kind == "freetext") | (kind == "freehtml"), _text("Text", "text", area=True,
                                                                       hint="HTML blocks keep safe markup only: no scripts.")),
            rx.cond(kind == "pagebreak", rx.vstack(_text("Next button", "next_page_label"), _text("Previous button", "prev_page_label"),
                                                   width="100%")),
            _check("Show the label", f["show_label"], lambda v: S.set_form_field("show_label", v)),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _field_row(row: rx.Var, index: rx.Var) -> rx.Component:
    S = FormEditState
    name = row["label"].to(str)
    return drag_item(rx.hstack(
        rx.icon("grip-vertical", size=16, color=rx.color("gray", 9), aria_hidden="true", style={"cursor": "grab"}),
        rx.button(rx.text(row["label"], weight="medium"), rx.badge(row["type"], variant="soft"),
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


def _action_row(row: rx.Var, index: rx.Var) -> rx.Component:
    S = FormEditState
    kind = row["type"]

    def box(label: str, key: str, hint: str = "") -> rx.Component:
        control_id = f"action-{key}-" + index.to(str)
        return labelled(label, rx.input(id=control_id, value=row[key], on_change=lambda v: S.set_action(index, key, v), width="100%"),
                        control_id, hint=hint or None)

    return rx.card(rx.vstack(
        rx.hstack(rx.text(row["name"], weight="medium"), rx.spacer(),
                  rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                                 aria_label="Remove action " + row["name"].to(str), on_click=S.remove_action(index)), width="100%"),
        rx.cond(kind == "lead.pointschange", box("Points", "points")),
        rx.cond(kind == "lead.changetags", rx.vstack(box("Tags to add (comma separated)", "add_tags"),
                                                     box("Tags to remove (comma separated)", "remove_tags"), width="100%")),
        rx.cond(kind == "lead.changelist", rx.vstack(
            box("Add to segments (ids, comma separated)", "addToLists"),
            box("Remove from segments (ids, comma separated)", "removeFromLists"),
            rx.text("Segments: ", rx.foreach(S.segment_choices, lambda s: rx.text(s["label"], " = ", s["value"], "; ", as_="span")),
                    size="1", color=rx.color("gray", 10)),
            width="100%")),
        rx.cond(kind == "lead.scorecontactscompanies", box("Points for the company", "score")),
        rx.cond(kind == "form.repost", box("Re-post to URL", "post_url")),
        width="100%", spacing="2",
    ), width="100%")


def _setting_input(label: str, key: str, hint: str = "") -> rx.Component:
    S = FormEditState
    return labelled(label, rx.input(id=f"form-{key}", value=S.settings[key], on_change=lambda v: S.set_setting(key, v), width="100%"),
                    f"form-{key}", error=S.errors.get(key, ""), hint=hint or None)


@template(route="/forms/[form_id]", title="Form", on_load=FormEditState.load)
def form_edit_page() -> rx.Component:
    S = FormEditState
    return rx.cond(
        S.missing,
        rx.callout("This form does not exist.", color_scheme="red", role="alert"),
        rx.vstack(
            page_header(rx.cond(S.form_id > 0, "Edit form", "New form"),
                        rx.cond(S.form_id > 0, rx.link(rx.button("Results", variant="soft", tab_index=-1), href="/forms/" + S.form_id.to(str) + "/results")),
                        rx.button("Save form", on_click=S.save, loading=S.saving)),
            rx.cond(S.errors.length() > 0, rx.callout(rx.vstack(rx.text("The form was not saved:"),
                                                                rx.foreach(S.error_list, lambda m: rx.text(m, size="2"))),
                                                      color_scheme="red", role="alert", width="100%")),
            rx.grid(
                rx.vstack(
                    rx.card(rx.vstack(
                        rx.heading("Settings", size="4", as_="h2"),
                        _setting_input("Name", "name"),
                        _setting_input("Alias", "alias", "Leave empty to make one from the name."),
                        _setting_input("Description", "description"),
                        labelled("After submitting", native_select(*option_list([{"value": k, "label": v} for k, v in rules.POST_ACTIONS.items()]),
                                                                   id="form-post_action", value=S.settings["post_action"],
                                                                   on_change=lambda v: S.set_setting("post_action", v)), "form-post_action",
                                 error=S.errors.get("post_action", "")),
                        _setting_input(rx.cond(S.settings["post_action"] == "redirect", "Redirect to", "Message"), "post_action_property",
                                       "Redirects only go to the submitting site or the allowed sites of Settings → Tracking."),
                        labelled("Form type", native_select(*option_list([{"value": k, "label": v} for k, v in rules.FORM_TYPES.items()]),
                                                            id="form-form_type", value=S.settings["form_type"],
                                                            on_change=lambda v: S.set_setting("form_type", v)), "form-form_type"),
                        _setting_input("Progressive profiling: at most this many fields", "progressive_profiling_limit"),
                        _check("Kiosk mode (shared screens: never tracks or merges the visitor)", S.settings["in_kiosk_mode"],
                               lambda v: S.set_setting("in_kiosk_mode", v)),
                        _check("Ask search engines not to index its page", S.settings["no_index"], lambda v: S.set_setting("no_index", v)),
                        _check("Published", S.settings["is_published"], lambda v: S.set_setting("is_published", v)),
                        spacing="3", width="100%")),
                    rx.card(rx.vstack(
                        rx.heading("Fields", size="4", as_="h2"),
                        rx.vstack(rx.foreach(S.fields, _field_row), role="list", aria_label="Form fields", spacing="2",
                                  width="100%"),
                        rx.hstack(
                            rx.el.label("Add a field", html_for="add-field", style={"font_size": "var(--font-size-2)"}),
                            native_select(rx.el.option("Choose a kind…", value=""),
                                          *[rx.el.option(t.label, value=t.key) for t in rules.FIELD_TYPES.values()],
                                          id="add-field", value="", on_change=S.add_form_field, width="14rem"),
                            align="center"),
                        spacing="2", width="100%")),
                    rx.cond(S.selected >= 0, _field_editor()),
                    rx.card(rx.vstack(
                        rx.heading("Actions on submit", size="4", as_="h2"),
                        rx.foreach(S.actions, _action_row),
                        rx.hstack(
                            rx.el.label("Add an action", html_for="add-action", style={"font_size": "var(--font-size-2)"}),
                            native_select(rx.el.option("Choose an action…", value=""),
                                          *[rx.el.option(a.label if a.available else f"{a.label} ({a.unavailable_reason})", value=a.key,
                                                         disabled=not a.available) for a in rules.ACTION_TYPES.values()],
                                          id="add-action", value="", on_change=S.add_action, width="16rem"),
                            align="center"),
                        spacing="2", width="100%")),
                    spacing="3", width="100%",
                ),
                rx.vstack(
                    rx.card(rx.vstack(
                        rx.heading("Preview", size="4", as_="h2"),
                        rx.box(rx.html(S.preview_html), role="region", aria_label="Form preview", width="100%"),
                        spacing="2", width="100%")),
                    rx.card(rx.vstack(
                        rx.heading("Embed", size="4", as_="h2"),
                        rx.text("Paste this where the form should appear on any site:", size="2"),
                        rx.el.pre(rx.el.code(S.embed_code), aria_label="Embed code",
                                  style={"white_space": "pre-wrap", "word_break": "break-all", "font_size": "0.8rem"}),
                        rx.cond(S.form_id > 0, rx.link("Open the form's own page", href="/form/" + S.form_id.to(str), is_external=True)),
                        spacing="2", width="100%")),
                    spacing="3", width="100%", position="sticky", top="1rem",
                ),
                columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%",
            ),
            spacing="3", width="100%",
        ),
    )
