"""A started import's progress: its status, the counts so far, the rejected rows, and stopping it."""

from __future__ import annotations

import reflex as rx

from mautic_app.ui.components.widgets import confirm_dialog, plain_header, section
from mautic_app.ui.pages.imports.detail_state import ImportState
from mautic_app.ui.pages.imports.parts import button_link, pager, scrolling_table, status_badge


def _count(label: str, value: rx.Var, icon: str, color: str) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=24, color=rx.color(color, 10), aria_hidden="true"),
            rx.vstack(
                rx.text(label, size="2", color=rx.color("gray", 11)),
                rx.text(value, size="6", weight="bold"),
                spacing="0",
            ),
            align="center",
            spacing="3",
        ),
        width="100%",
        role="group",
        aria_label=label,
    )


def _failure_row(f: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(f["row"], white_space="nowrap"),
        rx.table.cell(rx.text(f["reason"], size="2"), min_width="14rem", max_width="28rem"),
        rx.table.cell(
            rx.code(f["raw"], size="1", variant="ghost", white_space="pre-wrap", word_break="break-all"),
            max_width="32rem",
        ),
    )


def _failures_section() -> rx.Component:
    S = ImportState
    return section(
        "Rejected rows",
        rx.cond(
            S.failed > 0,
            rx.vstack(
                scrolling_table("Rejected rows", rx.table.row(plain_header("Row"), plain_header("Reason"), plain_header("Row text")),
                                rx.foreach(S.failures, _failure_row), size="1"),
                pager(S.failure_range, S.turn_failures, S.failure_page <= 1, S.failure_page >= S.failure_pages, "rejected rows"),
                width="100%",
                spacing="0",
            ),
            rx.text(rx.cond(S.finished, "No row was rejected.", "No row has been rejected so far."),
                    size="2", color=rx.color("gray", 10)),
        ),
        heading_id="failures-heading",
    )


def _status_line() -> rx.Component:
    S = ImportState
    return rx.hstack(
        rx.hstack(
            rx.text("Status:", size="2", color=rx.color("gray", 11)),
            status_badge(S.status_label, S.status_color),
            rx.cond(S.running, rx.spinner(size="1")),
            role="status",
            aria_live="polite",
            align="center",
            spacing="2",
        ),
        rx.spacer(),
        rx.cond(
            S.running,
            rx.button(rx.icon("square", size=14, aria_hidden="true"), "Stop import", color_scheme="red",
                      variant="soft", on_click=S.ask_stop),
        ),
        rx.cond(S.finished, button_link("View contacts", S.contacts_href, "users")),
        align="center",
        width="100%",
        wrap="wrap",
        spacing="3",
    )


def _dates() -> rx.Component:
    S = ImportState

    def date(label: str, value: rx.Var) -> rx.Component:
        return rx.text(label, value, size="1", color=rx.color("gray", 10))

    return rx.hstack(
        date("Uploaded ", S.date_added),
        rx.cond(S.started_at != "", date("Started ", S.started_at)),
        rx.cond(S.finished_at != "", date("Finished ", S.finished_at)),
        spacing="4",
        wrap="wrap",
    )


def progress_view() -> rx.Component:
    S = ImportState
    return rx.vstack(
        rx.card(
            rx.vstack(
                _status_line(),
                rx.progress(value=S.percent, max=100, aria_label="Import progress", size="3",
                            color_scheme=rx.cond(S.status == "failed", "red", rx.cond(S.status == "stopped", "orange", "accent"))),
                rx.text(S.rows_label, size="2", color=rx.color("gray", 11)),
                rx.cond(S.message != "", rx.text(S.message, size="2")),
                _dates(),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.grid(
            _count("Created", S.counts["inserted"], "user-plus", "green"),
            _count("Updated", S.counts["updated"], "user-pen", "blue"),
            _count("Failed", S.counts["failed"], "user-x", "red"),
            _count("Ignored", S.counts["ignored"], "user-minus", "gray"),
            columns=rx.breakpoints(initial="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        _failures_section(),
        confirm_dialog(
            open=S.stop_open,
            title="Stop import",
            description="Stop this import after the batch that is running now? Rows already imported stay; it cannot be resumed.",
            confirm_label="Stop import",
            on_confirm=S.confirm_stop,
            on_cancel=S.cancel_stop,
            busy=S.stopping,
        ),
        spacing="4",
        width="100%",
    )
