"""The panels beside the builder: the live count with a sample of matching contacts, and a saved
segment's members (rebuilt in the background, added and removed by hand)."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN
from mautic_app.ui.pages.segment_edit.state import SegmentEditState


def _panel(status: rx.Var, *beside: rx.Component, body: list[rx.Component]) -> rx.Component:
    """A card headed by a live status (the count) with what stands beside it."""
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(status, size="4", role="status", aria_live="polite"), *beside, align="center", spacing="2",
                      width="100%"),
            *body,
            spacing="2", width="100%",
        ),
        width="100%",
    )


def count_panel() -> rx.Component:
    S = SegmentEditState
    return _panel(
        S.count_label,
        rx.cond(S.counting, rx.spinner(size="1")),
        body=[
            rx.text("Who the filters find at this moment, saved or not.", size="1", color=rx.color("gray", 10)),
            rx.cond(S.count_error != "", rx.callout(S.count_error, color_scheme="red", role="alert", size="1", width="100%")),
            rx.cond(
                S.sample.length() > 0,
                rx.el.ul(
                    rx.foreach(S.sample, lambda c: rx.el.li(
                        rx.link(c["name"], href=routes.contact(c["id"])),
                        rx.text(" " + c["email"].to(str), as_="span", size="1", color=rx.color("gray", 10)))),
                    aria_label="Matching contacts", style={"margin": "0", "padding_left": "1.1rem"},
                ),
            ),
        ],
    )


def _member_row(m: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(m["name"], href=routes.contact(m["id"]))),
        rx.table.cell(m["email"]), rx.table.cell(m["city"]),
        rx.table.cell(rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
                                     aria_label="Remove " + m["name"].to(str) + " from the segment",
                                     on_click=SegmentEditState.remove_member(m["id"]))),
    )


def members_panel() -> rx.Component:
    S = SegmentEditState
    return _panel(
        S.member_label,
        rx.spacer(),
        rx.cond(S.rebuilding, rx.hstack(rx.spinner(size="1"), rx.text("Rebuilding…", size="2"), align="center"),
                rx.text(S.built, size="1", color=rx.color("gray", 10))),
        rx.button(rx.icon("refresh-cw", size=14), "Rebuild now", size="1", variant="soft", on_click=S.rebuild_now,
                  disabled=S.rebuilding),
        body=[
            rx.text("Contacts become members when the segment is built: after each save, as contacts change, every 15 minutes "
                    "and now with Rebuild now. Members added by hand stay until removed by hand.",
                    size="1", color=rx.color("gray", 10)),
            rx.table.root(
                rx.el.caption("Members", style=VISUALLY_HIDDEN),
                rx.table.header(rx.table.row(rx.table.column_header_cell("Name"), rx.table.column_header_cell("E-mail"),
                                             rx.table.column_header_cell("City"),
                                             rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN)))),
                rx.table.body(rx.foreach(S.members, _member_row)),
                width="100%", size="1",
            ),
            rx.form(
                rx.hstack(
                    rx.input(name="contact", placeholder="E-mail or contact id", aria_label="Add a contact by hand", width="100%"),
                    rx.button("Add", type="submit", variant="soft", size="2"),
                    width="100%", spacing="2",
                ),
                on_submit=S.add_member, reset_on_submit=True, width="100%",
            ),
            rx.cond(S.member_error != "", rx.text(S.member_error, color=rx.color("red", 11), size="1", role="alert")),
        ],
    )
