"""One segment: its filter builder with a live count and sample, and its members, live.

``/segments/new`` creates one. Filters are rows: a glue (and / or) from the second on, a field
picked by category (with a search), only the operators the field's type offers (each with its
help), and a value input that suits the type. Every change re-counts the matching contacts.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain import segments as rules
from mautic_app.services import segments
from mautic_app.ui import live
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, labelled, native_select
from mautic_app.ui.layout import RecordPage, page_header, template
from mautic_app.ui.session import SessionState

MEMBERS_SHOWN = 25
MAX_CHECKBOXES = 30  # more options than this: type the values, separated by |
DATE_SUGGESTIONS = rules.RELATIVE_VALUES


def _segment_id(path: str) -> int | None:
    parts = [p for p in (path or "").split("/") if p]
    if len(parts) == 2 and parts[0] == "segments" and parts[1].isdigit():
        return int(parts[1])
    return None


def _catalogue() -> dict[str, Any]:
    """The builder's choices: fields by category, operators by type (with help), options by field."""
    with session_scope() as session:
        fields = segments.filter_fields(session=session)
    groups: dict[str, list[dict[str, str]]] = {}
    for f in fields.values():
        groups.setdefault(f.category, []).append({"key": f.key, "label": f.label})
    ops = {}
    for type_ in {f.type for f in fields.values()}:
        ops[type_] = [{"value": o, "label": rules.OPERATORS[o], "help": rules.OPERATOR_HELP.get(o, "")} for o in rules.operators_for(type_)]
    return {
        "groups": [{"category": c, "fields": sorted(v, key=lambda x: x["label"].lower())} for c, v in groups.items()],
        "types": {f.key: f.type for f in fields.values()},
        "labels": {f.key: f.label for f in fields.values()},
        "options": {f.key: [{"value": v, "label": lbl} for v, lbl in f.options] for f in fields.values() if f.options},
        "operators": ops,
    }


