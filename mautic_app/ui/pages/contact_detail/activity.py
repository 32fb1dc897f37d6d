"""The contact page's activity card: the timeline (filtered by kind, loaded a page at a time) and the notes."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.detail_parts import item_list
from mautic_app.ui.components.widgets import labelled, native_select, option_list
from mautic_app.ui.pages.contact_detail.data import NOTE_TYPES, TIMELINE_FILTERS
from mautic_app.ui.pages.contact_detail.state import ContactDetailState

S = ContactDetailState


def _event_icon(kind: rx.Var) -> rx.Component:
    def ic(name: str) -> rx.Component:
        return rx.icon(name, size=16, aria_hidden="true")

    return rx.match(
        kind,
        ("created", ic("user-plus")), ("api_added", ic("code")), ("imported", ic("upload")),
        ("identified", ic("user-check")), ("updated", ic("pencil")), ("points", ic("trophy")),
        ("stage", ic("milestone")), ("note", ic("sticky-note")), ("dnc", ic("ban")), ("tags", ic("tag")),
        ("owner", ic("user")), ("merged", ic("merge")), ("company", ic("building-2")), ("ip_added", ic("globe")),
        ("utm", ic("link")), ("page_hit", ic("mouse-pointer-click")), ("device_added", ic("monitor-smartphone")),
        ("segment", ic("filter")),
        ic("activity"),
    )


def _event(e: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.center(_event_icon(e["type"]), width="2rem", height="2rem", border_radius="full",
                      background=rx.color("accent", 3), color=rx.color("accent", 11), flex_shrink="0"),
            rx.vstack(
                rx.hstack(
                    rx.text(e["label"], weight="medium", size="2"),
                    rx.spacer(),
                    rx.text(e["date"], size="1", color=rx.color("gray", 10), white_space="nowrap"),
                    width="100%",
                ),
                rx.cond(e["text"] != "", rx.text(e["text"], size="2", color=rx.color("gray", 11), word_break="break-word")),
                spacing="0",
                width="100%",
                min_width="0",
            ),
            spacing="3",
            width="100%",
        ),
        style={"padding": "0.6rem 0", "border_bottom": "1px solid var(--gray-a4)"},
    )


def _timeline() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.el.label("Show", html_for="timeline-filter", style={"font_size": "var(--font-size-2)"}),
            native_select(*option_list(TIMELINE_FILTERS), id="timeline-filter", value=S.event_filter,
                          on_change=S.set_event_filter, width="14rem", aria_label="Filter timeline by event type"),
            align="center",
            spacing="2",
        ),
        item_list(S.events, _event, label="Timeline", empty="No activity.", ordered=True),
        rx.cond(S.more_events, rx.button("Load more", variant="soft", on_click=S.load_more_events)),
        spacing="3",
        width="100%",
    )


def activity_card() -> rx.Component:
    """The timeline and the notes, as two tabs."""
    return rx.card(
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger("Timeline", value="timeline"),
                rx.tabs.trigger("Notes (", S.notes.length(), ")", value="notes"),
            ),
            rx.tabs.content(_timeline(), value="timeline", padding_top="1rem"),
            rx.tabs.content(_notes(), value="notes", padding_top="1rem"),
            default_value="timeline",
            width="100%",
        ),
        width="100%",
    )


def _note(n: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.hstack(
                rx.badge(n["type_label"], variant="soft"),
                rx.text(n["date"], size="1", color=rx.color("gray", 10)),
                rx.spacer(),
                rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="ghost", color_scheme="red",
                               on_click=S.delete_note(n["id"]), aria_label="Delete note"),
                align="center",
                width="100%",
            ),
            rx.text(n["text"], size="2", white_space="pre-wrap", word_break="break-word", margin_top="0.5rem"),
            width="100%",
        ),
        style={"margin_bottom": "0.5rem"},
    )


def _notes() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.el.label("Note type", html_for="note-type", style={"font_size": "var(--font-size-2)"}),
                    native_select(*[rx.el.option(label, value=v) for v, label in NOTE_TYPES], id="note-type", name="type",
                                  default_value="general", width="10rem"),
                    align="center",
                    spacing="2",
                ),
                labelled("Note", rx.text_area(id="note-text", name="text", rows="3", width="100%",
                                              placeholder="What happened?"), "note-text", error=S.note_error),
                rx.button(rx.icon("plus", size=16), "Add note", type="submit"),
                spacing="2",
                width="100%",
                align="start",
            ),
            on_submit=S.add_note,
            reset_on_submit=False,
            key=S.note_key,
            width="100%",
        ),
        item_list(S.notes, _note, label="Notes", empty="No notes yet."),
        spacing="4",
        width="100%",
    )

