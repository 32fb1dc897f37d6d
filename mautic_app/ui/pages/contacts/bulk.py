"""The contacts list's bulk actions: the toolbar shown while contacts are selected, and the dialog asking
for what the action needs (tags, an owner, a stage or a segment)."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import labelled, native_select, option_list, tag_input
from mautic_app.ui.pages.contacts.state import ContactsState

S = ContactsState


def bulk_bar() -> rx.Component:
    def action(label: str, key: str, icon: str, **props) -> rx.Component:
        return rx.button(rx.icon(icon, size=14), label, size="1", variant="soft", on_click=S.open_bulk(key), **props)

    return rx.cond(
        S.selected_count > 0,
        rx.hstack(
            rx.text(S.selected_count, " selected", size="2", weight="medium"),
            action("Add tags", "tags_add", "tag"),
            action("Remove tags", "tags_remove", "tag"),
            action("Set owner", "owner", "user"),
            action("Set stage", "stage", "milestone"),
            action("Add to segment", "segment_add", "filter"),
            action("Remove from segment", "segment_remove", "filter-x"),
            action("Delete", "delete", "trash-2", color_scheme="red"),
            align="center",
            spacing="2",
            wrap="wrap",
            padding="0.5rem 0.75rem",
            border_radius="var(--radius-3)",
            background=rx.color("accent", 3),
            width="100%",
            role="toolbar",
            aria_label="Bulk actions",
        ),
    )


def bulk_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.bulk_title),
            rx.form(
                rx.vstack(
                    rx.match(
                        S.bulk_action,
                        ("owner", labelled("Owner", native_select(*option_list(S.owners, blank="No owner"),
                                                                  id="bulk-owner", name="owner_id"), "bulk-owner")),
                        ("stage", labelled("Stage", native_select(*option_list(S.stages, blank="No stage"),
                                                                  id="bulk-stage", name="stage_id"), "bulk-stage")),
                        ("segment_add", "segment_remove", labelled(
                            "Segment", native_select(*option_list(S.segments, blank="Choose a segment"), id="bulk-segment",
                                                     name="segment_id"), "bulk-segment")),
                        labelled("Tags", tag_input(S.known_tags, id="bulk-tags", name="tags", placeholder="vip, webinar", auto_focus=True,
                                                  width="100%"), "bulk-tags", hint="Separate tags with commas."),
                    ),
                    rx.cond(S.bulk_error != "",
                            rx.callout(S.bulk_error, color_scheme="red", role="alert", width="100%")),
                    rx.hstack(
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.close_bulk(False)),
                        rx.button("Apply", type="submit", loading=S.bulk_busy),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="4",
                ),
                on_submit=S.run_bulk,
            ),
            max_width="28rem",
        ),
        open=S.dialog_open,
        on_open_change=S.close_bulk,
    )

