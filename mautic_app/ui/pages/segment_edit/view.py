"""``/segments/<id>`` (``/segments/new`` creates one): the details and filter builder, the live count
beside them, and a saved segment's members."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.domain import segments as rules
from mautic_app.ui.components.widgets import labelled
from mautic_app.ui.layout import missing_record, page_header, template
from mautic_app.ui.pages.segment_edit.filters import DATES_LIST, filter_row
from mautic_app.ui.pages.segment_edit.panels import count_panel, members_panel
from mautic_app.ui.pages.segment_edit.state import SegmentEditState


def _builder() -> rx.Component:
    S = SegmentEditState
    return rx.vstack(
        labelled("Name", rx.input(id="segment-name", value=S.name, on_change=lambda v: S.set_detail("name", v), width="100%",
                                  aria_invalid=S.errors["name"] != ""),
                 "segment-name", required=True, error=S.errors["name"]),
        labelled("Description", rx.text_area(id="segment-description", value=S.description,
                                             on_change=lambda v: S.set_detail("description", v), rows="2", width="100%"),
                 "segment-description"),
        rx.el.label(rx.hstack(rx.switch(checked=S.published, on_change=lambda v: S.set_detail("published", v)),
                              rx.text("Published", size="2"), align="center", spacing="2")),
        rx.heading("Filters", size="3", margin_top="0.5rem"),
        rx.text("Contacts match when every filter of a group matches; “or” starts a new group.",
                size="1", color=rx.color("gray", 10)),
        rx.foreach(S.filters, filter_row),
        rx.button(rx.icon("plus", size=14), "Add filter", variant="soft", on_click=S.add_filter),
        rx.cond(S.errors["filters"] != "", rx.callout(S.errors["filters"], color_scheme="red", role="alert", width="100%")),
        rx.hstack(rx.button("Save segment", on_click=S.save, loading=S.saving), justify="end", width="100%"),
        spacing="3", flex="3", min_width="22rem",
    )


@template(route=routes.SEGMENT, title="Segment", on_load=SegmentEditState.load)
def segment_page() -> rx.Component:
    S = SegmentEditState
    return rx.cond(
        S.missing,
        missing_record("This segment does not exist (it may have been deleted).", "All segments", routes.SEGMENTS),
        rx.vstack(
            page_header(S.title, rx.link("All segments", href=routes.SEGMENTS, size="2")),
            rx.el.datalist(*[rx.el.option(value=v) for v in rules.RELATIVE_VALUES], id=DATES_LIST),
            rx.flex(
                _builder(),
                rx.vstack(count_panel(), rx.cond(S.segment_id > 0, members_panel()), flex="2", min_width="18rem", spacing="3"),
                gap="5", wrap="wrap", width="100%", align="start",
            ),
            spacing="3", width="100%",
        ),
    )
