"""Point groups: separate scores (per product line, say) that group actions add to and group triggers watch."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import points
from mautic_app.ui import live
from mautic_app.ui.components.paged_list import (
    PagedList,
    delete_confirmation,
    empty_message,
    list_body,
    list_status,
    list_table,
    row_actions,
    search_form,
)
from mautic_app.ui.components.points import error_aria, form_flag, section_nav
from mautic_app.ui.components.widgets import labelled
from mautic_app.ui.layout import page_header, template

ROUTE = "/points/groups"
FORM_KEYS = ("name", "description", "id")


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


class PointGroupsState(PagedList, rx.State):
    noun: ClassVar[str] = "point group"
    nouns: ClassVar[str] = "point groups"

    editing: bool = False
    edit_id: int = 0
    draft: dict[str, str] = {}
    errors: dict[str, str] = {k: "" for k in FORM_KEYS}
    saving: bool = False
    form_key: int = 0
    _following: bool = False

    @rx.var
    def dialog_title(self) -> str:
        return "Edit point group" if self.edit_id else "New point group"

    async def _reload(self) -> None:
        await self._fetch_page(_load)

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def load(self):
        self.editing, self.delete_id = False, 0
        await self._reload()
        return PointGroupsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["point_groups"], refresh)

    @rx.event
    def open_new(self):
        self.edit_id = 0
        self.draft = {"name": "", "description": "", "published": "1"}
        self.errors = {k: "" for k in FORM_KEYS}
        self.form_key += 1
        self.editing = True

    @rx.event
    def open_edit(self, group_id: str):
        row = next((r for r in self.rows if r["id"] == group_id), None)
        if row is None:
            return
        self.edit_id = int(group_id)
        self.draft = {k: row[k] for k in ("name", "description", "published")}
        self.errors = {k: "" for k in FORM_KEYS}
        self.form_key += 1
        self.editing = True

    @rx.event
    def close_dialog(self, _open: bool = False):
        if not self.saving:
            self.editing = False

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
        self.saving = True
        yield
        try:
            name = await rx.run_in_thread(lambda: _save(group_id, values))
        except points.PointError as exc:
            self.saving = False
            self.errors = {k: "" for k in FORM_KEYS} | {k: str(v) for k, v in exc.errors.items() if k in FORM_KEYS}
            return
        self.saving, self.editing = False, False
        await self._reload()
        yield rx.toast.success(f"Point group “{name}” saved.")


def _list_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.text(row["name"], weight="medium"),
                rx.cond(row["published"] == "", rx.badge("Unpublished", color_scheme="gray", variant="soft")),
                align="center",
                spacing="2",
            ),
        ),
        rx.table.cell(rx.text(row["description"], color=rx.color("gray", 11)), max_width="32rem"),
        rx.table.cell(row_actions(PointGroupsState, row)),
        _hover={"background": rx.color("gray", 2)},
    )


def _dialog() -> rx.Component:
    S = PointGroupsState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.dialog_title),
            rx.dialog.description("A group keeps its own score per contact, apart from the total points.", size="2",
                                  color=rx.color("gray", 11), margin_bottom="1rem"),
            rx.form(
                rx.vstack(
                    labelled("Name", rx.input(id="group-name", name="name", default_value=S.draft["name"], auto_focus=True,
                                              width="100%", aria_required=True, **error_aria(S.errors["name"], "group-name")),
                             "group-name", required=True, error=S.errors["name"]),
                    labelled("Description", rx.text_area(id="group-description", name="description",
                                                         default_value=S.draft["description"], rows="3", width="100%"),
                             "group-description", error=S.errors["description"]),
                    rx.hstack(
                        rx.switch(id="group-published", name="is_published", value="1", default_checked=S.draft["published"] == "1"),
                        rx.el.label("Published", html_for="group-published", style={"font_size": "var(--font-size-2)"}),
                        align="center",
                        spacing="2",
                    ),
                    rx.cond(S.errors["id"] != "", rx.callout(S.errors["id"], color_scheme="red", role="alert", width="100%")),
                    rx.hstack(
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.close_dialog(False)),
                        rx.button("Save", type="submit", loading=S.saving),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=S.save,
                no_validate=True,
                key=S.form_key,
                aria_label=S.dialog_title,
            ),
            max_width="32rem",
        ),
        open=S.editing,
        on_open_change=S.close_dialog,
    )


@template(route=ROUTE, title="Point groups", on_load=PointGroupsState.load)
def point_groups_page() -> rx.Component:
    S = PointGroupsState
    return rx.vstack(
        page_header("Point groups", rx.button(rx.icon("plus", size=16), "New point group", on_click=S.open_new)),
        section_nav(ROUTE),
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
