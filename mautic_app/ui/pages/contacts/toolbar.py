"""The contacts list's toolbar: the search box with its syntax help, and the column chooser."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.pages.contacts.state import ContactsState

S = ContactsState
SEARCH_HELP = (
    ("jane", "Name, e-mail, company, city, state or country containing “jane”"),
    ("email:jane@", "E-mail starting with “jane@”"),
    ("name:smi", "First or last name starting with “smi”"),
    ("tag:vip", "Has the tag vip (quote names with spaces: tag:\"big fish\")"),
    ("company:acme", "Company name starting with “acme”"),
    ("owner:admin", "Owned by that user (username or name)"),
    ("stage:Customer", "In that stage"),
    ("segment:newsletter", "In the segment with that alias"),
    ("is:anonymous", "Anonymous visitors, left out unless asked for (also is:identified)"),
    ("is:mine", "Contacts you own"),
    ("is:unowned", "Contacts without an owner"),
    ("ids:1,2,3", "Those contact ids"),
    ("!tag:trial", "Prefix any term with ! to exclude it"),
)


def _search_help() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.icon_button(rx.icon("circle-help", size=16), variant="ghost", aria_label="Search help", type="button")),
        rx.popover.content(
            rx.heading("Search syntax", size="2", margin_bottom="0.5rem"),
            rx.el.dl(
                *[
                    rx.fragment(
                        rx.el.dt(rx.code(term), style={"margin_top": "0.4rem"}),
                        rx.el.dd(rx.text(meaning, size="1", color=rx.color("gray", 11)), style={"margin_left": "0"}),
                    )
                    for term, meaning in SEARCH_HELP
                ],
                style={"margin": "0"},
            ),
            rx.text("Combine terms with spaces: all of them must match.", size="1", margin_top="0.5rem"),
            max_width="24rem",
            aria_label="Search syntax",
        ),
    )


def _column_chooser() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.button(rx.icon("columns-3", size=16), "Columns", variant="soft", color_scheme="gray",
                                     aria_label="Choose columns")),
        rx.popover.content(
            rx.vstack(
                rx.heading("Columns", size="2"),
                rx.scroll_area(
                    rx.vstack(
                        rx.foreach(
                            S.catalogue,
                            lambda c: rx.checkbox(
                                c["label"],
                                checked=S.chosen_columns.contains(c["key"]),
                                on_change=lambda on: S.toggle_column(c["key"], on),
                            ),
                        ),
                        spacing="2",
                    ),
                    type="auto",
                    scrollbars="vertical",
                    style={"max_height": "22rem"},
                ),
                rx.button("Reset to default", size="1", variant="ghost", on_click=S.reset_columns),
                spacing="3",
            ),
            aria_label="Columns",
        ),
    )


def toolbar() -> rx.Component:
    return rx.hstack(
        rx.form(
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    name="q",
                    value=S.search_input,
                    on_change=S.set_search_input,
                    placeholder="Search… e.g. email:jane@ tag:vip",
                    aria_label="Contact search",
                    width="100%",
                ),
                rx.button("Search", type="submit", variant="soft"),
                rx.cond(
                    S.search != "",
                    rx.button("Clear", type="button", variant="ghost", color_scheme="gray", on_click=S.clear_search),
                ),
                _search_help(),
                align="center",
                spacing="2",
                width="100%",
            ),
            on_submit=S.apply_search,
            role="search",
            aria_label="Contacts",
            flex="1",
            min_width="16rem",
            max_width="40rem",
        ),
        rx.spacer(),
        rx.box(_column_chooser(), class_name="wide-only"),
        align="center",
        spacing="3",
        width="100%",
        wrap="wrap",
    )