def _read(segment_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        try:
            seg = segments.get_segment(session=session, segment_id=segment_id)
        except segments.SegmentError:
            return None
        return {"name": seg.name, "description": seg.description, "published": seg.is_published, "filters": seg.filters or []}


def _members(segment_id: int) -> dict[str, Any]:
    from mautic_app.services import contacts

    with session_scope() as session:
        try:
            seg = segments.get_segment(session=session, segment_id=segment_id)
        except segments.SegmentError:  # deleted meanwhile
            return {"total": 0, "rows": [], "built": ""}
        page = contacts.list_contacts(session=session, search=f"segment:{seg.alias}", start=0, limit=MEMBERS_SHOWN,
                                      order_by="last_active", direction="desc")
        rows = [{"id": str(r["id"]), "name": f"{r.get('firstname') or ''} {r.get('lastname') or ''}".strip()
                 or r.get("email") or f"Anonymous #{r['id']}", "email": r.get("email") or "", "city": r.get("city") or ""}
                for r in page.rows]
        took = f" in {seg.build_seconds:.2f} s" if seg.build_seconds is not None else ""
        built = f"Built {seg.last_built:%Y-%m-%d %H:%M:%S}{took}" if seg.last_built else "Not built yet"
        return {"total": seg.member_count, "rows": rows, "built": built}


def _preview(filters: list[dict[str, Any]], segment_id: int | None) -> dict[str, Any]:
    with session_scope() as session:
        return segments.preview(session=session, filters=filters, segment_id=segment_id)


def _save(segment_id: int | None, values: dict[str, Any], user_id: int | None) -> int:
    with session_scope() as session:  # the save queues the segment's rebuild once it commits
        return segments.save_segment(session=session, segment_id=segment_id, values=values, user_id=user_id).id


def _find_contact(text: str) -> int | None:
    """A contact by id or exact e-mail, for adding by hand."""
    from mautic_app.services import contacts

    text = text.strip()
    with session_scope() as session:
        if text.isdigit():
            return int(text) if segments.contact_exists(session=session, contact_id=int(text)) else None
        return contacts.find_existing(session=session, values={"email": text}) if "@" in text else None


def _change_member(segment_id: int, contact_id: int, add: bool, user_id: int | None) -> int:
    with session_scope() as session:
        change = segments.add_contacts if add else segments.remove_contacts
        return change(session=session, segment_id=segment_id, contact_ids=[contact_id], user_id=user_id)


class SegmentEditState(RecordPage, rx.State):
    segment_id: int = 0
    loaded: bool = False
    missing: bool = False
    name: str = ""
    description: str = ""
    published: bool = True
    # The builder: one dict per filter, all strings (multi-values joined with |).
    filters: list[dict[str, str]] = []
    groups: list[dict[str, Any]] = []
    field_types: dict[str, str] = {}
    field_labels: dict[str, str] = {}
    field_options: dict[str, list[dict[str, str]]] = {}
    type_operators: dict[str, list[dict[str, str]]] = {}
    # The live count.
    count: int = 0
    counting: bool = False
    count_error: str = ""
    error_index: int = -1
    sample: list[dict[str, str]] = []
    # Saving and the members of a saved segment.
    errors: dict[str, str] = {"name": "", "filters": ""}
    saving: bool = False
    members: list[dict[str, str]] = []
    member_total: int = 0
    built: str = ""
    rebuilding: bool = False
    member_error: str = ""
    _following: bool = False
    _preview_seq: int = 0

    @rx.var
    def title(self) -> str:
        return (self.name or "Segment") if self.segment_id else "New segment"

    @rx.var
    def count_label(self) -> str:
        if self.count_error:
            return "Fix the highlighted filter to count"
        return "1 contact matches" if self.count == 1 else f"{self.count:,} contacts match"

    @rx.var
    def member_label(self) -> str:
        return "1 member" if self.member_total == 1 else f"{self.member_total:,} members"

    # ------------------------------------------------------------ loading

    @rx.event
    async def load(self):
        segment_id = _segment_id(self.router.url.path) or 0
        cat = await rx.run_in_thread(_catalogue)
        self.groups, self.field_types, self.field_labels = cat["groups"], cat["types"], cat["labels"]
        self.field_options, self.type_operators = cat["options"], cat["operators"]
        self.segment_id, self.missing, self.errors = segment_id, False, {"name": "", "filters": ""}
        self.members, self.member_total, self.built, self.rebuilding = [], 0, "", False
        if segment_id:
            data = await rx.run_in_thread(lambda: _read(segment_id))
            if data is None:
                self.missing, self.loaded = True, True
                self._loaded_here()
                return
            self.name, self.description, self.published = data["name"], data["description"], data["published"]
            self.filters = [self._row_from(f) for f in data["filters"]]
            await self._load_members()
        else:
            self.name, self.description, self.published, self.filters = "", "", True, []
        self.loaded = True
        await self._count()
        self._loaded_here()
        return SegmentEditState.follow_changes

    def _row_from(self, f: dict[str, Any]) -> dict[str, str]:
        value = f.get("value")
        second = ""
        if isinstance(value, list) and f.get("operator") in ("between", "!between"):
            value, second = (value + ["", ""])[:2]
        elif isinstance(value, list):
            value = "|".join(str(v) for v in value)
        field = str(f.get("field", ""))
        return {"glue": str(f.get("glue", "and")), "field": field, "type": self.field_types.get(field, "text"),
                "operator": str(f.get("operator", "=")), "value": "" if value is None else str(value), "value2": str(second), "find": ""}

    async def _load_members(self) -> None:
        sid = self.segment_id
        data = await rx.run_in_thread(lambda: _members(sid))
        self.members, self.member_total, self.built = data["rows"], data["total"], data["built"]

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            if not self.segment_id:
                return
            mine = [p for p in batch if self.segment_id in p.get("ids", [])]
            if any("rebuilding" in p.get("actions", []) for p in mine):
                self.rebuilding = True
            if any("rebuilt" in p.get("actions", []) for p in mine):
                self.rebuilding = False
            if mine:
                await self._load_members()

        await live.follow(self, ["segments"], refresh)

    # ------------------------------------------------------------ the builder

    def _filters_for_service(self) -> list[dict[str, Any]]:
        out = []
        for row in self.filters:
            op = row["operator"]
            if op in rules.NO_VALUE:
                value: Any = None
            elif op in ("between", "!between"):
                value = [row["value"], row["value2"]]
            elif op in rules.MULTI_VALUE:
                value = [v for v in row["value"].split("|") if v.strip()]
            else:
                value = row["value"]
            out.append({"glue": row["glue"], "field": row["field"], "operator": op, "value": value})
        return out

    async def _count(self) -> None:
        self._preview_seq += 1
        seq = self._preview_seq
        complete = [f for f in self.filters if f["field"]]
        if len(complete) != len(self.filters):
            self.count_error, self.error_index = "Choose a field for every filter.", -1
            return
        filters, sid = self._filters_for_service(), self.segment_id or None
        self.counting = True
        try:
            result = await rx.run_in_thread(lambda: _preview(filters, sid))
        except rules.FilterError as exc:
            self.count_error = f"Filter {exc.index + 1}: {exc}" if exc.index is not None else str(exc)
            self.error_index = exc.index if exc.index is not None else -1
            self.counting = False
            return
        if seq != self._preview_seq:
            return  # a newer change is being counted
        self.count, self.sample, self.count_error, self.error_index = result["total"], result["sample"], "", -1
        self.counting = False

    @rx.event
    async def add_filter(self):
        self.filters = [*self.filters, {"glue": "and", "field": "", "type": "text", "operator": "=", "value": "", "value2": "",
                                        "find": ""}]

    @rx.event
    async def remove_filter(self, index: int):
        self.filters = [f for i, f in enumerate(self.filters) if i != index]
        await self._count()

    @rx.event
    def set_find(self, index: int, text: str):
        self._set(index, find=text[:60])

    @rx.event
    async def set_field(self, index: int, key: str):
        kind = self.field_types.get(key, "text")
        ops = [o["value"] for o in self.type_operators.get(kind, [])]
        row = self.filters[index]
        operator = row["operator"] if row["operator"] in ops else (ops[0] if ops else "=")
        self._set(index, field=key, type=kind, operator=operator, value="", value2="")
        await self._count()

    @rx.event
    async def set_operator(self, index: int, operator: str):
        self._set(index, operator=operator, value="" if operator in rules.MULTI_VALUE else self.filters[index]["value"])
        await self._count()

    @rx.event
    async def set_glue(self, index: int, glue: str):
        self._set(index, glue="or" if glue == "or" else "and")
        await self._count()

    @rx.event
    async def set_value(self, index: int, value: str):
        self._set(index, value=value[:rules.MAX_VALUE])
        await self._count()

    @rx.event
    async def set_value2(self, index: int, value: str):
        self._set(index, value2=value[:rules.MAX_VALUE])
        await self._count()

    @rx.event
    async def toggle_option(self, index: int, option: str, on: bool):
        chosen = [v for v in self.filters[index]["value"].split("|") if v]
        chosen = [v for v in chosen if v != option] + ([option] if on else [])
        self._set(index, value="|".join(chosen))
        await self._count()

    def _set(self, index: int, **changes: str) -> None:
        if 0 <= index < len(self.filters):
            rows = list(self.filters)
            rows[index] = rows[index] | changes
            self.filters = rows

    # ------------------------------------------------------------ saving

    @rx.event
    def set_name(self, value: str):
        self.name = value

    @rx.event
    def set_description(self, value: str):
        self.description = value

    @rx.event
    def set_published(self, value: bool):
        self.published = value

    @rx.event
    async def save(self):
        if self.saving:
            return
        self.saving = True
        yield
        values = {"name": self.name, "description": self.description, "is_published": self.published,
                  "filters": self._filters_for_service()}
        sid = self.segment_id or None
        user_id = (await self.get_state(SessionState)).user_id
        try:
            new_id = await rx.run_in_thread(lambda: _save(sid, values, user_id))
        except segments.SegmentError as exc:
            self.saving = False
            self.errors = {"name": "", "filters": ""} | {k: str(v) for k, v in exc.errors.items() if k in ("name", "filters")}
            return
        self.saving, self.rebuilding = False, True
        yield rx.toast.success(f"Segment “{self.name}” saved; its members are being brought up to date.")
        if not sid:
            yield rx.redirect(f"/segments/{new_id}")

    @rx.event
    async def add_member(self, form: dict):
        text, sid = str(form.get("contact", "")), self.segment_id
        user_id = (await self.get_state(SessionState)).user_id
        if not sid:
            return
        contact_id = await rx.run_in_thread(lambda: _find_contact(text))
        if contact_id is None:
            self.member_error = "No contact with that e-mail or id."
            return
        self.member_error = ""
        await rx.run_in_thread(lambda: _change_member(sid, contact_id, True, user_id))
        await self._load_members()

    @rx.event
    async def remove_member(self, contact_id: str):
        sid = self.segment_id
        user_id = (await self.get_state(SessionState)).user_id
        if not sid or not contact_id.isdigit():
            return
        await rx.run_in_thread(lambda: _change_member(sid, int(contact_id), False, user_id))
        await self._load_members()

    @rx.event
    async def rebuild_now(self):
        if not self.segment_id or self.rebuilding:
            return
        self.rebuilding = True
        sid = self.segment_id
        await rx.run_in_thread(lambda: segments.queue_rebuild(sid))


# ---------------------------------------------------------------- view


def _field_picker(row: rx.Var, index: rx.Var) -> rx.Component:
    S = SegmentEditState
    find = row["find"].to(str).lower()

    def option(f: rx.Var) -> rx.Component:
        label = f["label"].to(str)
        return rx.cond((find == "") | label.lower().contains(find) | (f["key"] == row["field"]),
                       rx.el.option(f["label"], value=f["key"]))

    return rx.hstack(
        rx.input(placeholder="Find a field", value=row["find"], on_change=lambda v: S.set_find(index, v), width="9rem",
                 aria_label="Find a field for filter " + (index + 1).to_string()),
        native_select(
            rx.el.option("Choose a field", value="", disabled=True),
            rx.foreach(S.groups, lambda g: rx.el.optgroup(rx.foreach(g["fields"].to(list[dict[str, str]]), option),
                                                            label=g["category"])),
            value=row["field"], on_change=lambda v: S.set_field(index, v), width="14rem",
            aria_label="Field of filter " + (index + 1).to_string(),
        ),
        spacing="2", align="center",
    )


def _value_input(row: rx.Var, index: rx.Var) -> rx.Component:
    S = SegmentEditState
    op, kind = row["operator"].to(str), row["type"].to(str)
    options = S.field_options[row["field"].to(str)].to(list[dict[str, str]])
    has_options = S.field_options.contains(row["field"])
    name = "Value of filter " + (index + 1).to_string()
    chosen = ("|" + row["value"].to(str) + "|")
    text_input = rx.debounce_input(
        rx.input(value=row["value"], on_change=lambda v: S.set_value(index, v), aria_label=name, width="14rem",
                 list=rx.cond((kind == "date") | (kind == "datetime"), "relative-dates", ""),
                 placeholder=rx.cond(op.contains("in"), "Values separated by |", rx.cond((kind == "date") | (kind == "datetime"),
                                                                                          "today, -7 days, 2026-01-31…", "Value"))),
        debounce_timeout=350,
    )
    return rx.cond(
        (op == "empty") | (op == "!empty"),
        rx.fragment(),
        rx.cond(
            (op == "between") | (op == "!between"),
            rx.hstack(
                rx.debounce_input(rx.input(value=row["value"], on_change=lambda v: S.set_value(index, v), aria_label=name + " from",
                                           width="9rem", list="relative-dates"), debounce_timeout=350),
                rx.text("and", size="2"),
                rx.debounce_input(rx.input(value=row["value2"], on_change=lambda v: S.set_value2(index, v), aria_label=name + " to",
                                           width="9rem", list="relative-dates"), debounce_timeout=350),
                align="center", spacing="2",
            ),
            rx.cond(
                kind == "boolean",
                native_select(rx.el.option("Choose", value=""), rx.el.option("Yes", value="1"), rx.el.option("No", value="0"),
                              value=row["value"], on_change=lambda v: S.set_value(index, v), aria_label=name, width="8rem"),
                rx.cond(
                    has_options & (options.length() <= MAX_CHECKBOXES) & ((op == "in") | (op == "!in")),
                    rx.el.fieldset(
                        rx.el.legend(name, style=VISUALLY_HIDDEN),
                        rx.flex(
                            rx.foreach(options, lambda o: rx.el.label(
                                rx.hstack(
                                    rx.checkbox(checked=chosen.contains("|" + o["value"].to(str) + "|"),
                                                on_change=lambda on: S.toggle_option(index, o["value"], on)),
                                    rx.text(o["label"], size="2"), spacing="1", align="center"))),
                            wrap="wrap", gap="2", max_width="28rem",
                        ),
                        style={"border": "none", "padding": "0", "margin": "0"},
                    ),
                    rx.cond(
                        has_options & ((op == "=") | (op == "!=")),
                        native_select(rx.el.option("Choose", value=""), rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])),
                                      value=row["value"], on_change=lambda v: S.set_value(index, v), aria_label=name, width="14rem"),
                        text_input,
                    ),
                ),
            ),
        ),
    )


