"""A settings-style list: rows created and edited in one dialog form, deleted after a confirmation.

Stages, point actions, point triggers, point groups, users and custom fields are such pages. Their
State inherits ``(ListDialog, rx.State)`` (or ``(ListDialog, PagedList, rx.State)`` for a paged,
searchable list), names a blank record in ``blank`` (the draft keys a row is edited through) and the
keys the dialog shows errors for in ``form_keys``, and writes its ``save`` handler: read the form,
keep what was typed in ``draft``, then hand the service call to ``_submit``. The view builds its
dialog with :func:`record_dialog` and its text inputs with :func:`dialog_input`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ClassVar

import reflex as rx

from mautic_app.ui.components.paged_list import DeleteConfirm, capitalised
from mautic_app.ui.components.widgets import WHEN_TEXT, labelled


class ListDialog(DeleteConfirm, mixin=True):
    """The dialog's state: which row it edits (0 for a new one), what it shows, its errors."""

    # The draft a new record starts from; an existing row is edited through the same keys.
    blank: ClassVar[dict[str, str]] = {}
    # The keys the dialog has an error slot for ("id" holds what belongs to no one field).
    form_keys: ClassVar[tuple[str, ...]] = ("id",)
    saved_message: ClassVar[str] = "{Noun} “{name}” saved."

    editing: bool = False
    edit_id: int = 0
    draft: dict[str, str] = {}
    errors: dict[str, str] = {}
    saving: bool = False
    # A new key remounts the form, so its uncontrolled inputs start from the new draft.
    form_key: int = 0

    @rx.var
    def dialog_title(self) -> str:
        return f"Edit {self.noun}" if self.edit_id else f"New {self.noun}"

    def _closed(self) -> None:
        self.delete_id = 0
        self.editing = False

    def _open_dialog(self, edit_id: int, draft: dict[str, str]) -> None:
        self.edit_id, self.draft = edit_id, draft
        self.errors = dict.fromkeys(self.form_keys, "")
        self.form_key += 1
        self.editing = True

    def _show_errors(self, errors: Mapping[str, Any]) -> None:
        self.errors = dict.fromkeys(self.form_keys, "") | {k: str(v) for k, v in errors.items() if k in self.form_keys}

    @rx.event
    def open_new(self):
        self._open_dialog(0, dict(self.blank))

    @rx.event
    def open_edit(self, row_id: str):
        row = next((r for r in self.rows if r["id"] == row_id), None)
        if row is not None:
            self._open_dialog(int(row_id), {k: row[k] for k in self.blank})

    @rx.event
    def close_dialog(self, _open: bool = False):
        if not self.saving:
            self.editing = False

    async def _submit(self, write: Callable[[], str]) -> AsyncIterator[Any]:
        """Run ``write`` (the service call; it returns the saved record's name) off the event loop.

        A refusal (``refusal``) shows its errors in the dialog; a save closes it, reloads the rows and
        says so. The page's ``save`` yields what this yields.
        """
        self.saving = True
        yield
        try:
            name = await rx.run_in_thread(write)
        except self.refusal as exc:
            self.saving = False
            self._show_errors(exc.errors)  # type: ignore[attr-defined]
            return
        self.saving, self.editing = False, False
        await self._reload()
        yield rx.toast.success(self.saved_message.format(Noun=capitalised(self.noun), name=name))


# ---------------------------------------------------------------- view


def dialog_input(S: type[ListDialog], label: str, key: str, control_id: str, *, required: bool = False,
                 hint: str | None = None, text_area: bool = False, **props: Any) -> rx.Component:
    """A labelled text input (or area) named ``key``, starting from the draft, with its error below it."""
    error = S.errors[key]
    aria: dict[str, Any] = {"aria_invalid": error != "", "aria_describedby": rx.cond(error != "", f"{control_id}-error", "")}
    if required:
        aria["aria_required"] = True
    control = rx.text_area if text_area else rx.input
    return labelled(
        label,
        control(id=control_id, name=key, **({"default_value": S.draft[key], "width": "100%"} | aria | props)),
        control_id,
        required=required,
        error=error,
        hint=hint,
    )


def _problems(S: type[ListDialog], keys: tuple[str, ...]) -> rx.Component:
    """The errors that belong to no one field, in a callout."""
    shown = [S.errors[k] for k in keys]
    text = shown[0]
    for more in shown[1:]:
        text = text + " " + more
    any_shown = shown[0] != ""
    for more in shown[1:]:
        any_shown = any_shown | (more != "")
    return rx.cond(any_shown, rx.callout(text, color_scheme="red", role="alert", width="100%"))


def _buttons(S: type[ListDialog]) -> rx.Component:
    cancel = rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.close_dialog(False))
    return rx.hstack(cancel, rx.button("Save", type="submit", loading=S.saving), justify="end", spacing="3", width="100%")


def publish_window(S: type[ListDialog], id_prefix: str) -> list[rx.Component]:
    """When a record is in use: from and until (UTC, either may be blank), named publish_up and publish_down."""
    return [
        dialog_input(S, "Publish from (UTC)", "publish_up", f"{id_prefix}-publish-up", **WHEN_TEXT),
        dialog_input(S, "Publish until (UTC)", "publish_down", f"{id_prefix}-publish-down", **WHEN_TEXT),
    ]


def record_dialog(S: type[ListDialog], description: str | rx.Component, *controls: rx.Component,
                  problems: tuple[str, ...] = ("id",), max_width: str = "32rem", **form_props: Any) -> rx.Component:
    """The create / edit dialog: its title, ``description``, the form's ``controls``, the errors of ``problems``
    and Cancel / Save. The form is named after the dialog and submits to ``S.save``."""
    if isinstance(description, str):
        description = rx.dialog.description(description, size="2", color=rx.color("gray", 11), margin_bottom="1rem")
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.dialog_title),
            description,
            rx.form(
                rx.vstack(*controls, _problems(S, problems), _buttons(S), spacing="4", width="100%"),
                on_submit=S.save,
                no_validate=True,
                key=S.form_key,
                aria_label=S.dialog_title,
                **form_props,
            ),
            max_width=max_width,
        ),
        open=S.editing,
        on_open_change=S.close_dialog,
    )


def new_button(S: type[ListDialog], label: str, icon: str = "plus") -> rx.Component:
    """Opens the dialog on a blank record."""
    return rx.button(rx.icon(icon, size=16), label, on_click=S.open_new)
