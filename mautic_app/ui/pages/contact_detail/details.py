"""The contact page's Details card: its fields by group, the empty ones on request."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import section
from mautic_app.ui.pages.contact_detail.state import ContactDetailState

S = ContactDetailState


def details_card() -> rx.Component:
    return section(
        "Details",
        rx.cond(
            S.shown_groups.length() > 0,
            rx.vstack(
                rx.foreach(
                    S.shown_groups,
                    lambda g: rx.vstack(
                        rx.text(g.label, size="1", weight="bold", color=rx.color("gray", 10), text_transform="uppercase"),
                        rx.data_list.root(
                            rx.foreach(
                                g.fields,
                                lambda f: rx.data_list.item(
                                    rx.data_list.label(f.label, min_width="10rem"),
                                    rx.data_list.value(rx.text(f.value, white_space="pre-wrap", word_break="break-word")),
                                ),
                            ),
                            size="2",
                        ),
                        spacing="2",
                        width="100%",
                    ),
                ),
                spacing="4",
                width="100%",
            ),
            rx.text("No details yet.", color=rx.color("gray", 10), size="2"),
        ),
        actions=rx.hstack(
            rx.el.label("Show empty fields", html_for="show-all-fields", style={"font_size": "var(--font-size-2)"}),
            rx.switch(id="show-all-fields", checked=S.show_all, on_change=S.set_show_all),
            align="center",
            spacing="2",
        ),
        heading_id="details-heading",
    )

