"""The company page's Contacts card: the linked contacts a page at a time, and a search to link more."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.detail_parts import name_and_email
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, plain_header, section
from mautic_app.ui.pages.company_detail.state import CompanyState

S = CompanyState


def _contact_row(row: rx.Var) -> rx.Component:
    name = row["name"].to(str)
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.link(row["name"], href=routes.contact(row["id"]), weight="medium"),
                rx.cond(row["primary"] == "1", rx.badge("Primary company", variant="soft", color_scheme="green")),
                align="center",
                spacing="2",
            ),
        ),
        rx.table.cell(row["email"]),
        rx.table.cell(row["points"]),
        rx.table.cell(
            rx.button(rx.icon("unlink", size=14), "Unlink", size="1", variant="soft", color_scheme="gray",
                      aria_label="Unlink " + name, on_click=S.unlink(row["id"])),
            text_align="right",
        ),
    )


def _link_result(row: rx.Var) -> rx.Component:
    name = row["name"].to(str)
    return rx.hstack(
        name_and_email(row),
        rx.spacer(),
        rx.cond(
            row["linked"] == "1",
            rx.badge("Linked", color_scheme="green", variant="soft"),
            rx.button(rx.icon("link", size=14), "Link", size="1", aria_label="Link " + name,
                      on_click=S.link(row["id"])),
        ),
        align="center",
        width="100%",
        padding_y="0.35rem",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        role="listitem",
    )


def _link_box() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.el.label("Link a contact", html_for="link-contact-search", style=VISUALLY_HIDDEN),
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    id="link-contact-search",
                    name="link_q",
                    value=S.link_query,
                    on_change=S.set_link_query,
                    placeholder="Find a contact by e-mail or name…",
                    width="100%",
                    aria_describedby=rx.cond(S.link_error != "", "link-contact-search-error", ""),
                ),
                rx.button("Find", type="submit", variant="soft", loading=S.link_busy),
                align="center",
                spacing="2",
                width="100%",
            ),
            on_submit=S.search_contacts,
            role="search",
            aria_label="Find contacts to link",
            width="100%",
            max_width="32rem",
        ),
        rx.cond(S.link_error != "",
                rx.text(S.link_error, id="link-contact-search-error", color=rx.color("red", 11), size="1", role="alert")),
        rx.cond(
            S.link_searched,
            rx.cond(
                S.link_results.length() > 0,
                rx.box(rx.foreach(S.link_results, _link_result), role="list", aria_label="Matching contacts", width="100%",
                       max_width="32rem"),
                rx.text("No contact matches.", size="2", color=rx.color("gray", 10)),
            ),
        ),
        spacing="2",
        width="100%",
    )


def contacts_card() -> rx.Component:
    return section(
        "Contacts",
        _link_box(),
        rx.cond(
            S.contacts_total > 0,
            rx.vstack(
                rx.box(
                    rx.table.root(
                        rx.el.caption("Linked contacts", style=VISUALLY_HIDDEN),
                        rx.table.header(
                            rx.table.row(
                                plain_header("Name"),
                                plain_header("Email"),
                                plain_header("Points"),
                                rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN)),
                            ),
                        ),
                        rx.table.body(rx.foreach(S.contacts, _contact_row)),
                        variant="ghost",
                        size="1",
                        width="100%",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.hstack(
                    rx.text(S.contacts_label, size="2", color=rx.color("gray", 11)),
                    rx.spacer(),
                    rx.text(f"Page {S.contacts_page} of {S.contact_pages}", size="2", color=rx.color("gray", 11),
                            aria_live="polite"),
                    rx.icon_button(rx.icon("chevron-left", size=16), on_click=S.prev_contacts, disabled=S.contacts_page <= 1,
                                   variant="soft", aria_label="Previous contacts"),
                    rx.icon_button(rx.icon("chevron-right", size=16), on_click=S.next_contacts,
                                   disabled=S.contacts_page >= S.contact_pages, variant="soft", aria_label="Next contacts"),
                    align="center",
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                spacing="2",
            ),
            rx.text("No contacts are linked to this company yet.", size="2", color=rx.color("gray", 10)),
        ),
        heading_id="company-contacts-heading",
    )

