"""The contacts list page: actions (import, export, new), the toolbar, the count, the bulk actions and the table."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.widgets import confirm_dialog, pager
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.pages.contacts.bulk import bulk_bar, bulk_dialog
from mautic_app.ui.pages.contacts.state import PAGE_SIZES, ContactsState
from mautic_app.ui.pages.contacts.table import contacts_table
from mautic_app.ui.pages.contacts.toolbar import toolbar

S = ContactsState


@template(route=routes.CONTACTS, title="Contacts", on_load=ContactsState.load)
def contacts_page() -> rx.Component:
    return rx.vstack(
        page_header(
            "Contacts",
            rx.button(rx.link(rx.icon("upload", size=16), "Import", href=routes.IMPORTS, underline="none"),
                      as_child=True, variant="soft", color_scheme="gray"),
            rx.button(rx.el.a(rx.icon("download", size=16), "Export CSV", href=S.export_href),
                      as_child=True, variant="soft", color_scheme="gray"),
            rx.button(rx.link(rx.icon("plus", size=16), "New contact", href=routes.CONTACT_NEW, underline="none"), as_child=True),
        ),
        toolbar(),
        rx.cond(
            S.error == "",
            rx.hstack(
                rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status", aria_live="polite"),
                rx.cond(S.search != "",
                        rx.text("matching ", rx.code(S.search), size="2", color=rx.color("gray", 11))),
                rx.cond(S.anonymous_left_out,
                        rx.text("· anonymous visitors are left out (", rx.link("see them", href=routes.contacts_search("is:anonymous")),
                                ")", size="2", color=rx.color("gray", 11))),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
        ),
        rx.cond(
            S.error != "",
            rx.callout(S.error, icon="triangle-alert", color_scheme="amber", role="alert", width="100%"),
        ),
        bulk_bar(),
        rx.cond(
            S.loaded,
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(
                    contacts_table(),
                    pager(S.page, S.pages, ~S.capped, S.prev_page,
                          S.next_page, S.page_size, S.set_page_size, PAGE_SIZES),
                    width="100%",
                    spacing="0",
                ),
                rx.cond(
                    S.error == "",
                    rx.center(rx.text("No contacts match.", color=rx.color("gray", 10)), width="100%", padding="3rem"),
                ),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        bulk_dialog(),
        confirm_dialog(
            open=S.delete_open,
            title="Delete contacts",
            description=f"Delete {S.selected_count} selected contact(s)? This cannot be undone.",
            confirm_label="Delete",
            on_confirm=S.run_bulk,
            on_cancel=S.close_bulk,
            busy=S.bulk_busy,
        ),
        spacing="3",
        width="100%",
    )
