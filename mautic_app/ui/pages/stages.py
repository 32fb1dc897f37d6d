"""Stages: the lifecycle steps a contact moves through (name, weight, description), with live counts."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import stages
from mautic_app.ui import live
from mautic_app.ui.components.paged_list import DeleteConfirm, delete_confirmation, list_table, row_actions
from mautic_app.ui.components.widgets import labelled
from mautic_app.ui.layout import page_header, template

ROUTE = "/stages"
FORM_KEYS = ("name", "weight", "description", "id")


def _contacts_href(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return "/contacts?search=" + quote(f'stage:"{escaped}"')


def _load() -> list[dict[str, str]]:
    with session_scope() as session:
        counts = stages.contact_counts(session=session)
        return [
            {
                "id": str(s.id),
                "name": s.name,
                "weight": str(s.weight),
                "description": s.description or "",
                "published": "1" if s.is_published else "",
                "contacts": str(counts.get(s.id, 0)),
                "contacts_href": _contacts_href(s.name),
            }
            for s in stages.list_stages(session=session)
        ]


def _save(stage_id: int | None, values: dict[str, Any]) -> str:
    with session_scope() as session:
        stage = stages.save_stage(session=session, stage_id=stage_id, **values)
        return stage.name


def _delete(stage_id: int) -> None:
    with session_scope() as session:
        stages.delete_stage(session=session, stage_id=stage_id)


class StagesState(DeleteConfirm, rx.State):
    noun: ClassVar[str] = "stage"

    loaded: bool = False
    # The create / edit dialog.
    editing: bool = False
    edit_id: int = 0
    draft: dict[str, str] = {}
    errors: dict[str, str] = {k: "" for k in FORM_KEYS}
    saving: bool = False
    form_key: int = 0
    _following: bool = False

    @rx.var
    def dialog_title(self) -> str:
        return "Edit stage" if self.edit_id else "New stage"

    @rx.var
    def count_label(self) -> str:
        return "1 stage" if len(self.rows) == 1 else f"{len(self.rows)} stages"

    async def _reload(self) -> None:
        self.rows = await rx.run_in_thread(_load)
        self.loaded = True

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def load(self):
        self.editing, self.delete_id = False, 0
        await self._reload()
        return StagesState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["stages", "contacts"], refresh)

    # ------------------------------------------------------------ create / edit

    @rx.event
    def open_new(self):
        self.edit_id = 0
        self.draft = {"name": "", "weight": "0", "description": "", "published": "1"}
        self.errors = {k: "" for k in FORM_KEYS}
        self.form_key += 1
        self.editing = True

    @rx.event
    def open_edit(self, stage_id: str):
        row = next((r for r in self.rows if r["id"] == stage_id), None)
        if row is None:
            return
        self.edit_id = int(stage_id)
        self.draft = {k: row[k] for k in ("name", "weight", "description", "published")}
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
            "weight": str(form.get("weight", "")),
            "description": str(form.get("description", "")),
            "is_published": str(form.get("is_published", "")).lower() in {"1", "on", "true"},
        }
        self.draft = {"name": values["name"], "weight": values["weight"], "description": values["description"],
                      "published": "1" if values["is_published"] else ""}
        stage_id = self.edit_id or None
        self.saving = True
        yield
        try:
            name = await rx.run_in_thread(lambda: _save(stage_id, values))
        except stages.StageError as exc:
            self.saving = False
            self.errors = {k: "" for k in FORM_KEYS} | {k: str(v) for k, v in exc.errors.items()}
            return
        self.saving = False
        self.editing = False
        await self._reload()
        yield rx.toast.success(f"Stage “{name}” saved.")


# ---------------------------------------------------------------- view


def _row(row: rx.Var) -> rx.Component:
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
        rx.table.cell(row["weight"]),
        rx.table.cell(rx.text(row["description"], color=rx.color("gray", 11)), max_width="28rem"),
        rx.table.cell(
            rx.link(row["contacts"], href=row["contacts_href"], aria_label="Contacts in " + name + ": " + row["contacts"].to(str)),
        ),
        rx.table.cell(row_actions(StagesState, row)),
        _hover={"background": rx.color("gray", 2)},
    )


def _dialog() -> rx.Component:
    S = StagesState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.dialog_title),
            rx.dialog.description("Contacts move through stages in order of weight.", size="2", color=rx.color("gray", 11), margin_bottom="1rem"),
            rx.form(
                rx.vstack(
                    labelled(
                        "Name",
                        rx.input(id="stage-name", name="name", default_value=S.draft["name"], auto_focus=True, width="100%",
                                 aria_invalid=S.errors["name"] != "", aria_required=True,
                                 aria_describedby=rx.cond(S.errors["name"] != "", "stage-name-error", "")),
                        "stage-name",
                        required=True,
                        error=S.errors["name"],
                    ),
                    labelled(
                        "Weight",
                        rx.input(id="stage-weight", name="weight", type="number", step="1", default_value=S.draft["weight"],
                                 width="8rem", aria_invalid=S.errors["weight"] != "",
                                 aria_describedby=rx.cond(S.errors["weight"] != "", "stage-weight-error", "")),
                        "stage-weight",
                        error=S.errors["weight"],
                    ),
                    labelled(
                        "Description",
                        rx.text_area(id="stage-description", name="description", default_value=S.draft["description"],
                                     rows="3", width="100%"),
                        "stage-description",
                        error=S.errors["description"],
                    ),
                    rx.el.label(
                        rx.hstack(
                            rx.switch(name="is_published", value="1", default_checked=S.draft["published"] == "1"),
                            rx.text("Published", size="2"),
                            align="center",
                            spacing="2",
                        ),
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


@template(route=ROUTE, title="Stages", on_load=StagesState.load)
def stages_page() -> rx.Component:
    S = StagesState
    return rx.vstack(
        page_header("Stages", rx.button(rx.icon("plus", size=16), "New stage", on_click=S.open_new)),
        rx.cond(
            S.loaded,
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(
                    rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status"),
                    list_table(S, "Stages", ("Name", "Weight", "Description", "Contacts"), _row),
                    width="100%",
                    spacing="2",
                ),
                rx.center(
                    rx.vstack(
                        rx.icon("milestone", size=32, color=rx.color("gray", 8)),
                        rx.text("No stages yet. Create one to track where contacts are in their journey.",
                                color=rx.color("gray", 10)),
                        align="center",
                    ),
                    width="100%",
                    padding="3rem",
                ),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        _dialog(),
        delete_confirmation(S, "Contacts in it will have no stage."),
        spacing="3",
        width="100%",
    )
