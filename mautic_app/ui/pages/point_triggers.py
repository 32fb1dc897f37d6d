"""Point triggers: at a score (total or a group's), run events such as modifying tags; paged, edited in a dialog."""

from __future__ import annotations

from collections.abc import Mapping
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
from mautic_app.ui.components.widgets import (
    VISUALLY_HIDDEN,
    error_aria,
    form_flag,
    labelled,
    native_select,
    option_list,
    switch_field,
    when_input,
)
from mautic_app.ui.layout import page_header, template

FORM_KEYS = ("name", "description", "points", "group", "color", "publish_up", "publish_down", "events", "id")
EVENT_KEYS = rules.property_keys(rules.TRIGGER_EVENT_TYPES.values())
EVENT_ERRORS = ("type", "name", "properties", "any", *EVENT_KEYS)
COLUMNS = ("Name", "Minimum points", "Watches", "Events", "Contacts reached")
DEFAULT_EVENT = next(k for k, t in rules.TRIGGER_EVENT_TYPES.items() if t.available)


def _row(trigger, events, group_names: dict[int, str], reached: dict[int, int]) -> dict[str, str]:
    return {
        "id": str(trigger.id),
        "name": trigger.name,
        "color": trigger.color,
        "points": str(trigger.points),
        "group": group_names.get(trigger.group_id, "") if trigger.group_id else "",
        "events": "; ".join(rules.summary(rules.TRIGGER_EVENT_TYPES, e.type, e.properties) for e in events) or "No events",
        "reached": str(reached.get(trigger.id, 0)),
        "published": "1" if trigger.is_published else "",
    }


def _load(search: str, start: int, limit: int) -> dict[str, Any]:
    with session_scope() as session:
        rows, total = points.list_triggers(session=session, search=search, start=start, limit=limit)
        ids = [r.id for r in rows]
        events = points.events_of(session=session, trigger_ids=ids)
        names = points.group_names(session=session, ids=[r.group_id for r in rows])
        reached = points.trigger_counts(session=session, trigger_ids=ids)
        return {"rows": [_row(r, events[r.id], names, reached) for r in rows], "total": total, "groups": points.group_options(session=session)}


def _event(uid: int, event_type: str, event_id: str = "", name: str = "", properties: dict[str, Any] | None = None) -> dict[str, str]:
    """An event as the dialog holds it: its values as text and an error slot per field."""
    kind = rules.TRIGGER_EVENT_TYPES.get(event_type)
    return {"uid": str(uid), "id": event_id, "type": event_type, "type_label": kind.label if kind else event_type, "name": name} \
        | {k: as_text((properties or {}).get(k)) for k in EVENT_KEYS} | {f"err_{k}": "" for k in EVENT_ERRORS}


def _draft(trigger_id: int | None) -> dict[str, Any] | None:
    draft = {"name": "", "description": "", "points": "0", "group_id": "", "color": rules.DEFAULT_COLOR, "existing": "",
             "published": "1", "publish_up": "", "publish_down": ""}
    if not trigger_id:
        return {"draft": draft, "events": [_event(1, DEFAULT_EVENT)]}
    with session_scope() as session:
        trigger = points.get_trigger(session=session, trigger_id=trigger_id)
        if trigger is None:
            return None
        events = points.events_of(session=session, trigger_ids=[trigger_id])[trigger_id]
        return {
            "draft": draft | {
                "name": trigger.name, "description": trigger.description, "points": str(trigger.points),
                "group_id": str(trigger.group_id or ""), "color": trigger.color, "existing": "1" if trigger.trigger_existing else "",
                "published": "1" if trigger.is_published else "", "publish_up": when_input(trigger.publish_up),
                "publish_down": when_input(trigger.publish_down),
            },
            "events": [_event(i, e.type, str(e.id), e.name, e.properties) for i, e in enumerate(events, start=1)],
        }


def _save(trigger_id: int | None, values: dict[str, Any]) -> str:
    with session_scope() as session:
        return points.save_trigger(session=session, trigger_id=trigger_id, **values).name


def _delete(trigger_id: int) -> None:
    with session_scope() as session:
        points.delete_triggers(session=session, trigger_ids=[trigger_id])


def _event_prefix(uid: str | rx.Var) -> str | rx.Var:
    return "ev" + uid + "_"


