"""New and edit contact: a form generated from the field registry, grouped like Mautic's."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import contacts
from mautic_app.services import fields as field_service
from mautic_app.ui.components.contact_data import display_name, id_from_path, owner_options, parse_id, stage_options
from mautic_app.ui.components.field_input import (
    GROUP_LABELS,
    NOT_EDITABLE,
    FieldInput,
    describe_field,
    field_control,
    form_values,
    input_value,
    shared_datalists,
)
from mautic_app.ui.components.widgets import labelled, native_select, option_list
from mautic_app.ui.layout import RecordPage, page_header, template
from mautic_app.ui.session import SessionState


@dataclasses.dataclass
class FieldGroup:
    key: str = ""
    label: str = ""
    fields: list[FieldInput] = dataclasses.field(default_factory=list)


def _load(contact_id: int | None) -> dict[str, Any] | None:
    with session_scope() as session:
        specs = [s for s in field_service.specs(session=session, obj="contact") if s.is_visible and s.alias not in NOT_EDITABLE]
        row: dict[str, Any] = {}
        tags: list[str] = []
        if contact_id:
            row = contacts.read(session=session, contact_id=contact_id) or {}
            if not row:
                return None
            tags = contacts.tags_of(session=session, ids=[contact_id])[contact_id]
        fields = [describe_field(s) for s in specs]
        groups = [
            FieldGroup(key=g, label=label, fields=[f for f in fields if f.group == g])
            for g, label in GROUP_LABELS.items()
        ]
        return {
            "groups": [g for g in groups if g.fields],
            "values": {s.alias: input_value(s.type, row.get(s.alias)) if row else input_value(s.type, s.default_value) for s in specs},
            "owner_id": str(row.get("owner_id") or ""),
            "stage_id": str(row.get("stage_id") or ""),
            "tags": ", ".join(tags),
            "name": display_name(row) if row else "",
            "owners": owner_options(session),
            "stages": stage_options(session),
        }


def _save(contact_id: int | None, values: dict[str, Any], owner_id: int | None, stage_id: int | None,
          tags: list[str], user_id: int) -> int:
    with session_scope() as session:
        if not contact_id:
            new_id, _ = contacts.create(session=session, values=values, user_id=user_id, owner_id=owner_id,
                                        stage_id=stage_id, tags=tags)
            return new_id
        current = contacts.read(session=session, contact_id=contact_id)
        if current is None:
            raise contacts.ContactError({"id": "This contact no longer exists."}, status=404)
        contacts.update(session=session, contact_id=contact_id, values=values, user_id=user_id,
                        overwrite_with_blank=True, check_required=True)
        if (current.get("owner_id") or None) != owner_id:
            contacts.set_owner(session=session, contact_ids=[contact_id], owner_id=owner_id, user_id=user_id)
        if (current.get("stage_id") or None) != stage_id:
            contacts.set_stage(session=session, contact_ids=[contact_id], stage_id=stage_id, user_id=user_id)
        before = {t.lower(): t for t in contacts.tags_of(session=session, ids=[contact_id])[contact_id]}
        after = {t.lower(): t for t in tags}
        changes = [after[k] for k in after if k not in before] + ["-" + before[k] for k in before if k not in after]
        if changes:
            contacts.modify_tags(session=session, contact_ids=[contact_id], tags=changes, user_id=user_id)
        return contact_id


def split_tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in str(text or "").replace("|", ",").split(",") if t.strip()))


class ContactFormState(RecordPage, rx.State):
    cid: int = 0
    loaded: bool = False
    missing: bool = False
    name: str = ""
    groups: list[FieldGroup] = []
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    owner_id: str = ""
    stage_id: str = ""
    tags: str = ""
    owners: list[dict[str, str]] = []
    stages: list[dict[str, str]] = []
    form_error: str = ""
    saving: bool = False
    form_key: int = 0

    @rx.var
    def heading(self) -> str:
        return f"Edit {self.name}" if self.cid else "New contact"

    @rx.var
    def cancel_href(self) -> str:
        return f"/contacts/{self.cid}" if self.cid else "/contacts"

    @rx.event
    async def load(self):
        path = self.router.url.path.rstrip("/")
        cid = 0 if path.endswith("/new") else (id_from_path(path) or -1)
        self.loaded, self.missing, self.form_error, self.saving = False, False, "", False
        yield
        if cid < 0:
            self.missing, self.loaded = True, True
            self._loaded_here()
            return
        data = await rx.run_in_thread(lambda: _load(cid or None))
        self.cid = cid
        if data is None:
            self.missing, self.loaded = True, True
            self._loaded_here()
            return
        self.groups = data["groups"]
        self.values = data["values"]
        self.errors = {alias: "" for alias in data["values"]} | {"owner": "", "stage": "", "tags": ""}
        self.owner_id, self.stage_id, self.tags = data["owner_id"], data["stage_id"], data["tags"]
        self.owners, self.stages, self.name = data["owners"], data["stages"], data["name"]
        self.form_key += 1
        self.loaded = True
        self._loaded_here()

    @rx.event
    async def save(self, form: rx.form.FormData):
        if self.saving:
            return
        fields = [f for g in self.groups for f in g.fields]
        values = form_values(fields, form, self.values)
        owner_id, stage_id = parse_id(form.get("owner_id")), parse_id(form.get("stage_id"))
        tags = split_tags(str(form.get("tags", "")))
        cid, user_id = self.cid or None, (await self.get_state(SessionState)).user_id
        self.saving = True
        yield
        try:
            saved = await rx.run_in_thread(lambda: _save(cid, values, owner_id, stage_id, tags, user_id))
        except contacts.ContactError as exc:
            self.saving = False
            self.errors = {k: "" for k in self.errors} | {k: v for k, v in exc.errors.items()}
            unknown = [v for k, v in exc.errors.items() if k not in self.values and k not in ("owner", "stage", "tags")]
            self.form_error = " ".join(unknown) or "Please correct the highlighted fields."
            return
        # Not loaded any more: the next visit to this form waits for its own load instead of showing
        # this one's values (Reflex keeps a tab's state between pages), where typing would be lost.
        self.saving, self.loaded = False, False
        self.form_error = ""
        yield rx.toast.success("Contact saved.")
        yield rx.redirect(f"/contacts/{saved}")


def _group_card(group: rx.Var) -> rx.Component:
    return rx.card(
        rx.el.fieldset(
            rx.el.legend(
                rx.heading(group.label, size="3", as_="span"),
                style={"padding": "0", "margin_bottom": "var(--space-3)"},
            ),
            rx.grid(
                rx.foreach(group.fields, lambda f: field_control(f, ContactFormState.values, ContactFormState.errors)),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            style={"border": "none", "padding": "0", "margin": "0", "min_width": "0"},
        ),
        width="100%",
    )


def _side_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Ownership and tags", size="3", as_="h2"),
            labelled(
                "Owner",
                native_select(*option_list(ContactFormState.owners, blank="No owner"), id="contact-owner", name="owner_id",
                              default_value=ContactFormState.owner_id),
                "contact-owner",
                error=ContactFormState.errors["owner"],
            ),
            labelled(
                "Stage",
                native_select(*option_list(ContactFormState.stages, blank="No stage"), id="contact-stage", name="stage_id",
                              default_value=ContactFormState.stage_id),
                "contact-stage",
                error=ContactFormState.errors["stage"],
            ),
            labelled(
                "Tags",
                rx.input(id="contact-tags", name="tags", default_value=ContactFormState.tags, placeholder="newsletter, vip",
                         width="100%", aria_describedby="contact-tags-hint"),
                "contact-tags",
                error=ContactFormState.errors["tags"],
            ),
            rx.text("Separate tags with commas.", id="contact-tags-hint", size="1", color=rx.color("gray", 10)),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def _form() -> rx.Component:
    return rx.form(
        rx.grid(
            rx.vstack(
                rx.foreach(ContactFormState.groups, _group_card),
                spacing="4",
                width="100%",
                min_width="0",
            ),
            rx.vstack(
                _side_card(),
                rx.cond(
                    ContactFormState.form_error != "",
                    rx.callout(ContactFormState.form_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
                ),
                rx.hstack(
                    rx.button(rx.icon("save", size=16), "Save", type="submit", loading=ContactFormState.saving),
                    rx.button(rx.link("Cancel", href=ContactFormState.cancel_href, underline="none"), as_child=True,
                              variant="soft", color_scheme="gray"),
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
        on_submit=ContactFormState.save,
        no_validate=True,
        key=ContactFormState.form_key,
        aria_label=ContactFormState.heading,
        width="100%",
    )


def _page() -> rx.Component:
    return rx.vstack(
        page_header(ContactFormState.heading),
        rx.cond(
            ContactFormState.loaded,
            rx.cond(
                ContactFormState.missing,
                rx.callout("This contact does not exist (it may have been deleted or merged).", icon="info", role="alert"),
                _form(),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        width="100%",
        spacing="2",
    )


@template(route="/contacts/new", title="New contact", on_load=ContactFormState.load)
def new_contact() -> rx.Component:
    return _page()


@template(route="/contacts/[contact_id]/edit", title="Edit contact", on_load=ContactFormState.load)
def edit_contact() -> rx.Component:
    return _page()
