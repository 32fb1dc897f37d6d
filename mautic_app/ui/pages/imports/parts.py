"""View pieces both import pages use: the status badge, a link styled as a button, a pager, a scrolling table."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import VISUALLY_HIDDEN


def status_badge(label: rx.Var, color: rx.Var) -> rx.Component:
    return rx.badge(label, color_scheme=color, variant="soft", size="2", white_space="nowrap")


def button_link(label: str, href: str | rx.Var, icon: str, **props) -> rx.Component:
    return rx.button(rx.link(rx.icon(icon, size=16, aria_hidden="true"), label, href=href, underline="none"), as_child=True, **props)


def pager(label: rx.Var, on_turn, prev_disabled: rx.Var, next_disabled: rx.Var, what: str) -> rx.Component:
    """Where the list stands, and buttons to the previous and next page (``on_turn(-1)``, ``on_turn(1)``)."""
    return rx.hstack(
        rx.text(label, size="2", color=rx.color("gray", 11), aria_live="polite"),
        rx.spacer(),
        rx.icon_button(rx.icon("chevron-left", size=16), on_click=on_turn(-1), disabled=prev_disabled, variant="soft",
                       aria_label=f"Previous page of {what}"),
        rx.icon_button(rx.icon("chevron-right", size=16), on_click=on_turn(1), disabled=next_disabled, variant="soft",
                       aria_label=f"Next page of {what}"),
        align="center",
        spacing="3",
        width="100%",
        padding_top="0.75rem",
    )


def scrolling_table(caption: str, header: rx.Component, body: rx.Component, size: str = "2") -> rx.Component:
    """A table named by a caption only screen readers read, scrolling sideways on narrow screens."""
    return rx.box(
        rx.table.root(
            rx.el.caption(caption, style=VISUALLY_HIDDEN),
            rx.table.header(header),
            rx.table.body(body),
            variant="surface",
            size=size,
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def spinner(padding: str) -> rx.Component:
    return rx.center(rx.spinner(size="3"), width="100%", padding=padding)
