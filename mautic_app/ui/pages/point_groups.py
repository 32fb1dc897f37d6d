"""Point groups: separate scores (per product line, say) that group actions add to and group triggers watch."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain.search import SearchError
from mautic_app.services import points
from mautic_app.ui import live
from mautic_app.ui.components.points import section_nav
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, confirm_dialog, labelled, pager, plain_header
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

ROUTE = "/points/groups"
PAGE_SIZES = (10, 30, 50, 100)
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


class PointGroupsState(rx.State):
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    page_size: str = "30"
    search: str = ""
    search_input: str = ""
    error: str = ""
    loaded: bool = False
    editing: bool = False
    edit_id: int = 0
    draft: dict[str, str] = {}
    errors: dict[str, str] = {k: "" for k in FORM_KEYS}
    saving: bool = False
    form_key: int = 0
    delete_id: int = 0
    delete_name: str = ""
    deleting: bool = False
    _following: bool = False

    @rx.var
    def pages(self) -> int:
        size = int(self.page_size)
        return max(1, (self.total + size - 1) // size)

    @rx.var
    def count_label(self) -> str:
        return "1 point group" if self.total == 1 else f"{self.total:,} point groups"

    @rx.var
    def dialog_title(self) -> str:
        return "Edit point group" if self.edit_id else "New point group"

    @rx.var
    def delete_open(self) -> bool:
        return self.delete_id > 0

    async def _reload(self) -> None:
        size = int(self.page_size)
        args = (self.search, (self.page - 1) * size, size)
        try:
            data = await rx.run_in_thread(lambda: _load(*args))
        except SearchError as exc:
            self.error = f"This search cannot be understood: {exc}"
            self.rows, self.total, self.loaded = [], 0, True
            return
        self.error = ""
        self.rows, self.total = data["rows"], data["total"]
        if not self.rows and self.page > 1 and self.total:
            self.page = self.pages
            await self._reload()
            return
        self.loaded = True

    @rx.event
    async def load(self):
        self.editing, self.delete_id = False, 0
        if not (await self.get_state(SessionState)).user_id:  # the login guard is redirecting
            return
        await self._reload()
        return PointGroupsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["point_groups"], refresh)

    @rx.event
    def set_search_input(self, value: str):
        self.search_input = value

    @rx.event
    async def apply_search(self, form: dict):
        self.search = str(form.get("q", self.search_input) or "").strip()
        self.search_input, self.page = self.search, 1
        await self._reload()

    @rx.event
    async def clear_search(self):
        self.search = self.search_input = ""
        self.page = 1
        await self._reload()

    @rx.event
    async def set_page_size(self, value: str):
        if value.isdigit() and int(value) in PAGE_SIZES:
            first = (self.page - 1) * int(self.page_size)
            self.page_size, self.page = value, first // int(value) + 1
            await self._reload()

    @rx.event
    async def next_page(self):
        if self.page < self.pages:
            self.page += 1
            await self._reload()

    @rx.event
    async def prev_page(self):
        if self.page > 1:
            self.page -= 1
            await self._reload()

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
            "is_published": str(form.get("is_published", "")).lower() in {"1", "on", "true"},
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

    @rx.event
    def ask_delete(self, group_id: str):
        row = next((r for r in self.rows if r["id"] == group_id), None)
        if row is not None:
            self.delete_id, self.delete_name = int(group_id), row["name"]

    @rx.event
    def cancel_delete(self, _open: bool = False):
        if not self.deleting:
            self.delete_id = 0

    @rx.event
    async def confirm_delete(self):
        group_id, name = self.delete_id, self.delete_name
        if not group_id:
            return
        self.deleting = True
        yield
        await rx.run_in_thread(lambda: _delete(group_id))
        self.deleting, self.delete_id = False, 0
        await self._reload()
        yield rx.toast.success(f"Point group “{name}” deleted.")


def _list_row(row: rx.Var) -> rx.Component:
    S = PointGroupsState
    name = row["name"].to(str)
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
        rx.table.cell(
            rx.hstack(
                rx.icon_button(rx.icon("pencil", size=14), size="1", variant="soft", aria_label="Edit " + name,
                               on_click=S.open_edit(row["id"])),
                rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                               aria_label="Delete " + name, on_click=S.ask_delete(row["id"])),
                spacing="2",
                justify="end",
            ),
        ),
        _hover={"background": rx.color("gray", 2)},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.el.caption("Point groups", style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    plain_header("Name"),
                    plain_header("Description"),
                    rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN), width="6rem"),
                ),
            ),
            rx.table.body(rx.foreach(PointGroupsState.rows, _list_row)),
            variant="surface",
            size="2",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def _dialog() -> rx.Component:
    S = PointGroupsState
    error = S.errors["name"]
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.dialog_title),
            rx.dialog.description("A group keeps its own score per contact, apart from the total points.", size="2",
                                  color=rx.color("gray", 11), margin_bottom="1rem"),
            rx.form(
                rx.vstack(
                    labelled("Name", rx.input(id="group-name", name="name", default_value=S.draft["name"], auto_focus=True,
                                              width="100%", aria_required=True, aria_invalid=error != "",
                                              aria_describedby=rx.cond(error != "", "group-name-error", "")),
                             "group-name", required=True, error=error),
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


def _toolbar() -> rx.Component:
    S = PointGroupsState
    return rx.form(
        rx.hstack(
            rx.input(rx.input.slot(rx.icon("search", size=16)), name="q", value=S.search_input, on_change=S.set_search_input,
                     placeholder="Search by name…", aria_label="Point group search", width="100%"),
            rx.button("Search", type="submit", variant="soft"),
            rx.cond(S.search != "", rx.button("Clear", type="button", variant="ghost", color_scheme="gray", on_click=S.clear_search)),
            align="center",
            spacing="2",
            width="100%",
        ),
        on_submit=S.apply_search,
        role="search",
        aria_label="Point groups",
        width="100%",
        max_width="36rem",
    )


@template(route=ROUTE, title="Point groups", on_load=PointGroupsState.load)
def point_groups_page() -> rx.Component:
    S = PointGroupsState
    return rx.vstack(
        page_header("Point groups", rx.button(rx.icon("plus", size=16), "New point group", on_click=S.open_new)),
        section_nav(ROUTE),
        _toolbar(),
        rx.cond(
            S.error != "",
            rx.callout(S.error, icon="triangle-alert", color_scheme="amber", role="alert", width="100%"),
            rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status", aria_live="polite"),
        ),
        rx.cond(
            S.loaded,
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(
                    _table(),
                    pager(S.page, S.pages, S.total >= 0, S.prev_page, S.next_page, S.page_size, S.set_page_size, PAGE_SIZES),
                    width="100%",
                    spacing="0",
                ),
                rx.cond(S.error == "", rx.center(
                    rx.text(rx.cond(S.search != "", "No point groups match.",
                                    "No point groups yet. Create one to keep a separate score, per product line for example."),
                            color=rx.color("gray", 10)),
                    width="100%",
                    padding="3rem",
                )),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        _dialog(),
        confirm_dialog(
            open=S.delete_open,
            title="Delete point group",
            description="Delete the point group “" + S.delete_name + "”? Contacts' scores in it are removed; its actions "
                        "and triggers use the total points instead. This cannot be undone.",
            confirm_label="Delete",
            on_confirm=S.confirm_delete,
            on_cancel=S.cancel_delete,
            busy=S.deleting,
        ),
        spacing="3",
        width="100%",
    )
