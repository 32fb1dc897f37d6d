"""The contact page's Points and stage card: points added or taken by hand, group scores, stage and owner."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.detail_parts import item_list
from mautic_app.ui.components.widgets import labelled, native_select, option_list, section
from mautic_app.ui.pages.contact_detail.state import ContactDetailState

S = ContactDetailState


def points_stage_card() -> rx.Component:
    return section(
        "Points and stage",
        rx.hstack(
            rx.icon_button(rx.icon("minus", size=16), variant="soft", on_click=S.change_points("minus"), aria_label="Subtract points"),
            rx.vstack(
                rx.text(S.points, size="7", weight="bold", aria_label="Points", role="status", id="points-value"),
                rx.text("points", size="1", color=rx.color("gray", 10)),
                spacing="0",
                align="center",
            ),
            rx.icon_button(rx.icon("plus", size=16), variant="soft", on_click=S.change_points("plus"), aria_label="Add points"),
            rx.input(value=S.points_amount, on_change=S.set_points_amount, type="number", min="1", width="5rem",
                     aria_label="Points to add or subtract"),
            align="center",
            spacing="3",
        ),
        item_list(S.group_scores, lambda g: rx.el.li(
            rx.hstack(rx.text(g["name"], size="2"), rx.spacer(), rx.text(g["score"], size="2", weight="bold"), width="100%"),
        ), label="Point group scores"),
        labelled("Stage", native_select(*option_list(S.stages, blank="No stage"), id="detail-stage", value=S.stage_id,
                                        on_change=S.set_stage), "detail-stage"),
        labelled("Owner", native_select(*option_list(S.owners, blank="No owner"), id="detail-owner", value=S.owner_id,
                                        on_change=S.set_owner), "detail-owner"),
        rx.cond(S.action_error != "", rx.callout(S.action_error, color_scheme="red", role="alert", size="1", width="100%")),
        heading_id="points-heading",
    )

