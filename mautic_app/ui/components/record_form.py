"""The new / edit form of a record with custom fields (a contact, a company): its state mixin and its view.

The field registry makes the form: one card per field group, one control per field. What differs
between records is the side card (owner and stage and tags, or owner and score), how the record is
read and stored, and its words and addresses; a page's one State inherits ``(RecordForm, rx.State)``
and says those.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.domain.fields import FieldSpec
from mautic_app.ui.components.field_input import (
    GROUP_LABELS,
    FieldInput,
    describe_field,
    field_control,
    form_values,
    input_value,
    shared_datalists,
)
from mautic_app.ui.components.widgets import labelled, native_select, option_list
from mautic_app.ui.layout import RecordPage, missing_record, page_header
from mautic_app.ui.session import SessionState

CHECK_FIELDS = "Please correct the highlighted fields."


@dataclasses.dataclass
class FieldGroup:
    key: str = ""
    label: str = ""
    fields: list[FieldInput] = dataclasses.field(default_factory=list)


def form_fields(specs: Iterable[FieldSpec], row: dict[str, Any]) -> dict[str, Any]:
    """The form's field groups and the text each control starts with: the record's value, or the
    field's default for a new record (``row`` empty)."""
    specs = list(specs)
    described = [describe_field(s) for s in specs]
    groups = [FieldGroup(key=g, label=label, fields=[f for f in described if f.group == g]) for g, label in GROUP_LABELS.items()]
    return {
        "groups": [g for g in groups if g.fields],
        "values": {s.alias: input_value(s.type, row.get(s.alias) if row else s.default_value) for s in specs},
    }


