"""The form editor's state: settings, the field rows (one edited at a time, dragged or moved into
order) and the submit actions, with the preview re-rendered on every change."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.domain import forms as rules
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.pages.form_edit import data
from mautic_app.ui.pages.form_edit.data import ACTION_KEYS, FIELD_KEYS, SETTINGS
from mautic_app.ui.session import SessionState

# The selected field's editor comes into view with its label chosen, ready to be typed over (after the render).
EDIT_LABEL = rx.call_script("setTimeout(() => { const e = document.getElementById('field-label');"
                            " if (e) { e.scrollIntoView({block: 'center'}); e.focus({preventScroll: true}); e.select(); } }, 60)")


def _as_text(value: str | bool) -> str:
    """A control's value as the rows hold it: a checkbox's as "1" or ""."""
    return data.flag(value) if isinstance(value, bool) else str(value)


class FormEditState(RecordPage, rx.State):
    form_id: int = 0  # 0 while new
    settings: dict[str, str] = dict(SETTINGS)
    fields: list[dict[str, str]] = []
    actions: list[dict[str, str]] = []
    selected: int = -1
    dragging: int = -1  # the field being dragged, while a drag lasts
    errors: dict[str, str] = {}
    preview_html: str = ""
    manual_html: str = ""  # the saved form's, as Embed offers it
    saved_name: str = ""
    mapping: list[dict[str, str]] = []
    segment_choices: list[dict[str, str]] = []
    email_choices: list[dict[str, str]] = []
    user_choices: list[dict[str, str]] = []
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
        return f'<script type="text/javascript" src="{self.origin}/form/generate.js?id={self.form_id}"></script>'

    @rx.var
    def iframe_code(self) -> str:
        return rules.iframe_code(src=f"{self.origin}{routes.form_public(self.form_id)}", title=self.saved_name)

    @rx.var
    def parent_choices(self) -> list[dict[str, str]]:
        me = self.field.get("alias", "")
        return [{"value": f["alias"], "label": f["label"]} for f in self.fields
                if f["alias"] != me and rules.FIELD_TYPES.get(f["type"], rules.FIELD_TYPES["freetext"]).stores_value]

    def _refresh(self) -> None:
        self.preview_html = data.preview(self.settings, self.fields)

    @rx.event
    async def load(self):
        self.origin = self.router.url.origin
        choices = await rx.run_in_thread(data.choices)
        self.mapping, self.segment_choices, self.email_choices = choices["mapping"], choices["segments"], choices["emails"]
        self.user_choices = choices["users"]
        self.errors, self.selected, self.missing = {}, -1, False
        form_id = routes.id_in_path(self.router.url.path, routes.FORM)
        if form_id is None:
            self.form_id, self.settings, self.actions = 0, dict(SETTINGS), []
            self.fields = data.new_form_fields()
        else:
            saved = await rx.run_in_thread(lambda: data.read(form_id, self.origin))
            if saved is None:
                self.missing = True
                self._loaded_here()
                return
            self.form_id, self.settings, self.fields, self.actions = form_id, saved["settings"], saved["fields"], saved["actions"]
            self.manual_html, self.saved_name = saved["manual"], saved["settings"]["name"]
        self._refresh()
        self._loaded_here()

    @rx.event
    def set_setting(self, key: str, value: str | bool):
        self.settings = self.settings | {key: _as_text(value)}
        self._refresh()

    # ------------------------------------------------------------ fields

    @rx.event
    def add_form_field(self, kind: str):
        if kind not in rules.FIELD_TYPES:
            return
        at = len(self.fields) - (1 if self.fields and self.fields[-1]["type"] == "button" else 0)
        self.fields = self.fields[:at] + [data.blank_field(kind, [f["alias"] for f in self.fields])] + self.fields[at:]
        self.selected = at
        self._refresh()
        return EDIT_LABEL

    @rx.event
    def select_form_field(self, index: int):
        self.selected = index if self.selected != index else -1
        if self.selected >= 0:
            return EDIT_LABEL

    @rx.event
    def set_form_field(self, key: str, value: str | bool):
        if not 0 <= self.selected < len(self.fields) or key not in FIELD_KEYS or key == "id":
            return
        rows = list(self.fields)
        rows[self.selected] = data.change_field(rows[self.selected], key, _as_text(value),
                                                [f["alias"] for i, f in enumerate(rows) if i != self.selected])
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

    # ------------------------------------------------------------ actions

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

    # ------------------------------------------------------------ saving

    @rx.event
    async def save(self):
        if self.saving:
            return
        user_id = (await self.get_state(SessionState)).user_id
        self.saving = True
        yield
        form_id, settings, rows, actions = self.form_id or None, dict(self.settings), list(self.fields), list(self.actions)
        new_id, errors = await rx.run_in_thread(lambda: data.save(form_id, settings, rows, actions, user_id))
        self.saving = False
        self.errors = errors
        if errors:
            yield rx.toast.error("The form was not saved: see the messages.")
            return
        yield rx.toast.success("Form saved.")
        if not self.form_id:
            yield rx.redirect(routes.form(new_id))
            return
        # The saved rows (new fields now have ids, so their aliases stay put) and the embed code made from them.
        here = self.form_id
        saved = await rx.run_in_thread(lambda: data.read(here, self.origin))
        if saved is not None:
            self.fields, self.actions = saved["fields"], saved["actions"]
            self.manual_html, self.saved_name = saved["manual"], saved["settings"]["name"]
            self._refresh()
