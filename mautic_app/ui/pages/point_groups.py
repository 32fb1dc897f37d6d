"""Point groups: separate scores (per product line, say) that group actions add to and group triggers watch."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import points
from mautic_app.ui.components.list_dialog import ListDialog, dialog_input, new_button, record_dialog
from mautic_app.ui.components.paged_list import (
    PagedList,
    delete_confirmation,
    empty_message,
    list_body,
    list_status,
    list_table,
    named_row,
    row_actions,
    search_form,
)
from mautic_app.ui.components.points import section_nav
from mautic_app.ui.components.widgets import form_flag, switch_field
from mautic_app.ui.layout import page_header, template


def _load(search: str, start: int, limit: int) -> dict[str, Any]:
    with session_scope() as session:
        rows, total = points.list_groups(session=session, search=search, start=start, limit=limit)
        return {
            "rows": [{"id": str(g.id), "name": g.name, "description": g.description or "",
                      "published": "1" if g.is_published else ""} for g in rows],
            "total": total,
        }


def _save(group_id: int | None, values: dict[str, Any]) -> str:
    with session_scope() as session:
        return points.save_group(session=session, group_id=group_id, **values).name


def _delete(group_id: int) -> None:
    with session_scope() as session:
        points.delete_groups(session=session, group_ids=[group_id])


class PointGroupsState(ListDialog, PagedList, rx.State):
    noun: ClassVar[str] = "point group"
    nouns: ClassVar[str] = "point groups"
    follow_topics: ClassVar[tuple[str, ...]] = ("point_groups",)
    refusal: ClassVar[tuple[type[Exception], ...]] = (points.PointError,)
    blank: ClassVar[dict[str, str]] = {"name": "", "description": "", "published": "1"}
    form_keys: ClassVar[tuple[str, ...]] = ("name", "description", "id")

    async def _reload(self) -> None:
        await self._fetch_page(_load)

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        values = {
            "name": str(form.get("name", "")),
            "description": str(form.get("description", "")),
            "is_published": form_flag(form, "is_published"),
        }
        self.draft = {"name": values["name"], "description": values["description"],
                      "published": "1" if values["is_published"] else ""}
        group_id = self.edit_id or None
        async for update in self._submit(lambda: _save(group_id, values)):
            yield update


def _list_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(named_row(row, rx.text(row["name"], weight="medium"))),
        rx.table.cell(rx.text(row["description"], color=rx.color("gray", 11)), max_width="32rem"),
        rx.table.cell(row_actions(PointGroupsState, row)),
        _hover={"background": rx.color("gray", 2)},
    )


def _dialog() -> rx.Component:
    S = PointGroupsState
    return record_dialog(
        S,
        "A group keeps its own score per contact, apart from the total points.",
        dialog_input(S, "Name", "name", "group-name", required=True, auto_focus=True),
        dialog_input(S, "Description", "description", "group-description", text_area=True, rows="3"),
        switch_field("group", "is_published", "Published", S.draft["published"] == "1"),
    )


@template(route=routes.POINT_GROUPS, title="Point groups", on_load=PointGroupsState.load)
def point_groups_page() -> rx.Component:
    S = PointGroupsState
    return rx.vstack(
        page_header("Point groups", new_button(S, "New point group")),
        section_nav(routes.POINT_GROUPS),
        search_form(S, "Point groups"),
        list_status(S),
        list_body(
            S,
            list_table(S, "Point groups", ("Name", "Description"), _list_row),
            empty_message(S, "No point groups match.",
                          "No point groups yet. Create one to keep a separate score, per product line for example."),
        ),
        _dialog(),
        delete_confirmation(S, "Contacts' scores in it are removed; its actions and triggers use the total points instead."),
        spacing="3",
        width="100%",
    )