def _filter_row(row: rx.Var, index: rx.Var) -> rx.Component:
    S = SegmentEditState
    number = (index + 1).to_string()
    ops = S.type_operators[row["type"].to(str)].to(list[dict[str, str]])
    help_text = rx.foreach(ops, lambda o: rx.cond((o["value"] == row["operator"]) & (o["help"] != ""),
                                                  rx.text(o["help"], size="1", color=rx.color("gray", 10))))
    return rx.box(
        rx.vstack(
            rx.cond(
                index > 0,
                native_select(rx.el.option("and", value="and"), rx.el.option("or", value="or"), value=row["glue"],
                              on_change=lambda v: S.set_glue(index, v), width="5rem", aria_label="Glue of filter " + number),
            ),
            rx.flex(
                _field_picker(row, index),
                native_select(rx.foreach(ops, lambda o: rx.el.option(o["label"], value=o["value"])), value=row["operator"],
                              on_change=lambda v: S.set_operator(index, v), width="11rem", aria_label="Operator of filter " + number),
                _value_input(row, index),
                rx.icon_button(rx.icon("x", size=14), size="1", variant="soft", color_scheme="gray",
                               aria_label="Remove filter " + number, on_click=S.remove_filter(index)),
                wrap="wrap", gap="2", align="center",
            ),
            help_text,
            spacing="1",
        ),
        role="group", aria_label="Filter " + number,
        padding="0.6rem", border_radius="var(--radius-3)",
        border=rx.cond(S.error_index == index, "1px solid var(--red-8)", "1px solid var(--gray-a5)"),
        width="100%",
    )


