"""``/focus/<id>`` (``/focus/new`` creates one): the builder, and beside it the live preview, the
embed code and the statistics."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.layout import missing_record, page_header, template
from mautic_app.ui.pages.focus_edit.builder import builder
from mautic_app.ui.pages.focus_edit.panels import embed_panel, stats_panel
from mautic_app.ui.pages.focus_edit.preview import preview_panel
from mautic_app.ui.pages.focus_edit.state import FocusEditState


@template(route=routes.FOCUS_ITEM, title="Focus item", on_load=FocusEditState.load)
def focus_page() -> rx.Component:
    S = FocusEditState
    return rx.cond(
        S.missing,
        missing_record("This focus item does not exist (it may have been deleted).", "All focus items", routes.FOCUS_ITEMS),
        rx.cond(
            S.loaded,
            rx.vstack(
                page_header(S.title, rx.link("All focus items", href=routes.FOCUS_ITEMS, size="2")),
                rx.flex(
                    builder(),
                    rx.vstack(preview_panel(), rx.cond(S.focus_id > 0, rx.vstack(embed_panel(), stats_panel(), spacing="3", width="100%")),
                              flex="2", min_width="20rem", spacing="3", position="sticky", top="4.5rem"),
                    gap="5", wrap="wrap", width="100%", align="start",
                ),
                spacing="3", width="100%",
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
    )
