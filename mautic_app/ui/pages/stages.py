"""Stages: the lifecycle steps a contact moves through (name, weight, description), with live counts."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import stages
from mautic_app.ui.components.list_dialog import ListDialog, dialog_input, new_button, record_dialog
from mautic_app.ui.components.paged_list import all_rows_body, delete_confirmation, named_row, row_actions
from mautic_app.ui.components.widgets import form_flag, switch_field
from mautic_app.ui.layout import page_header, template


def _contacts_href(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return routes.contacts_search(f'stage:"{escaped}"')


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


class StagesState(ListDialog, rx.State):
    noun: ClassVar[str] = "stage"
    nouns: ClassVar[str] = "stages"
    follow_topics: ClassVar[tuple[str, ...]] = ("stages", "contacts")
    refusal: ClassVar[tuple[type[Exception], ...]] = (stages.StageError,)
    blank: ClassVar[dict[str, str]] = {"name": "", "weight": "0", "description": "", "published": "1"}
    form_keys: ClassVar[tuple[str, ...]] = ("name", "weight", "description", "id")

    async def _reload(self) -> None:
        await self._fetch_all(_load)

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        values = {
            "name": str(form.get("name", "")),
            "weight": str(form.get("weight", "")),
            "description": str(form.get("description", "")),
            "is_published": form_flag(form, "is_published"),
        }
        self.draft = {"name": values["name"], "weight": values["weight"], "description": values["description"],
                      "published": "1" if values["is_published"] else ""}
        stage_id = self.edit_id or None
        async for update in self._submit(lambda: _save(stage_id, values)):
            yield update


# ---------------------------------------------------------------- view


def _row(row: rx.Var) -> rx.Component:
    name = row["name"].to(str)
    return rx.table.row(
        rx.table.row_header_cell(named_row(row, rx.text(row["name"], weight="medium"))),
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
    return record_dialog(
        S,
        "Contacts move through stages in order of weight.",
        dialog_input(S, "Name", "name", "stage-name", required=True, auto_focus=True),
        dialog_input(S, "Weight", "weight", "stage-weight", type="number", step="1", width="8rem"),
        dialog_input(S, "Description", "description", "stage-description", text_area=True, rows="3"),
        switch_field("stage", "is_published", "Published", S.draft["published"] == "1"),
    )


@template(route=routes.STAGES, title="Stages", on_load=StagesState.load)
def stages_page() -> rx.Component:
    S = StagesState
    return rx.vstack(
        page_header("Stages", new_button(S, "New stage")),
        all_rows_body(S, "Stages", ("Name", "Weight", "Description", "Contacts"), _row, empty_icon="milestone",
                      empty_text="No stages yet. Create one to track where contacts are in their journey."),
        _dialog(),
        delete_confirmation(S, "Contacts in it will have no stage."),
        spacing="3",
        width="100%",
    )
