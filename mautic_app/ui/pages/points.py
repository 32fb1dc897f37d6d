"""Point actions: the behaviours that score contacts (visits a URL, a landing page...), paged, with a create / edit dialog."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain import points as rules
from mautic_app.services import points
from mautic_app.ui.components.list_dialog import ListDialog, dialog_input, new_button, publish_window, record_dialog
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
from mautic_app.ui.components.points import as_text, form_properties, property_inputs, section_nav, type_options
from mautic_app.ui.components.widgets import error_aria, form_flag, labelled, native_select, option_list, switch_field, when_input
from mautic_app.ui.layout import page_header, template

PROP_PREFIX = "prop_"
PROPERTY_KEYS = rules.property_keys(rules.ACTION_TYPES.values())
FORM_KEYS = ("name", "description", "type", "delta", "group", "publish_up", "publish_down", "properties", "id", *PROPERTY_KEYS)
DEFAULT_TYPE = "url.hit"
COLUMNS = ("Name", "When a contact…", "Points", "Scores", "How often")


def _row(action, group_names: dict[int, str]) -> dict[str, str]:
    kind = rules.ACTION_TYPES.get(action.type)
    return {
        "id": str(action.id),
        "name": action.name,
        "type_label": kind.label if kind else action.type,
        "summary": rules.summary(rules.ACTION_TYPES, action.type, action.properties),
        "delta": f"{action.delta:+d}",
        "group": group_names.get(action.group_id, "") if action.group_id else "",
        "repeatable": "Every time" if action.repeatable else "Once",
        "published": "1" if action.is_published else "",
    }


def _load(search: str, start: int, limit: int) -> dict[str, Any]:
    with session_scope() as session:
        rows, total = points.list_actions(session=session, search=search, start=start, limit=limit)
        names = points.group_names(session=session, ids=[r.group_id for r in rows])
        return {"rows": [_row(r, names) for r in rows], "total": total, "groups": points.group_options(session=session)}


def _draft(action_id: int | None) -> dict[str, Any] | None:
    """The dialog's starting values: a blank action, or the stored one (None when it is gone)."""
    draft = {"name": "", "description": "", "type": DEFAULT_TYPE, "delta": "0", "group_id": "", "repeatable": "",
             "published": "1", "publish_up": "", "publish_down": ""} | {k: "" for k in PROPERTY_KEYS}
    if not action_id:
        return draft
    with session_scope() as session:
        action = points.get_action(session=session, action_id=action_id)
        if action is None:
            return None
        return draft | {
            "name": action.name, "description": action.description, "type": action.type, "delta": str(action.delta),
            "group_id": str(action.group_id or ""), "repeatable": "1" if action.repeatable else "",
            "published": "1" if action.is_published else "", "publish_up": when_input(action.publish_up),
            "publish_down": when_input(action.publish_down),
        } | {k: as_text(v) for k, v in (action.properties or {}).items() if k in PROPERTY_KEYS}


def _save(action_id: int | None, values: dict[str, Any]) -> str:
    with session_scope() as session:
        return points.save_action(session=session, action_id=action_id, **values).name


def _delete(action_id: int) -> None:
    with session_scope() as session:
        points.delete_actions(session=session, action_ids=[action_id])


