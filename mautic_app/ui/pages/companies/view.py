"""The companies list page: search, the table with its sortable columns and row actions, the delete confirmation."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.address_search import column_headers
from mautic_app.ui.components.paged_list import delete_confirmation, list_body, row_actions, search_form
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, sort_header
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.pages.companies.state import CompaniesState

S = CompaniesState


def _list_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(row["name"], href=routes.company(row["id"]), weight="medium"),
            max_width="20rem",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
        ),
        rx.foreach(
            S.columns,
            lambda c: rx.table.cell(row[c["key"]], max_width="16rem", overflow="hidden", text_overflow="ellipsis",
                                    white_space="nowrap"),
        ),
        rx.table.cell(row_actions(S, row, edit=rx.icon_button(
            rx.link(rx.icon("pencil", size=14), href=routes.company_edit(row["id"]),
                    aria_label="Edit " + row["name"].to(str), color="inherit"),
            as_child=True, size="1", variant="soft",
        ))),
        _hover={"background": rx.color("gray", 2)},
    )


def _list_table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.el.caption("Companies", style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    sort_header("Name", "companyname", S.order_by, S.order_dir, S.sort),
                    column_headers(S, S.columns),
                    rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN), width="6rem"),
                ),
            ),
            rx.table.body(rx.foreach(S.rows, _list_row)),
            variant="surface",
            size="2",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


@template(route=routes.COMPANIES, title="Companies", on_load=CompaniesState.load)
def companies_page() -> rx.Component:
    return rx.vstack(
        page_header(
            "Companies",
            rx.button(rx.link(rx.icon("plus", size=16), "New company", href=routes.COMPANY_NEW, underline="none"), as_child=True),
        ),
        search_form(S, "Companies", placeholder="Search by name, e-mail or city…"),
        rx.cond(
            S.error != "",
            rx.callout(S.error, icon="triangle-alert", color_scheme="amber", role="alert", width="100%"),
            rx.hstack(
                rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status", aria_live="polite"),
                rx.cond(S.search != "", rx.text("matching ", rx.code(S.search), size="2", color=rx.color("gray", 11))),
                spacing="2",
                align="center",
            ),
        ),
        list_body(S, _list_table(), rx.text("No companies match.", color=rx.color("gray", 10))),
        delete_confirmation(S, "Its contacts stay, without this company."),
        spacing="3",
        width="100%",
    )
