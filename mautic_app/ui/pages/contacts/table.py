"""The contacts table: a row per contact with its selection box, its name linking to its page, and the chosen
columns, under sortable headers."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.address_search import column_headers
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, sort_header
from mautic_app.ui.pages.contacts.state import ContactsState

S = ContactsState
NAME_SORT = "lastname"


def _cell(row: rx.Var, column: rx.Var) -> rx.Component:
    """A value on one line, cut with an ellipsis at its column's width (all of it on hover)."""
    return rx.table.cell(rx.box(row[column["key"]], overflow="hidden", text_overflow="ellipsis", white_space="nowrap",
                                title=row[column["key"]].to(str)))


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.checkbox(
                checked=S.selected.contains(row["id"]),
                on_change=lambda on: S.toggle_row(row["id"], on),
                aria_label="Select " + row["name"].to(str),
            ),
            width="2.5rem",
        ),
        rx.table.row_header_cell(
            rx.link(
                row["name"],
                href=routes.contact(row["id"]),
                weight="medium",
                color_scheme=rx.cond(row["anonymous"] == "1", "gray", "accent"),
            ),
            rx.text(row["email"], size="1", color=rx.color("gray", 11), class_name="phone-only", overflow="hidden",
                    text_overflow="ellipsis"),
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
        ),
        rx.foreach(S.visible_columns, lambda c: _cell(row, c)),
        _hover={"background": rx.color("gray", 2)},
    )


def contacts_table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.el.caption("Contacts", style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(
                        rx.checkbox(
                            checked=S.all_selected,
                            on_change=S.toggle_all,
                            aria_label="Select all contacts on this page",
                        ),
                        width="2.5rem",
                    ),
                    sort_header("Name", NAME_SORT, S.order_by, S.order_dir, S.sort, width="16%"),
                    column_headers(S, S.visible_columns),
                ),
            ),
            rx.table.body(rx.foreach(S.rows, _row)),
            variant="surface",
            size="1",
            width="100%",
            class_name="contacts-table",
            # Columns share the width (assets/shell.css): the default ones fit 1400 px; many chosen ones scroll.
            style={"--contacts-min-width": S.table_min_width},
        ),
        overflow_x="auto",
        width="100%",
    )

