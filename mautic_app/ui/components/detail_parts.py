"""Small pieces of a record's detail page: a plain list of its items (notes, devices...) or a muted line when it has
none, and a one-line form (a control and its button)."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

LIST_STYLE = {"list_style": "none", "padding": "0", "margin": "0", "width": "100%"}


def muted(text: str) -> rx.Component:
    return rx.text(text, color=rx.color("gray", 10), size="2")


def item_list(items: rx.Var, item: Callable[[rx.Var], rx.Component], *, label: str, empty: str | None = None,
              ordered: bool = False) -> rx.Component:
    """``items`` as a list named ``label`` for assistive technology (``item`` makes each ``rx.el.li``), unstyled;
    ``empty`` instead when there are none (nothing when it is None)."""
    listed = (rx.el.ol if ordered else rx.el.ul)(rx.foreach(items, item), aria_label=label, style=LIST_STYLE)
    if empty is None:
        return rx.cond(items.length() > 0, listed)
    return rx.cond(items.length() > 0, listed, muted(empty))


def one_line_form(control: rx.Component, button: str, on_submit: rx.EventHandler, **props) -> rx.Component:
    """``control`` and a submit button labelled ``button`` on one line, the width of the card."""
    return rx.form(
        rx.hstack(control, rx.button(button, type="submit", variant="soft"), width="100%", spacing="2"),
        on_submit=on_submit,
        width="100%",
        **props,
    )


def name_and_email(row: rx.Var) -> rx.Component:
    """A contact's name over its e-mail address, for a row of search results."""
    return rx.vstack(
        rx.text(row["name"], size="2", weight="medium"),
        rx.text(row["email"], size="1", color=rx.color("gray", 10)),
        spacing="0",
        min_width="0",
    )
