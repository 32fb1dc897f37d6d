"""An uploaded import's mapping form: the file's format, a preview, the column mapping and the options."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import labelled, native_select, option_list, plain_header, section, tag_input
from mautic_app.ui.pages.imports.detail_state import ImportState
from mautic_app.ui.pages.imports.parts import scrolling_table


def _format_select(label: str, key: str, options: rx.Var) -> rx.Component:
    S = ImportState
    control_id = f"fmt-{key}"
    return labelled(label, native_select(*option_list(options), id=control_id, value=getattr(S, key),
                                         on_change=lambda v: S.set_format(key, v), aria_describedby=f"{control_id}-error"),
                    control_id, error=S.errors[key])


def _format_char(label: str, key: str, hint: str) -> rx.Component:
    S = ImportState
    control_id = f"fmt-{key}"
    return labelled(label, rx.input(id=control_id, value=getattr(S, key), on_change=lambda v: S.set_format(key, v),
                                    max_length=1, width="100%", aria_describedby=f"{control_id}-error"),
                    control_id, error=S.errors[key], hint=hint)


def _format_fields() -> rx.Component:
    S = ImportState
    return section(
        "File format",
        rx.text("Detected from the file. Change them if the preview looks wrong; the preview is read again.",
                size="2", color=rx.color("gray", 11)),
        rx.grid(
            _format_select("Delimiter", "delimiter", S.delimiters),
            _format_char("Enclosure", "enclosure", "Usually a double quote."),
            _format_char("Escape character", "escape", "Usually a backslash; may be empty."),
            _format_select("Encoding", "encoding", S.encodings),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        heading_id="format-heading",
    )


def _preview_table() -> rx.Component:
    S = ImportState
    width = S.headers.length()

    def row(r: rx.Var) -> rx.Component:
        return rx.cond(
            r.error != "",
            rx.table.row(
                rx.table.cell(
                    rx.vstack(
                        rx.text(r.error, color=rx.color("red", 11), size="1"),
                        rx.code(r.raw, size="1", white_space="pre-wrap", word_break="break-all"),
                        spacing="1",
                    ),
                    col_span=width,
                ),
            ),
            rx.table.row(
                rx.foreach(r.cells, lambda c: rx.table.cell(c, max_width="14rem", overflow="hidden",
                                                            text_overflow="ellipsis", white_space="nowrap")),
            ),
        )

    return section(
        "Preview",
        rx.text("The first rows of the file as they will be read.", size="2", color=rx.color("gray", 11)),
        scrolling_table("Preview of the first rows", rx.table.row(rx.foreach(S.headers, plain_header)),
                        rx.foreach(S.preview_rows, row), size="1"),
        rx.cond(S.previewing, rx.text("Reading the file…", size="1", color=rx.color("gray", 10), role="status")),
        heading_id="preview-heading",
    )


def _target_select(c: rx.Var) -> rx.Component:
    S = ImportState

    def group(label: str, options: rx.Var) -> rx.Component:
        return rx.el.optgroup(rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])), label=label)

    return native_select(
        rx.el.option("Do not import", value=""),
        group("Contact fields", S.contact_targets),
        group("Company fields", S.company_targets),
        group("Special columns", S.special_targets),
        value=c.target,
        on_change=lambda v: S.set_target(c.index, v),
        aria_label="Field for column " + c.header,
        width="100%",
    )


def _mapping_table() -> rx.Component:
    S = ImportState

    def row(c: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.row_header_cell(rx.text(c.header, weight="medium"), max_width="16rem", overflow="hidden",
                                     text_overflow="ellipsis", white_space="nowrap"),
            rx.table.cell(rx.text(c.example, color=rx.color("gray", 11), size="2"), max_width="16rem", overflow="hidden",
                          text_overflow="ellipsis", white_space="nowrap", display=["none", "table-cell"]),
            rx.table.cell(_target_select(c), min_width="14rem"),
        )

    header = rx.table.row(
        plain_header("CSV column"),
        rx.table.column_header_cell(rx.text("Example", weight="bold"), display=["none", "table-cell"]),
        plain_header("Import as"),
    )
    return section(
        "Map columns to fields",
        rx.text(S.mapped_count.to(str) + " of " + S.headers.length().to(str) + " columns will be imported.",
                size="2", color=rx.color("gray", 11), aria_live="polite"),
        rx.cond(S.errors["mapping"] != "", _alert(S.errors["mapping"])),
        scrolling_table("Column mapping", header, rx.foreach(S.columns, row)),
        heading_id="mapping-heading",
    )


def _options() -> rx.Component:
    S = ImportState
    return section(
        "Options",
        rx.grid(
            labelled("Default owner", native_select(*option_list(S.owners, blank="No default owner"), id="opt-owner",
                                                    value=S.owner_id, on_change=S.set_owner,
                                                    aria_describedby="opt-owner-error"),
                     "opt-owner", error=S.errors["default_owner_id"], hint="For rows without an owner column."),
            labelled("Tags for every row", tag_input(S.known_tags, id="opt-tags", value=S.tags, on_change=S.set_tags, placeholder="webinar, 2024",
                                                    width="100%"),
                     "opt-tags", hint="Separate tags with commas or |, as in the file."),
            labelled("Add to segment", native_select(*option_list(S.segments, blank="No segment"), id="opt-segment",
                                                     value=S.segment_id, on_change=S.set_segment,
                                                     aria_describedby="opt-segment-error"),
                     "opt-segment", error=S.errors["segment_id"], hint="Every imported contact joins it, as if added by hand."),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            width="100%",
        ),
        rx.checkbox("Skip contacts that already exist (do not update them)", checked=S.skip_if_exists,
                    on_change=S.set_skip),
        heading_id="options-heading",
    )


def _alert(message: rx.Var) -> rx.Component:
    return rx.callout(message, icon="circle-alert", color_scheme="red", role="alert", width="100%")


def mapping_view() -> rx.Component:
    S = ImportState
    return rx.vstack(
        _format_fields(),
        _preview_table(),
        _mapping_table(),
        _options(),
        rx.cond(S.errors["form"] != "", _alert(S.errors["form"])),
        rx.cond(
            S.has_field_errors,
            rx.text(rx.icon("circle-alert", size=14, aria_hidden="true", style={"display": "inline", "vertical_align": "-2px"}),
                    " The import did not start: check the messages above.", size="2", color=rx.color("red", 11),
                    text_align="right", width="100%"),
        ),
        rx.hstack(
            rx.button("Discard", variant="soft", color_scheme="gray", on_click=S.discard, disabled=S.starting),
            rx.button(rx.icon("play", size=16, aria_hidden="true"), "Start import", on_click=S.start, loading=S.starting,
                      disabled=S.previewing),
            justify="end",
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
