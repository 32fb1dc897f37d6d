"""The contact page's tracking cards: IP addresses, page visits (a page at a time), devices, UTM tags."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.detail_parts import item_list, muted
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, plain_header, section
from mautic_app.ui.pages.contact_detail.data import VISITS_PAGE
from mautic_app.ui.pages.contact_detail.state import ContactDetailState

S = ContactDetailState


def ips_card() -> rx.Component:
    return section(
        "IP addresses",
        rx.cond(
            S.ips.length() > 0,
            rx.flex(rx.foreach(S.ips, lambda ip: rx.code(ip, variant="soft")), wrap="wrap", gap="2"),
            muted("None recorded."),
        ),
        heading_id="ips-heading",
    )


def visits_card() -> rx.Component:
    """Titles, addresses and referrers are the visitor's text: shown as text, never as links."""
    cell = {"max_width": "22rem", "word_break": "break-all"}
    return section(
        "Page visits",
        rx.cond(
            S.visits.length() > 0,
            rx.box(
                rx.table.root(
                    rx.el.caption("Page visits", style=VISUALLY_HIDDEN),
                    rx.table.header(rx.table.row(plain_header("Time (UTC)"), plain_header("Page"), plain_header("Referrer"),
                                                 plain_header("Device"))),
                    rx.table.body(rx.foreach(S.visits, lambda v: rx.table.row(
                        rx.table.cell(v["date"], white_space="nowrap"),
                        rx.table.cell(
                            rx.text(v["title"], size="2", weight="medium", word_break="break-word"),
                            rx.text(v["url"], size="1", color=rx.color("gray", 11)),
                            **cell,
                        ),
                        rx.table.cell(rx.text(v["referrer"], size="1", color=rx.color("gray", 11)), **cell),
                        rx.table.cell(v["device"], white_space="nowrap"),
                    ))),
                    variant="ghost",
                    size="1",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            muted("No page visits recorded."),
        ),
        rx.cond(
            S.visits_total > VISITS_PAGE,
            rx.hstack(
                rx.text(S.visits_range, size="2", color=rx.color("gray", 11), aria_live="polite"),
                rx.spacer(),
                rx.icon_button(rx.icon("chevron-left", size=16), variant="soft", on_click=S.page_visits("newer"),
                               disabled=S.visits_start == 0, aria_label="Newer page visits"),
                rx.icon_button(rx.icon("chevron-right", size=16), variant="soft", on_click=S.page_visits("older"),
                               disabled=S.visits_start + VISITS_PAGE >= S.visits_total, aria_label="Older page visits"),
                align="center",
                width="100%",
            ),
        ),
        heading_id="visits-heading",
    )


def _device(d: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.vstack(
            rx.hstack(
                rx.text(d["device"], size="2", weight="medium"),
                rx.cond(d["model"] != "", rx.text(d["model"], size="2")),
                spacing="2",
                wrap="wrap",
            ),
            rx.text(
                rx.cond(d["os"] != "", d["os"], "Unknown system"), " · ",
                rx.cond(d["browser"] != "", d["browser"], "unknown browser"),
                size="1", color=rx.color("gray", 11),
            ),
            rx.text("Last seen ", d["last_seen"], size="1", color=rx.color("gray", 10)),
            spacing="0",
        ),
        style={"padding": "0.4rem 0", "border_bottom": "1px solid var(--gray-a4)"},
    )


def devices_card() -> rx.Component:
    return section(
        "Devices",
        item_list(S.devices, _device, label="Devices", empty="No devices recorded."),
        heading_id="devices-heading",
    )


def utm_card() -> rx.Component:
    return section(
        "UTM tags",
        item_list(S.utm_tags, lambda u: rx.el.li(
            rx.text(u["text"], size="2", word_break="break-word"),
            rx.text(u["date"], size="1", color=rx.color("gray", 10)),
            style={"padding": "0.3rem 0"},
        ), label="UTM tags", empty="No UTM tags."),
        heading_id="utm-heading",
    )

