"""Forms: every form with its submissions (live), the embed code, and links to edit and to results."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import forms
from mautic_app.ui.components.paged_list import DeleteConfirm, all_rows_body, delete_confirmation, linked_name, row_actions
from mautic_app.ui.layout import page_header, template


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
    follow_topics: ClassVar[tuple[str, ...]] = ("forms", "form_submissions")

    async def _reload(self) -> None:
        await self._fetch_all(_load)

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))


def _row(row: rx.Var) -> rx.Component:
    S = FormsState
    name = row["name"].to(str)
    href = routes.form(row["id"].to(str))
    return rx.table.row(
        rx.table.row_header_cell(linked_name(row, href)),
        rx.table.cell(row["kind"]),
        rx.table.cell(rx.link(row["submissions"], href=routes.form_results(row["id"].to(str)), aria_label="Results of " + name + ": " + row["submissions"].to(str))),
        rx.table.cell(
            row_actions(S, row, edit_href=href),
        ),
        _hover={"background": rx.color("gray", 2)},
    )


@template(route=routes.FORMS, title="Forms", on_load=FormsState.load)
def forms_page() -> rx.Component:
    S = FormsState
    return rx.vstack(
        page_header("Forms", rx.link(rx.button(rx.icon("plus", size=16), "New form", tab_index=-1), href=routes.FORM_NEW)),
        all_rows_body(S, "Forms", ("Name", "Type", "Submissions"), _row, count=False, empty_icon="clipboard-list",
                      empty_text="No forms yet. Create one and paste its script tag into any site."),
        delete_confirmation(S, "Its submissions go with it; the contacts stay."),
        spacing="3", width="100%",
    )
