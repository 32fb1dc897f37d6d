"""The contact page's e-mails card, its Do not contact card per channel, and the dialog that blocks one with a comment."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import labelled, section
from mautic_app.ui.pages.contact_detail.state import ContactDetailState

S = ContactDetailState


def emails_card() -> rx.Component:
    """The newest e-mails sent to the contact: when, how it went, opened and clicked."""
    return section(
        "E-mails",
        rx.cond(
            S.emails.length() > 0,
            rx.el.ul(rx.foreach(S.emails, lambda m: rx.el.li(rx.vstack(
                rx.link(m["name"], href=m["href"], size="2", weight="medium"),
                rx.text(m["status"], " · ", m["date"], " · ", m["opened"], rx.cond(m["clicked"] != "", ", " + m["clicked"], ""),
                        size="1", color=rx.color("gray", 11)),
                spacing="0"))), aria_label="E-mails sent", style={"list_style": "none", "padding": "0", "margin": "0",
                                                                 "display": "flex", "flex_direction": "column", "gap": "6px"}),
            rx.text("No e-mails yet.", size="2", color=rx.color("gray", 10)),
        ),
    )


def dnc_card() -> rx.Component:
    return section(
        "Do not contact",
        rx.foreach(
            S.dnc,
            lambda d: rx.hstack(
                rx.vstack(
                    rx.text(d["label"], size="2", weight="medium"),
                    rx.cond(
                        d["active"] == "1",
                        rx.vstack(
                            rx.badge("Do not contact: " + d["reason"].to(str), color_scheme="red"),
                            rx.cond(d["comments"] != "", rx.text(d["comments"], size="1", color=rx.color("gray", 11))),
                            spacing="1",
                        ),
                        rx.badge("Contactable", color_scheme="green", variant="soft"),
                    ),
                    spacing="1",
                ),
                rx.spacer(),
                rx.cond(
                    d["active"] == "1",
                    rx.button("Allow", size="1", variant="soft", on_click=S.remove_dnc(d["channel"]),
                              aria_label="Allow " + d["label"].to(str)),
                    rx.button("Block", size="1", variant="soft", color_scheme="red", on_click=S.open_dnc(d["channel"]),
                              aria_label="Do not contact by " + d["label"].to(str)),
                ),
                width="100%",
                align="center",
            ),
        ),
        heading_id="dnc-heading",
    )


def dnc_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Do not contact by " + S.dnc_channel_label.to(str)),
            rx.dialog.description("Reason: manual. The contact will not receive messages on this channel.", size="2"),
            rx.form(
                rx.vstack(
                    labelled("Comment", rx.text_area(id="dnc-comments", name="comments", rows="3", width="100%"), "dnc-comments"),
                    rx.hstack(
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.close_dnc(False)),
                        rx.button("Save", type="submit", color_scheme="red"),
                        justify="end",
                        width="100%",
                        spacing="3",
                    ),
                    spacing="3",
                    margin_top="1rem",
                ),
                on_submit=S.add_dnc,
            ),
            max_width="28rem",
        ),
        open=S.dnc_channel != "",
        on_open_change=S.close_dnc,
    )

