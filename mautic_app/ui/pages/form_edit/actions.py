"""The actions a submission runs (points, tags, segments, a re-post): one card each, with the
inputs its kind takes."""

from __future__ import annotations

import reflex as rx

from mautic_app.domain import forms as rules
from mautic_app.ui.components.widgets import labelled, native_select
from mautic_app.ui.pages.form_edit.state import FormEditState


def _action_card(row: rx.Var, index: rx.Var) -> rx.Component:
    S = FormEditState
    kind = row["type"]

    def box(label: str, key: str) -> rx.Component:
        control_id = f"action-{key}-" + index.to(str)
        return labelled(label, rx.input(id=control_id, value=row[key], on_change=lambda v: S.set_action(index, key, v), width="100%"),
                        control_id)

    return rx.card(rx.vstack(
        rx.hstack(rx.text(row["name"], weight="medium"), rx.spacer(),
                  rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                                 aria_label="Remove action " + row["name"].to(str), on_click=S.remove_action(index)), width="100%"),
        rx.cond(kind == "lead.pointschange", box("Points", "points")),
        rx.cond(kind == "lead.changetags", rx.vstack(box("Tags to add (comma separated)", "add_tags"),
                                                     box("Tags to remove (comma separated)", "remove_tags"), width="100%")),
        rx.cond(kind == "lead.changelist", rx.vstack(
            box("Add to segments (ids, comma separated)", "addToLists"),
            box("Remove from segments (ids, comma separated)", "removeFromLists"),
            rx.text("Segments: ", rx.foreach(S.segment_choices, lambda s: rx.text(s["label"], " = ", s["value"], "; ", as_="span")),
                    size="1", color=rx.color("gray", 10)),
            width="100%")),
        rx.cond(kind == "lead.scorecontactscompanies", box("Points for the company", "score")),
        rx.cond(kind == "form.repost", box("Re-post to URL", "post_url")),
        rx.cond((kind == "email.send.lead") | (kind == "email.send.user"), rx.vstack(
            labelled("E-mail to send", native_select(rx.el.option("Choose a template e-mail…", value=""),
                                                     rx.foreach(S.email_choices, lambda e: rx.el.option(e["label"], value=e["value"])),
                                                     id="action-email-" + index.to(str), value=row["email"].to(str),
                                                     on_change=lambda v: S.set_action(index, "email", v)),
                     "action-email-" + index.to(str)),
            width="100%")),
        rx.cond(kind == "email.send.user", rx.vstack(
            box("Users (ids, comma separated)", "user_id"),
            rx.text("Users: ", rx.foreach(S.user_choices, lambda u: rx.text(u["label"], " = ", u["value"], "; ", as_="span")),
                    size="1", color=rx.color("gray", 10)),
            width="100%")),
        rx.cond(kind == "form.email", rx.vstack(box("To (addresses, comma separated)", "to"), box("Subject", "subject"), width="100%")),
        width="100%", spacing="2",
    ), width="100%")


def actions_card() -> rx.Component:
    S = FormEditState
    return rx.card(rx.vstack(
        rx.heading("Actions on submit", size="4", as_="h2"),
        rx.foreach(S.actions, _action_card),
        rx.hstack(
            rx.el.label("Add an action", html_for="add-action", style={"font_size": "var(--font-size-2)"}),
            native_select(rx.el.option("Choose an action…", value=""),
                          *[rx.el.option(a.label, value=a.key) for a in rules.ACTION_TYPES.values() if a.available],
                          id="add-action", value="", on_change=S.add_action, width="16rem"),
            align="center"),
        spacing="2", width="100%"))