def _count_panel() -> rx.Component:
    S = SegmentEditState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(S.count_label, size="4", role="status", aria_live="polite"),
                rx.cond(S.counting, rx.spinner(size="1")),
                align="center", spacing="2",
            ),
            rx.cond(S.count_error != "", rx.callout(S.count_error, color_scheme="red", role="alert", size="1", width="100%")),
            rx.cond(
                S.sample.length() > 0,
                rx.el.ul(
                    rx.foreach(S.sample, lambda c: rx.el.li(
                        rx.link(c["name"], href="/contacts/" + c["id"].to(str)),
                        rx.text(" " + c["email"].to(str), as_="span", size="1", color=rx.color("gray", 10)))),
                    aria_label="Matching contacts", style={"margin": "0", "padding_left": "1.1rem"},
                ),
            ),
            spacing="2", width="100%",
        ),
        width="100%",
    )


def _members_panel() -> rx.Component:
    S = SegmentEditState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(S.member_label, size="4", role="status", aria_live="polite"),
                rx.spacer(),
                rx.cond(S.rebuilding, rx.hstack(rx.spinner(size="1"), rx.text("Rebuilding…", size="2"), align="center"),
                        rx.text(S.built, size="1", color=rx.color("gray", 10))),
                rx.button(rx.icon("refresh-cw", size=14), "Rebuild now", size="1", variant="soft", on_click=S.rebuild_now,
                          disabled=S.rebuilding),
                align="center", width="100%", spacing="2",
            ),
            rx.table.root(
                rx.el.caption("Members", style=VISUALLY_HIDDEN),
                rx.table.header(rx.table.row(rx.table.column_header_cell("Name"), rx.table.column_header_cell("E-mail"),
                                             rx.table.column_header_cell("City"),
                                             rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN)))),
                rx.table.body(rx.foreach(S.members, lambda m: rx.table.row(
                    rx.table.row_header_cell(rx.link(m["name"], href="/contacts/" + m["id"].to(str))),
                    rx.table.cell(m["email"]), rx.table.cell(m["city"]),
                    rx.table.cell(rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
                                                 aria_label="Remove " + m["name"].to(str) + " from the segment",
                                                 on_click=S.remove_member(m["id"])))))),
                width="100%", size="1",
            ),
            rx.form(
                rx.hstack(
                    rx.input(name="contact", placeholder="E-mail or contact id", aria_label="Add a contact by hand", width="100%"),
                    rx.button("Add", type="submit", variant="soft", size="2"),
                    width="100%", spacing="2",
                ),
                on_submit=S.add_member, reset_on_submit=True, width="100%",
            ),
            rx.cond(S.member_error != "", rx.text(S.member_error, color=rx.color("red", 11), size="1", role="alert")),
            spacing="2", width="100%",
        ),
        width="100%",
    )