class PointActionsState(ListDialog, PagedList, rx.State):
    noun: ClassVar[str] = "point action"
    nouns: ClassVar[str] = "point actions"
    follow_topics: ClassVar[tuple[str, ...]] = ("point_actions", "point_groups")
    refusal: ClassVar[tuple[type[Exception], ...]] = (points.PointError,)
    form_keys: ClassVar[tuple[str, ...]] = FORM_KEYS

    groups: list[dict[str, str]] = []
    # The type is controlled: it decides which properties the dialog asks for.
    f_type: str = DEFAULT_TYPE

    async def _reload(self) -> None:
        data = await self._fetch_page(_load)
        if data is not None:
            self.groups = data["groups"]

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    async def _open(self, action_id: int):
        draft = await rx.run_in_thread(lambda: _draft(action_id or None))
        if draft is None:
            await self._reload()
            return rx.toast.error("This point action no longer exists.")
        self.f_type = draft["type"]
        self._open_dialog(action_id, draft)

    @rx.event
    async def open_new(self):
        return await self._open(0)

    @rx.event
    async def open_edit(self, row_id: str):
        if row_id.isdigit():
            return await self._open(int(row_id))

    @rx.event
    def set_type(self, value: str):
        if value in rules.ACTION_TYPES:
            self.f_type = value

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        kind = rules.ACTION_TYPES.get(self.f_type) or rules.ACTION_TYPES[DEFAULT_TYPE]
        props = form_properties(kind, form, PROP_PREFIX)
        values = {
            "name": str(form.get("name", "")), "description": str(form.get("description", "")), "type": kind.key,
            "delta": str(form.get("delta", "")), "group_id": str(form.get("group_id", "")),
            "repeatable": form_flag(form, "repeatable"), "is_published": form_flag(form, "is_published"),
            "publish_up": str(form.get("publish_up", "")), "publish_down": str(form.get("publish_down", "")),
            "properties": props,
        }
        self.draft = self.draft | {k: values[k] for k in ("name", "description", "delta", "group_id", "publish_up", "publish_down")} | {
            "repeatable": "1" if values["repeatable"] else "", "published": "1" if values["is_published"] else ""} | props
        action_id = self.edit_id or None
        async for update in self._submit(lambda: _save(action_id, values)):
            yield update


# ---------------------------------------------------------------- view


def _list_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(named_row(row, rx.text(row["name"], weight="medium"))),
        rx.table.cell(rx.text(row["summary"], title=row["type_label"]), max_width="28rem", overflow="hidden",
                      text_overflow="ellipsis", white_space="nowrap"),
        rx.table.cell(row["delta"]),
        rx.table.cell(rx.cond(row["group"] != "", row["group"], rx.text("Total", color=rx.color("gray", 10)))),
        rx.table.cell(row["repeatable"]),
        rx.table.cell(row_actions(PointActionsState, row)),
        _hover={"background": rx.color("gray", 2)},
    )


def _dialog() -> rx.Component:
    S = PointActionsState
    return record_dialog(
        S,
        "Contacts gain (or lose) these points when they do this.",
        dialog_input(S, "Name", "name", "action-name", required=True, auto_focus=True),
        dialog_input(S, "Description", "description", "action-description", text_area=True, rows="2"),
        labelled("When a contact…",
                 native_select(*type_options(rules.ACTION_TYPES), id="action-type", name="type", value=S.f_type,
                               on_change=S.set_type, **error_aria(S.errors["type"], "action-type")),
                 "action-type", error=S.errors["type"]),
        rx.match(
            S.f_type,
            *[(key, property_inputs(kind, name_prefix=PROP_PREFIX, values=S.draft, errors=S.errors))
              for key, kind in rules.ACTION_TYPES.items()],
            rx.fragment(),
        ),
        rx.grid(
            dialog_input(S, "Points change", "delta", "action-delta", type="number", step="1",
                         hint="Negative numbers take points away."),
            labelled("Point group",
                     native_select(*option_list(S.groups, blank="None: the total points"), id="action-group",
                                   name="group_id", default_value=S.draft["group_id"],
                                   **error_aria(S.errors["group"], "action-group")),
                     "action-group", error=S.errors["group"]),
            *publish_window(S, "action"),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        rx.hstack(
            switch_field("action", "repeatable", "Score every time (repeatable)", S.draft["repeatable"] == "1"),
            switch_field("action", "is_published", "Published", S.draft["published"] == "1"),
            spacing="5",
            wrap="wrap",
        ),
        problems=("id", "properties"),
        max_width="44rem",
    )


@template(route=routes.POINT_ACTIONS, title="Point actions", on_load=PointActionsState.load)
def point_actions_page() -> rx.Component:
    S = PointActionsState
    return rx.vstack(
        page_header("Point actions", new_button(S, "New point action")),
        section_nav(routes.POINT_ACTIONS),
        search_form(S, "Point actions"),
        list_status(S),
        list_body(
            S,
            list_table(S, "Point actions", COLUMNS, _list_row),
            empty_message(S, "No point actions match.", "No point actions yet. Create one to score what contacts do.",
                          icon="trophy"),
        ),
        _dialog(),
        delete_confirmation(S, "Points it already gave stay."),
        spacing="3",
        width="100%",
    )
