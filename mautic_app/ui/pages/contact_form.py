"""New and edit contact: a form generated from the field registry, grouped like Mautic's."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import contacts
from mautic_app.services import fields as field_service
from mautic_app.ui.components.contact_data import display_name, parse_id, split_tags
from mautic_app.ui.components.field_input import NOT_EDITABLE
from mautic_app.ui.components.record_form import RecordForm, form_fields, record_form_page, side_card
from mautic_app.ui.components.widgets import labelled, native_select, option_list, tag_input
from mautic_app.ui.layout import template


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
        return form_fields(specs, row) | {
            "owner_id": str(row.get("owner_id") or ""),
            "stage_id": str(row.get("stage_id") or ""),
            "tags": ", ".join(tags),
            "name": display_name(row) if row else "",
            "owners": contacts.owner_options(session=session),
            "stages": contacts.stage_options(session=session),
            "known_tags": contacts.tag_names(session=session),
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


class ContactFormState(RecordForm, rx.State):
    noun: ClassVar[str] = "contact"
    new_route: ClassVar[str] = routes.CONTACT_NEW
    edit_route: ClassVar[str] = routes.CONTACT_EDIT
    list_route: ClassVar[str] = routes.CONTACTS
    side_fields: ClassVar[tuple[str, ...]] = ("owner", "stage", "tags")
    record_error: ClassVar[type[Exception]] = contacts.ContactError

    stage_id: str = ""
    tags: str = ""
    known_tags: list[str] = []
    stages: list[dict[str, str]] = []

    def _href(self, record_id: int) -> str:
        return routes.contact(record_id)

    def _read(self, record_id: int | None) -> dict[str, Any] | None:
        return _load(record_id)

    def _side_values(self, form: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        return {"owner_id": parse_id(form.get("owner_id")), "stage_id": parse_id(form.get("stage_id")),
                "tags": split_tags(str(form.get("tags", "")))}

    def _store(self, record_id: int | None, values: dict[str, Any], side: dict[str, Any], user_id: int) -> int:
        return _save(record_id, values, side["owner_id"], side["stage_id"], side["tags"], user_id)


def _side_card() -> rx.Component:
    S = ContactFormState
    return side_card(
        S,
        "Ownership and tags",
        "contact",
        labelled(
            "Stage",
            native_select(*option_list(S.stages, blank="No stage"), id="contact-stage", name="stage_id",
                          default_value=S.stage_id),
            "contact-stage",
            error=S.errors["stage"],
        ),
        labelled(
            "Tags",
            tag_input(S.known_tags, id="contact-tags", name="tags", default_value=S.tags, placeholder="newsletter, vip",
                     width="100%", aria_describedby="contact-tags-hint"),
            "contact-tags",
            error=S.errors["tags"],
        ),
        rx.text("Separate tags with commas.", id="contact-tags-hint", size="1", color=rx.color("gray", 10)),
    )


def _page() -> rx.Component:
    return record_form_page(ContactFormState, _side_card, "This contact does not exist (it may have been deleted or merged).",
                            "All contacts", routes.CONTACTS)


@template(route=routes.CONTACT_NEW, title="New contact", on_load=ContactFormState.load)
def new_contact() -> rx.Component:
    return _page()


@template(route=routes.CONTACT_EDIT, title="Edit contact", on_load=ContactFormState.load)
def edit_contact() -> rx.Component:
    return _page()