@template(route="/segments/[segment_id]", title="Segment", on_load=SegmentEditState.load)
def segment_page() -> rx.Component:
    S = SegmentEditState
    return rx.cond(
        S.missing,
        rx.callout("This segment does not exist (it may have been deleted).", color_scheme="red", role="alert"),
        rx.vstack(
            page_header(S.title, rx.link("All segments", href="/segments", size="2")),
            rx.el.datalist(*[rx.el.option(value=v) for v in DATE_SUGGESTIONS], id="relative-dates"),
            rx.flex(
                rx.vstack(
                    labelled("Name", rx.input(id="segment-name", value=S.name, on_change=S.set_name, width="100%",
                                              aria_invalid=S.errors["name"] != ""),
                             "segment-name", required=True, error=S.errors["name"]),
                    labelled("Description", rx.text_area(id="segment-description", value=S.description,
                                                         on_change=S.set_description, rows="2", width="100%"),
                             "segment-description"),
                    rx.el.label(rx.hstack(rx.switch(checked=S.published, on_change=S.set_published), rx.text("Published", size="2"),
                                          align="center", spacing="2")),
                    rx.heading("Filters", size="3", margin_top="0.5rem"),
                    rx.text("Contacts match when every filter of a group matches; “or” starts a new group.",
                            size="1", color=rx.color("gray", 10)),
                    rx.foreach(S.filters, _filter_row),
                    rx.button(rx.icon("plus", size=14), "Add filter", variant="soft", on_click=S.add_filter),
                    rx.cond(S.errors["filters"] != "", rx.callout(S.errors["filters"], color_scheme="red", role="alert", width="100%")),
                    rx.hstack(rx.button("Save segment", on_click=S.save, loading=S.saving), justify="end", width="100%"),
                    spacing="3", flex="3", min_width="22rem",
                ),
                rx.vstack(_count_panel(), rx.cond(S.segment_id > 0, _members_panel()), flex="2", min_width="18rem", spacing="3"),
                gap="5", wrap="wrap", width="100%", align="start",
            ),
            spacing="3", width="100%",
        ),
    )
