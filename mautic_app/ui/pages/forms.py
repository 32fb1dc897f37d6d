"""Forms: every form with its submissions (live), the embed code, and links to edit and to results."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import forms
from mautic_app.ui import live
from mautic_app.ui.components.paged_list import DeleteConfirm, delete_confirmation, list_table, row_actions
from mautic_app.ui.layout import page_header, template

ROUTE = "/forms"


def _load() -> list[dict[str, str]]:
    with session_scope() as session:
        _total, rows = forms.search_forms(session=session, limit=500)
        return [
            {"id": str(r["form"].id), "name": r["form"].name, "alias": r["form"].alias, "description": r["form"].description or "",
             "published": "1" if r["form"].is_published else "", "kind": "Campaign form" if r["form"].form_type == "campaign" else "Standalone",
             "submissions": f"{r['submissions']:,}"}
            for r in rows
        ]


def _delete(form_id: int) -> None:
    with session_scope() as session:
        forms.delete_forms(session=session, form_ids=[form_id])


class FormsState(DeleteConfirm, rx.State):
    noun: ClassVar[str] = "form"

    loaded: bool = False
    _following: bool = False

    async def _reload(self) -> None:
        self.rows = await rx.run_in_thread(_load)
        self.loaded = True

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def load(self):
        self.delete_id = 0
        await self._reload()
        return FormsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["forms", "form_submissions"], refresh)


def _row(row: rx.Var) -> rx.Component:
    S = FormsState
    name = row["name"].to(str)
    href = "/forms/" + row["id"].to(str)
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.hstack(
                    rx.link(row["name"], href=href, weight="medium"),
                    rx.cond(row["published"] == "", rx.badge("Unpublished", color_scheme="gray", variant="soft")),
                    align="center", spacing="2",
                ),
                rx.text(row["description"], size="1", color=rx.color("gray", 10)),
                spacing="0",
            ),
        ),
        rx.table.cell(row["kind"]),
        rx.table.cell(rx.link(row["submissions"], href=href + "/results", aria_label="Results of " + name + ": " + row["submissions"].to(str))),
        rx.table.cell(
            row_actions(S, row, edit=rx.link(rx.icon_button(rx.icon("pencil", size=14), size="1", variant="soft",
                                                            aria_label="Edit " + name, tab_index=-1), href=href)),
        ),
        _hover={"background": rx.color("gray", 2)},
    )


@template(route=ROUTE, title="Forms", on_load=FormsState.load)
def forms_page() -> rx.Component:
    S = FormsState
    return rx.vstack(
        page_header("Forms", rx.link(rx.button(rx.icon("plus", size=16), "New form", tab_index=-1), href="/forms/new")),
        rx.cond(
            S.loaded,
            rx.cond(
                S.rows.length() > 0,
                list_table(S, "Forms", ("Name", "Type", "Submissions"), _row),
                rx.center(
                    rx.vstack(
                        rx.icon("clipboard-list", size=32, color=rx.color("gray", 8)),
                        rx.text("No forms yet. Create one and paste its script tag into any site.", color=rx.color("gray", 10)),
                        align="center",
                    ),
                    width="100%", padding="3rem",
                ),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        delete_confirmation(S, "Its submissions go with it; the contacts stay."),
        spacing="3", width="100%",
    )