class RecordForm(RecordPage, mixin=True):
    """A new or edit form: loads the record named by the path, then stores what was submitted.

    The page implements ``_read`` and ``_store`` (both run in a thread and use no var of the state),
    ``_side_values`` (the side card's submitted controls) and ``_href`` (a record's page).
    """

    # The record in a marketer's words: "New contact", "Contact saved."
    noun: ClassVar[str] = "record"
    new_route: ClassVar[str] = ""
    edit_route: ClassVar[str] = ""
    list_route: ClassVar[str] = ""
    # The side card's controls that can show an error, besides the custom fields.
    side_fields: ClassVar[tuple[str, ...]] = ()
    # The error the services raise for a value they refuse (``errors`` maps a field to its message).
    record_error: ClassVar[type[Exception]] = ValueError

    cid: int = 0
    loaded: bool = False
    name: str = ""
    groups: list[FieldGroup] = []
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    owner_id: str = ""
    owners: list[dict[str, str]] = []
    form_error: str = ""
    saving: bool = False
    form_key: int = 0

    @rx.var
    def heading(self) -> str:
        return f"Edit {self.name}" if self.cid else f"New {self.noun}"

    @rx.var
    def cancel_href(self) -> str:
        return self._href(self.cid) if self.cid else self.list_route

    def _href(self, record_id: int) -> str:
        raise NotImplementedError

    def _read(self, record_id: int | None) -> dict[str, Any] | None:
        """The form's vars for the record (``form_fields`` plus the side card's), None when it is gone."""
        raise NotImplementedError

    def _side_values(self, form: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        """The side card's submitted values for ``_store``; a value it refuses gets its message in ``errors``."""
        raise NotImplementedError

    def _store(self, record_id: int | None, values: dict[str, Any], side: dict[str, Any], user_id: int) -> int:
        """Create or update the record; its id."""
        raise NotImplementedError

    def _done(self) -> None:
        """Shown as loaded for this path (or known missing)."""
        self.loaded = True
        self._loaded_here()

    @rx.event
    async def load(self):
        path = self.router.url.path.rstrip("/")
        cid = 0 if path == self.new_route else (routes.id_in_path(path, self.edit_route) or -1)
        self.loaded, self.missing, self.form_error, self.saving = False, False, "", False
        yield
        if cid < 0:
            self.missing = True
            self._done()
            return
        data = await rx.run_in_thread(lambda: self._read(cid or None))
        self.cid = cid
        if data is None:
            self.missing = True
            self._done()
            return
        for key, value in data.items():
            setattr(self, key, value)
        self.errors = {alias: "" for alias in self.values} | {key: "" for key in self.side_fields}
        self.form_key += 1
        self._done()

    @rx.event
    async def save(self, form: rx.form.FormData):
        if self.saving:
            return
        values = form_values([f for g in self.groups for f in g.fields], form, self.values)
        errors = {k: "" for k in self.errors}
        side = self._side_values(form, errors)
        if any(errors.values()):
            self.errors, self.form_error = errors, CHECK_FIELDS
            return
        cid, user_id = self.cid or None, (await self.get_state(SessionState)).user_id
        self.saving = True
        yield
        try:
            saved = await rx.run_in_thread(lambda: self._store(cid, values, side, user_id))
        except self.record_error as exc:
            refused: dict[str, Any] = getattr(exc, "errors", {})
            self.saving = False
            self.form_error = " ".join(str(v) for k, v in refused.items() if k not in errors) or CHECK_FIELDS
            self.errors = errors | {k: str(v) for k, v in refused.items()}
            return
        # Not loaded any more: the next visit to this form waits for its own load instead of showing
        # this one's values (Reflex keeps a tab's state between pages), where typing would be lost.
        self.saving, self.loaded = False, False
        self.form_error = ""
        yield rx.toast.success(f"{self.noun.capitalize()} saved.")
        yield rx.redirect(self._href(saved))


# ---------------------------------------------------------------- view


def _group_card(S: type[RecordForm], group: rx.Var) -> rx.Component:
    return rx.card(
        rx.el.fieldset(
            rx.el.legend(rx.heading(group.label, size="3", as_="span"), style={"padding": "0", "margin_bottom": "var(--space-3)"}),
            rx.grid(
                rx.foreach(group.fields, lambda f: field_control(f, S.values, S.errors)),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            style={"border": "none", "padding": "0", "margin": "0", "min_width": "0"},
        ),
        width="100%",
    )


def _form(S: type[RecordForm], side_card: rx.Component) -> rx.Component:
    return rx.form(
        rx.grid(
            rx.vstack(rx.foreach(S.groups, lambda g: _group_card(S, g)), spacing="4", width="100%", min_width="0"),
            rx.vstack(
                side_card,
                rx.cond(S.form_error != "",
                        rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%")),
                rx.hstack(
                    rx.button(rx.icon("save", size=16), "Save", type="submit", loading=S.saving),
                    rx.button(rx.link("Cancel", href=S.cancel_href, underline="none"), as_child=True, variant="soft",
                              color_scheme="gray"),
                    spacing="3",
                ),
                spacing="4",
                width="100%",
                position=rx.breakpoints(initial="static", lg="sticky"),
                top="5rem",
            ),
            columns=rx.breakpoints(initial="1", lg="3fr 1fr"),
            spacing="4",
            width="100%",
            align_items="start",
        ),
        shared_datalists(),
        on_submit=S.save,
        no_validate=True,
        key=S.form_key,
        aria_label=S.heading,
        width="100%",
    )


def side_card(S: type[RecordForm], title: str, id_prefix: str, *controls: rx.Component) -> rx.Component:
    """The card beside the fields: ``title``, the owner picker (its id ``<id_prefix>-owner``), then ``controls``."""
    return rx.card(
        rx.vstack(
            rx.heading(title, size="3", as_="h2"),
            labelled(
                "Owner",
                native_select(*option_list(S.owners, blank="No owner"), id=f"{id_prefix}-owner", name="owner_id",
                              default_value=S.owner_id),
                f"{id_prefix}-owner",
                error=S.errors["owner"],
            ),
            *controls,
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def record_form_page(S: type[RecordForm], side_card: Callable[[], rx.Component], missing: str, back_label: str,
                     back_href: str) -> rx.Component:
    """The form under its heading: a spinner until loaded, ``missing`` and the way back when the record does not exist."""
    return rx.vstack(
        page_header(S.heading),
        rx.cond(
            S.loaded,
            rx.cond(S.missing, missing_record(missing, back_label, back_href), _form(S, side_card())),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        width="100%",
        spacing="2",
    )
