"""One contact: fields, points, stage, owner, tags, notes, companies, do-not-contact, IPs, page visits, devices,
UTM tags, timeline, merge."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.widgets import confirm_dialog
from mautic_app.ui.layout import missing_record, template
from mautic_app.ui.pages.contact_detail.activity import activity_card
from mautic_app.ui.pages.contact_detail.details import details_card
from mautic_app.ui.pages.contact_detail.dnc import dnc_card, dnc_dialog, emails_card
from mautic_app.ui.pages.contact_detail.memberships import campaigns_card, companies_card, segments_card, tags_card
from mautic_app.ui.pages.contact_detail.merge import merge_dialog
from mautic_app.ui.pages.contact_detail.points_stage import points_stage_card
from mautic_app.ui.pages.contact_detail.state import ContactDetailState
from mautic_app.ui.pages.contact_detail.tracking import devices_card, ips_card, utm_card, visits_card

S = ContactDetailState


def _header() -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=S.initials, size="5", radius="full", aria_hidden="true"),
        rx.vstack(
            rx.hstack(
                rx.heading(S.name, size="6", as_="h1"),
                rx.cond(S.anonymous, rx.badge("Anonymous", color_scheme="gray")),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(S.email != "", rx.text(S.email, size="2", color=rx.color("gray", 11))),
            rx.cond(S.subtitle != "", rx.text(S.subtitle, size="2", color=rx.color("gray", 11))),
            rx.text("Added ", S.date_added, " · Last active ", S.last_active, size="1", color=rx.color("gray", 10)),
            spacing="1",
            min_width="0",
        ),
        rx.spacer(),
        rx.hstack(
            rx.button(rx.link(rx.icon("pencil", size=16), "Edit", href=S.edit_href, underline="none"), as_child=True),
            rx.button(rx.icon("merge", size=16), "Merge", variant="soft", on_click=S.open_merge),
            rx.button(rx.icon("trash-2", size=16), "Delete", variant="soft", color_scheme="red", on_click=S.open_delete),
            spacing="2",
        ),
        align="center",
        spacing="4",
        width="100%",
        wrap="wrap",
        margin_bottom="1rem",
    )


def _body() -> rx.Component:
    return rx.vstack(
        _header(),
        rx.grid(
            rx.vstack(
                details_card(),
                activity_card(),
                visits_card(),
                spacing="4",
                width="100%",
                min_width="0",
            ),
            rx.vstack(
                points_stage_card(),
                tags_card(),
                segments_card(),
                campaigns_card(),
                companies_card(),
                emails_card(),
                dnc_card(),
                ips_card(),
                devices_card(),
                utm_card(),
                spacing="4",
                width="100%",
                min_width="0",
            ),
            columns=rx.breakpoints(initial="1", lg="2fr 1fr"),
            spacing="4",
            width="100%",
            align_items="start",
        ),
        merge_dialog(),
        dnc_dialog(),
        confirm_dialog(
            open=S.delete_open,
            title="Delete contact",
            description="Delete " + S.name.to(str) + " and all of its history? This cannot be undone.",
            confirm_label="Delete contact",
            on_confirm=S.do_delete,
            on_cancel=S.close_delete,
            busy=S.busy,
        ),
        width="100%",
        spacing="0",
    )


@template(route=routes.CONTACT, title="Contact", on_load=ContactDetailState.load)
def contact_detail() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(
            S.missing,
            rx.vstack(
                rx.heading("Contact not found", size="6", as_="h1"),
                rx.cond(
                    S.merged_into > 0,
                    missing_record("This contact was merged into another one.", "Open the contact it was merged into",
                                   routes.contact(S.merged_into)),
                    missing_record("This contact does not exist (it may have been deleted).", "All contacts", routes.CONTACTS),
                ),
                spacing="3",
                width="100%",
            ),
            _body(),
        ),
        rx.center(rx.spinner(size="3"), width="100%", padding="4rem"),
    )
