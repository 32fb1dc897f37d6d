"""The dialog that merges another contact, found by name or e-mail, into this one."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.detail_parts import name_and_email, one_line_form
from mautic_app.ui.pages.contact_detail.state import ContactDetailState

S = ContactDetailState


def _candidate(c: rx.Var) -> rx.Component:
    chosen = S.merge_pick["id"] == c["id"]
    return rx.hstack(
        name_and_email(c),
        rx.spacer(),
        rx.button(
            rx.cond(chosen, "Chosen", "Choose"),
            size="1",
            variant=rx.cond(chosen, "solid", "soft"),
            on_click=S.pick_merge(c),
            aria_label="Choose " + c["name"].to(str) + " " + c["email"].to(str),
            aria_pressed=chosen,
        ),
        width="100%",
        align="center",
    )


def merge_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Merge a contact into ", S.name),
            rx.dialog.description(
                "The chosen contact's fields fill this contact's gaps, its points, tags, notes and history move here, "
                "and it is then deleted.",
                size="2",
            ),
            one_line_form(rx.input(name="q", placeholder="Name or e-mail", aria_label="Find a contact to merge", width="100%",
                                   auto_focus=True),
                          "Find", S.find_merge, margin_top="1rem"),
            rx.cond(
                S.merge_results.length() > 0,
                rx.vstack(
                    rx.foreach(
                        S.merge_results,
                        _candidate,
                    ),
                    width="100%",
                    spacing="2",
                    margin_top="0.75rem",
                    max_height="16rem",
                    overflow_y="auto",
                ),
                rx.cond(S.merge_searched, rx.text("No other contact matches.", size="2", color=rx.color("gray", 10), margin_top="0.75rem")),
            ),
            rx.cond(
                S.merge_pick.contains("id"),
                rx.text(S.merge_pick["name"], " will be merged into ", S.name, ".", size="2", weight="medium", margin_top="0.75rem"),
            ),
            rx.cond(S.merge_error != "", rx.callout(S.merge_error, color_scheme="red", role="alert", size="1", margin_top="0.75rem")),
            rx.hstack(
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=S.close_merge(False)),
                rx.button("Merge contacts", on_click=S.do_merge, disabled=~S.merge_pick.contains("id"), loading=S.busy),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
            max_width="32rem",
        ),
        open=S.merge_open,
        on_open_change=S.close_merge,
    )

