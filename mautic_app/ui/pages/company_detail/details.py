"""The company page's Details card (its fields by group; addresses and links shown as text or safe links)
and its Summary card (score, owner, contacts, dates)."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import section
from mautic_app.ui.pages.company_detail.state import CompanyState

S = CompanyState


def _value(field: rx.Var) -> rx.Component:
    return rx.match(
        field.kind,
        ("email", rx.link(field.value, href=field.href)),
        ("url", rx.link(field.value, href=field.href, is_external=True, rel="noopener noreferrer nofollow")),
        rx.text(field.value, white_space="pre-wrap"),
    )


def _group(group: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.heading(group.label, size="2", as_="h3", color=rx.color("gray", 11)),
        rx.el.dl(
            rx.foreach(
                group.fields,
                lambda f: rx.box(
                    rx.el.dt(rx.text(f.label, size="1", color=rx.color("gray", 10))),
                    rx.el.dd(rx.box(_value(f), font_size="var(--font-size-2)"), style={"margin": "0", "overflow_wrap": "anywhere"}),
                ),
            ),
            style={"display": "grid", "grid_template_columns": "repeat(auto-fill, minmax(14rem, 1fr))", "gap": "0.75rem 1.5rem",
                   "margin": "0", "width": "100%"},
        ),
        spacing="2",
        width="100%",
    )


def details_card() -> rx.Component:
    return section(
        "Details",
        rx.cond(
            S.groups.length() > 0,
            rx.vstack(rx.foreach(S.groups, _group), spacing="4", width="100%"),
            rx.text("No details yet. Edit the company to add some.", color=rx.color("gray", 10), size="2"),
        ),
        heading_id="company-details-heading",
    )


def summary_card() -> rx.Component:

    def item(label: str, value: rx.Component) -> rx.Component:
        return rx.box(rx.el.dt(rx.text(label, size="1", color=rx.color("gray", 10))), rx.el.dd(value, style={"margin": "0"}))

    return section(
        "Summary",
        rx.el.dl(
            item("Score", rx.heading(S.score, size="6", as_="p", aria_label="Score")),
            item("Owner", rx.text(rx.cond(S.owner != "", S.owner, "No owner"), size="2")),
            item("Contacts", rx.text(S.contacts_label, size="2")),
            item("Created", rx.text(S.date_added, size="2")),
            rx.cond(S.date_modified != "", item("Modified", rx.text(S.date_modified, size="2"))),
            style={"display": "grid", "gap": "0.75rem", "margin": "0"},
        ),
        heading_id="company-summary-heading",
    )

