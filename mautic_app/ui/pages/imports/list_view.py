"""``/contacts/import``: a new file's upload zone, then the past imports, a page at a time."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.services import imports
from mautic_app.ui.components.widgets import plain_header, section
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.pages.imports.list_state import MAX_MB, UPLOAD_ID, ImportsState
from mautic_app.ui.pages.imports.parts import button_link, pager, scrolling_table, spinner, status_badge


def _rejection_codes(rejections: rx.Var) -> rx.Var:
    """Each refused file's error codes joined by commas: a list of strings, without the File objects."""
    return rejections.to(list[dict[str, Any]]).map(
        lambda r: r.to(dict[str, list[dict[str, str]]])["errors"].map(lambda e: e["code"]).join(",")
    )


def _drop_target() -> rx.Component:
    S = ImportsState
    return rx.upload.root(
        rx.vstack(
            rx.icon("file-up", size=32, color=rx.color("accent", 10), aria_hidden="true"),
            rx.text("Drag a CSV file here, or", size="2", color=rx.color("gray", 11)),
            rx.button(rx.icon("folder-open", size=16, aria_hidden="true"), "Choose a CSV file", type="button",
                      disabled=S.uploading),
            rx.text(f"Up to {MAX_MB} MB · comma, semicolon, tab or pipe separated · any common encoding",
                    size="1", color=rx.color("gray", 10)),
            align="center",
            spacing="2",
            padding="2rem 1rem",
            width="100%",
            border=f"2px dashed {rx.color('gray', 7)}",
            border_radius="var(--radius-3)",
            background=rx.color("gray", 2),
            cursor="pointer",
            _hover={"border_color": rx.color("accent", 8)},
        ),
        id=UPLOAD_ID,
        multiple=False,
        max_files=1,
        max_size=imports.MAX_FILE_BYTES,
        no_keyboard=True,
        disabled=S.uploading,
        on_drop=S.receive_upload(rx.upload_files_chunk(upload_id=UPLOAD_ID, on_upload_progress=S.upload_progress)),
        on_drop_rejected=lambda rejections: S.rejected(_rejection_codes(rejections)),
        drag_active_style={"& > div": {"border_color": "var(--accent-9)", "background": "var(--accent-2)"}},
        width="100%",
    )


def _upload_zone() -> rx.Component:
    S = ImportsState
    return section(
        "New import",
        rx.text(
            "Upload a CSV file of contacts. The delimiter and encoding are detected; you map the columns to fields next.",
            size="2",
            color=rx.color("gray", 11),
        ),
        _drop_target(),
        rx.cond(
            S.uploading,
            rx.vstack(
                rx.hstack(
                    rx.text(rx.cond(S.upload_name != "", "Uploading " + S.upload_name, "Uploading…"), size="2"),
                    rx.spacer(),
                    rx.text(S.upload_percent.to(str) + "%", size="2", color=rx.color("gray", 11)),
                    rx.button("Cancel upload", size="1", variant="soft", color_scheme="gray", on_click=S.cancel_upload),
                    width="100%",
                    align="center",
                    spacing="3",
                ),
                rx.progress(value=S.upload_percent, max=100, aria_label="Upload progress"),
                width="100%",
                spacing="2",
                role="status",
            ),
        ),
        rx.cond(
            S.upload_error != "",
            rx.callout(S.upload_error, icon="circle-alert", color_scheme="red", role="alert", width="100%"),
        ),
        heading_id="new-import-heading",
    )


def _list_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(row.name, href=row.href, weight="medium"),
            max_width="18rem",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
        ),
        rx.table.cell(status_badge(row.status_label, row.color)),
        rx.table.cell(
            rx.hstack(
                rx.progress(value=row.percent, max=100, width="5rem", size="1", aria_label="Progress of " + row.name),
                rx.text(row.percent.to(str) + "%", size="1", color=rx.color("gray", 11)),
                align="center",
                spacing="2",
            ),
        ),
        *[rx.table.cell(count, text_align="right") for count in (row.inserted, row.updated, row.failed, row.ignored)],
        rx.table.cell(
            rx.vstack(
                rx.text("Uploaded ", row.date_added, size="1"),
                rx.cond(row.finished_at != "", rx.text("Finished ", row.finished_at, size="1", color=rx.color("gray", 11))),
                spacing="0",
            ),
            white_space="nowrap",
        ),
        _hover={"background": rx.color("gray", 2)},
    )


def _list_table() -> rx.Component:
    def num(label: str) -> rx.Component:
        return rx.table.column_header_cell(rx.text(label, weight="bold"), text_align="right")

    header = rx.table.row(
        plain_header("File"),
        plain_header("Status"),
        plain_header("Progress"),
        *[num(label) for label in ("Created", "Updated", "Failed", "Ignored")],
        plain_header("Dates"),
    )
    return scrolling_table("Past imports", header, rx.foreach(ImportsState.rows, _list_row))


@template(route=routes.IMPORTS, title="Imports", on_load=ImportsState.load)
def imports_page() -> rx.Component:
    S = ImportsState
    return rx.vstack(
        page_header("Imports", button_link("Contacts", routes.CONTACTS, "users", variant="soft", color_scheme="gray")),
        _upload_zone(),
        section(
            "Past imports",
            rx.cond(
                S.loaded,
                rx.cond(
                    S.rows.length() > 0,
                    rx.vstack(
                        _list_table(),
                        rx.cond(
                            (S.page > 1) | S.has_more,
                            pager("Page " + S.page.to(str), S.turn_page, S.page <= 1, ~S.has_more, "imports"),
                        ),
                        width="100%",
                        spacing="0",
                    ),
                    rx.text("No imports yet.", color=rx.color("gray", 10), size="2"),
                ),
                spinner("2rem"),
            ),
            heading_id="past-imports-heading",
        ),
        spacing="4",
        width="100%",
    )
