"""The company page: its header (edit, delete), the Details and Contacts cards beside the Summary."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.widgets import confirm_dialog
from mautic_app.ui.layout import missing_record, page_header, template
from mautic_app.ui.pages.company_detail.details import details_card, summary_card
from mautic_app.ui.pages.company_detail.linked_contacts import contacts_card
from mautic_app.ui.pages.company_detail.state import CompanyState

S = CompanyState


def _content() -> rx.Component:
    return rx.vstack(
        page_header(
            S.name,
            rx.button(rx.link(rx.icon("pencil", size=16), "Edit", href=S.edit_href, underline="none"), as_child=True,
                      variant="soft"),
            rx.button(rx.icon("trash-2", size=16), "Delete", color_scheme="red", variant="soft", on_click=S.ask_delete),
        ),
        rx.grid(
            rx.vstack(details_card(), contacts_card(), spacing="4", width="100%", min_width="0"),
            summary_card(),
            columns=rx.breakpoints(initial="1", lg="3fr 1fr"),
            spacing="4",
            width="100%",
            align_items="start",
        ),
        confirm_dialog(
            open=S.delete_open,
            title="Delete company",
            description="Delete the company “" + S.name + "”? Its contacts stay, without this company. This cannot be undone.",
            confirm_label="Delete",
            on_confirm=S.confirm_delete,
            on_cancel=S.cancel_delete,
            busy=S.deleting,
        ),
        width="100%",
        spacing="2",
    )


@template(route=routes.COMPANY, title="Company", on_load=CompanyState.load)
def company_page() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Companies", size="2"), align="center", spacing="1"),
                href=routes.COMPANIES, underline="none", color_scheme="gray"),
        rx.cond(
            S.loaded,
            rx.cond(
                S.missing,
                missing_record("This company does not exist (it may have been deleted).", "All companies", routes.COMPANIES),
                _content(),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        width="100%",
        spacing="3",
    )
