"""The contact page's cards of what the contact belongs to: its tags, segments and companies."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.detail_parts import item_list, muted, one_line_form
from mautic_app.ui.components.widgets import native_select, option_list, section, tag_input
from mautic_app.ui.pages.contact_detail.state import ContactDetailState

S = ContactDetailState


def tags_card() -> rx.Component:
    return section(
        "Tags",
        rx.cond(
            S.tags.length() > 0,
            rx.flex(
                rx.foreach(
                    S.tags,
                    lambda t: rx.badge(
                        t,
                        rx.el.button(
                            rx.icon("x", size=12, aria_hidden="true"),
                            type="button",
                            on_click=S.remove_tag(t),
                            aria_label="Remove tag " + t,
                            style={"background": "none", "border": "none", "padding": "0", "cursor": "pointer",
                                   "color": "inherit", "display": "inline-flex"},
                        ),
                        size="2",
                        variant="soft",
                    ),
                ),
                wrap="wrap",
                gap="2",
                role="list",
                aria_label="Tags",
            ),
            muted("No tags."),
        ),
        one_line_form(tag_input(S.known_tags, id="new-tags", name="tags", placeholder="Add tags (comma separated)", aria_label="Add tags",
                                width="100%"),
                      "Add", S.add_tags, reset_on_submit=True),
        rx.cond(S.tag_error != "", rx.text(S.tag_error, color=rx.color("red", 11), size="1", role="alert")),
        heading_id="tags-heading",
    )


def _segment(g: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.link(g["name"], href=routes.segment(g["id"])),
            rx.text(g["how"], size="1", color=rx.color("gray", 10)),
            rx.spacer(),
            rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
                           aria_label="Remove from segment " + g["name"].to(str), on_click=S.remove_from_segment(g["id"])),
            align="center", width="100%",
        ),
    )


def segments_card() -> rx.Component:
    return section(
        "Segments",
        item_list(S.segments, _segment, label="Segments", empty="In no segment."),
        rx.cond(
            S.segment_choices.length() > 0,
            one_line_form(native_select(*option_list(S.segment_choices, blank="Choose a segment"), name="segment",
                                        aria_label="Add to segment"),
                          "Add", S.add_to_segment, reset_on_submit=True),
        ),
        heading_id="segments-heading",
    )


def _campaign(c: rx.Var) -> rx.Component:
    return rx.el.li(rx.hstack(rx.link(c["name"], href=c["href"]), rx.spacer(), rx.text(c["next"], size="1", color=rx.color("gray", 10)),
                              align="center", width="100%", wrap="wrap"))


def campaigns_card() -> rx.Component:
    """The campaigns the contact is in, each with its next scheduled event."""
    return section("Campaigns", item_list(S.campaigns, _campaign, label="Campaigns", empty="In no campaign."), heading_id="campaigns-heading")


def _company(c: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.icon("building-2", size=16, aria_hidden="true", color=rx.color("gray", 10)),
            rx.text(c["name"], size="2"),
            rx.cond(c["primary"] == "1", rx.badge("Primary", color_scheme="green", size="1")),
            rx.spacer(),
            rx.icon_button(rx.icon("unlink", size=14), size="1", variant="ghost", color_scheme="gray",
                           on_click=S.unlink_company(c["id"]), aria_label="Unlink " + c["name"].to(str)),
            align="center",
            width="100%",
        ),
        style={"padding": "0.25rem 0"},
    )


def companies_card() -> rx.Component:
    return section(
        "Companies",
        item_list(S.companies, _company, label="Linked companies", empty="Not linked to a company."),
        one_line_form(rx.input(name="q", placeholder="Find a company to link", aria_label="Find a company to link", width="100%"),
                      "Find", S.find_companies),
        rx.cond(
            S.company_results.length() > 0,
            rx.vstack(
                rx.foreach(
                    S.company_results,
                    lambda c: rx.hstack(
                        rx.text(c["name"], size="2"),
                        rx.spacer(),
                        rx.button("Link", size="1", variant="soft", on_click=S.link_company(c["id"]),
                                  aria_label="Link " + c["name"].to(str)),
                        width="100%",
                        align="center",
                    ),
                ),
                width="100%",
                spacing="1",
            ),
            rx.cond(S.company_searched, rx.text("No matching companies.", size="1", color=rx.color("gray", 10))),
        ),
        heading_id="companies-heading",
    )