class PointTriggersState(ListDialog, PagedList, rx.State):
    noun: ClassVar[str] = "trigger"
    nouns: ClassVar[str] = "triggers"
    follow_topics: ClassVar[tuple[str, ...]] = ("point_triggers", "point_groups")
    refusal: ClassVar[tuple[type[Exception], ...]] = (points.PointError,)
    form_keys: ClassVar[tuple[str, ...]] = FORM_KEYS

    groups: list[dict[str, str]] = []
    # The dialog's events: a list it adds to and removes from.
    events: list[dict[str, str]] = []
    new_event_type: str = DEFAULT_EVENT
    next_uid: int = 1

    async def _reload(self) -> None:
        data = await self._fetch_page(_load)
        if data is not None:
            self.groups = data["groups"]

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    async def _open(self, trigger_id: int):
        data = await rx.run_in_thread(lambda: _draft(trigger_id or None))
        if data is None:
            await self._reload()
            return rx.toast.error("This trigger no longer exists.")
        self.events = data["events"]
        self.next_uid = len(self.events) + 1
        self._open_dialog(trigger_id, data["draft"])

    @rx.event
    async def open_new(self):
        return await self._open(0)

    @rx.event
    async def open_edit(self, row_id: str):
        if row_id.isdigit():
            return await self._open(int(row_id))

    @rx.event
    def set_new_event_type(self, value: str):
        kind = rules.TRIGGER_EVENT_TYPES.get(value)
        if kind is not None and kind.available:
            self.new_event_type = value

    @rx.event
    def add_event(self):
        if len(self.events) < points.MAX_EVENTS:
            self.events = [*self.events, _event(self.next_uid, self.new_event_type)]
            self.next_uid += 1

    @rx.event
    def remove_event(self, uid: str):
        self.events = [e for e in self.events if e["uid"] != uid]

    def _events_from(self, form: dict) -> list[dict[str, Any]]:
        """Each event's submitted values, keeping the dialog's copy in step for when it re-renders."""
        submitted, kept = [], []
        for event in self.events:
            kind = rules.TRIGGER_EVENT_TYPES.get(event["type"])
            prefix = _event_prefix(event["uid"])
            props = form_properties(kind, form, prefix) if kind else {}
            name = str(form.get(prefix + "name", event["name"]))
            submitted.append({"id": event["id"] or None, "type": event["type"], "name": name, "properties": props})
            kept.append(event | {"name": name} | props | {f"err_{k}": "" for k in EVENT_ERRORS})
        self.events = kept
        return submitted

    def _show_errors(self, errors: Mapping[str, Any]) -> None:
        top = {k: "" for k in FORM_KEYS}
        events = [dict(e) for e in self.events]
        for key, message in errors.items():
            parts = key.split(".")
            if parts[0] == "events" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(events):
                event = events[int(parts[1])]
                field = parts[2] if len(parts) > 2 and f"err_{parts[2]}" in event else "any"
                event[f"err_{field}"] = str(message)
            elif key in top:
                top[key] = str(message)
            else:
                top["id"] = (top["id"] + " " + str(message)).strip()
        self.errors, self.events = top, events

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        values = {
            "name": str(form.get("name", "")), "description": str(form.get("description", "")),
            "points": str(form.get("points", "")), "group_id": str(form.get("group_id", "")),
            "color": str(form.get("color", "")), "trigger_existing": form_flag(form, "trigger_existing"),
            "is_published": form_flag(form, "is_published"), "publish_up": str(form.get("publish_up", "")),
            "publish_down": str(form.get("publish_down", "")), "events": self._events_from(form),
        }
        self.draft = self.draft | {k: values[k] for k in ("name", "description", "points", "group_id", "color", "publish_up",
                                                          "publish_down")} | {
            "existing": "1" if values["trigger_existing"] else "", "published": "1" if values["is_published"] else ""}
        trigger_id = self.edit_id or None
        async for update in self._submit(lambda: _save(trigger_id, values)):
            yield update


# ---------------------------------------------------------------- view


def _list_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(named_row(
            row,
            rx.box(width="0.75rem", height="0.75rem", border_radius="50%", background=row["color"], aria_hidden="true",
                   flex_shrink="0"),
            rx.text(row["name"], weight="medium"),
        )),
        rx.table.cell(row["points"]),
        rx.table.cell(rx.cond(row["group"] != "", row["group"], rx.text("Total points", color=rx.color("gray", 10)))),
        rx.table.cell(row["events"], max_width="24rem"),
        rx.table.cell(row["reached"]),
        rx.table.cell(row_actions(PointTriggersState, row)),
        _hover={"background": rx.color("gray", 2)},
    )


