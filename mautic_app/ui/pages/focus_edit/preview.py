"""The live preview: the item drawn over a sketch of a page, where its style and placement put it."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.pages.focus_edit.state import FocusEditState


def _button(text: rx.Var | str) -> rx.Component:
    d = FocusEditState.draft
    return rx.el.span(text, style={"display": "inline-block", "margin_top": "8px", "padding": "6px 14px", "border_radius": "4px",
                                   "font_weight": "700", "background": d["color_button"], "color": d["color_button_text"]})


def _item() -> rx.Component:
    S = FocusEditState
    d, p = S.draft, S.preview
    button = rx.cond(
        (d["type"] != "form") & (d["button_text"] != ""),
        _button(d["button_text"]),
        rx.cond(d["type"] == "link", _button("Learn more")),
    )
    form = rx.cond(d["type"] == "form", rx.box(
        rx.cond(d["form_id"] != "",
                rx.foreach(S.forms, lambda f: rx.cond(f["value"] == d["form_id"], rx.text("Form: " + f["label"].to(str), size="2"))),
                rx.text("Choose a form", size="2")),
        background="white", color="#222", padding="8px", border_radius="4px", margin_top="8px"))
    return rx.box(
        rx.box(
            rx.el.span("×", aria_hidden="true", style={"position": "absolute", "top": "4px", "right": "10px", "font_size": "20px"}),
            rx.cond(d["headline"] != "", rx.text(d["headline"], weight="bold", size="3")),
            rx.cond(d["tagline"] != "", rx.text(d["tagline"], size="2")),
            button, form,
            position="relative", background=d["color_primary"], color=d["color_text"], padding="12px 34px 12px 14px",
            width=p["box_width"], height=p["box_height"], border_radius=p["radius"], text_align=p["text_align"],
            box_shadow="0 2px 10px rgba(0,0,0,0.3)", display="flex", flex_direction="column", justify_content="center",
            align_items=rx.cond(p["text_align"] == "center", "center", "flex-start"),
        ),
        position="absolute", top=p["top"], bottom=p["bottom"], left=p["left"], right=p["right"], width=p["width"],
        background=p["overlay"], display="flex", align_items=p["align"], justify_content=p["justify"],
        padding=rx.cond(d["style"] == "modal", "16px", "0"),
    )


def preview_panel() -> rx.Component:
    d = FocusEditState.draft
    page_lines = rx.vstack(*[rx.box(height="10px", width=w, background="var(--gray-a4)", border_radius="4px")
                             for w in ("60%", "90%", "80%", "85%", "40%", "90%", "70%")], spacing="3", padding="1.5rem")
    return rx.card(
        rx.vstack(
            rx.heading("Preview", size="3", as_="h2", id="focus-preview-heading"),
            rx.box(page_lines, _item(), position="relative", height="320px", overflow="hidden", width="100%",
                   border="1px solid var(--gray-a5)", border_radius="var(--radius-2)", background="var(--gray-2)",
                   role="img", aria_label="How the item looks on a page: " + d["headline"].to(str) + " " + d["tagline"].to(str)),
            rx.text(rx.cond(d["type"] == "form", "The form shows inside the item on your site.",
                            "Visitors can close it with its × button or the Escape key."), size="1", color=rx.color("gray", 10)),
            spacing="2", width="100%",
        ),
        role="region", aria_labelledby="focus-preview-heading", width="100%",
    )