def _event_card(event: rx.Var, index: rx.Var) -> rx.Component:
    S = PointTriggersState
    prefix = _event_prefix(event["uid"].to(str))
    number = (index + 1).to_string()
    general = event["err_any"].to(str) + " " + event["err_type"].to(str) + " " + event["err_properties"].to(str)
    has_general = (event["err_any"] != "") | (event["err_type"] != "") | (event["err_properties"] != "")
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Event " + number + ": " + event["type_label"].to(str), size="2", as_="h3"),
                rx.spacer(),
                rx.icon_button(rx.icon("x", size=14), type="button", size="1", variant="soft", color_scheme="gray",
                               aria_label="Remove event " + number, on_click=S.remove_event(event["uid"])),
                align="center",
                width="100%",
            ),
            labelled("Event name", rx.input(id=prefix + "name", name=prefix + "name", default_value=event["name"].to(str),
                                            width="100%", placeholder=event["type_label"].to(str)),
                     prefix + "name", error=event["err_name"].to(str)),
            rx.match(
                event["type"],
                *[(key, property_inputs(kind, name_prefix=prefix, values=event, errors=event, error_prefix="err_"))
                  for key, kind in rules.TRIGGER_EVENT_TYPES.items()],
                rx.fragment(),
            ),
            rx.cond(has_general, rx.text(general, color=rx.color("red", 11), size="1", role="alert")),
            spacing="3",
            width="100%",
        ),
        key=event["uid"],
        width="100%",
    )


def _events_editor() -> rx.Component:
    S = PointTriggersState
    return rx.el.fieldset(
        rx.el.legend(rx.text("Events", size="2", weight="medium"), style={"margin_bottom": "0.5rem"}),
        rx.vstack(
            rx.text("What happens, once per contact, when a contact reaches the minimum points.", size="1",
                    color=rx.color("gray", 10)),
            rx.foreach(S.events, _event_card),
            rx.cond(S.events.length() == 0, rx.text("No events yet.", size="2", color=rx.color("gray", 10))),
            rx.cond(S.errors["events"] != "", rx.text(S.errors["events"], color=rx.color("red", 11), size="1", role="alert")),
            rx.hstack(
                rx.el.label("Event type", html_for="new-event-type", style=VISUALLY_HIDDEN),
                native_select(*type_options(rules.TRIGGER_EVENT_TYPES), id="new-event-type", name="new_event_type", value=S.new_event_type,
                              on_change=S.set_new_event_type, width="16rem"),
                rx.button(rx.icon("plus", size=14), "Add event", type="button", variant="soft", on_click=S.add_event),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        style={"border": "none", "padding": "0", "margin": "0", "width": "100%", "min_width": "0"},
    )


def _dialog() -> rx.Component:
    S = PointTriggersState
    return record_dialog(
        S,
        "When a contact's score reaches the minimum, the events run once for that contact.",
        dialog_input(S, "Name", "name", "trigger-name", required=True, auto_focus=True),
        dialog_input(S, "Description", "description", "trigger-description", text_area=True, rows="2"),
        rx.grid(
            dialog_input(S, "Minimum points", "points", "trigger-points", type="number", step="1"),
            labelled("Point group",
                     native_select(*option_list(S.groups, blank="None: the total points"), id="trigger-group",
                                   name="group_id", default_value=S.draft["group_id"],
                                   **error_aria(S.errors["group"], "trigger-group")),
                     "trigger-group", error=S.errors["group"], hint="Watch this group's score instead of the total."),
            labelled("Colour", rx.el.input(id="trigger-color", name="color", type="color",
                                           default_value=S.draft["color"],
                                           style={"width": "4rem", "height": "var(--space-6)", "padding": "0",
                                                  "border": "1px solid var(--gray-a7)",
                                                  "border_radius": "var(--radius-2)"},
                                           **error_aria(S.errors["color"], "trigger-color")),
                     "trigger-color", error=S.errors["color"]),
            *publish_window(S, "trigger"),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        rx.hstack(
            switch_field("trigger", "trigger_existing", "Apply to contacts already at this score",
                         S.draft["existing"] == "1"),
            switch_field("trigger", "is_published", "Published", S.draft["published"] == "1"),
            spacing="5",
            wrap="wrap",
        ),
        _events_editor(),
        max_width="48rem",
    )


@template(route=routes.POINT_TRIGGERS, title="Point triggers", on_load=PointTriggersState.load)
def point_triggers_page() -> rx.Component:
    S = PointTriggersState
    return rx.vstack(
        page_header("Point triggers", new_button(S, "New trigger")),
        section_nav(routes.POINT_TRIGGERS),
        search_form(S, "Point triggers"),
        list_status(S),
        list_body(
            S,
            list_table(S, "Point triggers", COLUMNS, _list_row),
            empty_message(S, "No triggers match.", "No triggers yet. Create one to act when contacts reach a score.",
                          icon="zap"),
        ),
        _dialog(),
        delete_confirmation(S, "What they already did stays.", along=" and its events"),
        spacing="3",
        width="100%",
    )
