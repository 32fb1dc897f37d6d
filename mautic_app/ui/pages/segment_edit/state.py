"""The segment page's state: its details, the filter rows with their live count and sample, and the
members of a saved segment, followed live while it is rebuilt."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.domain import segments as rules
from mautic_app.services import segments
from mautic_app.ui import live
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.pages.segment_edit import data
from mautic_app.ui.session import SessionState


def _no_errors() -> dict[str, str]:
    return {"name": "", "filters": ""}


class SegmentEditState(RecordPage, rx.State):
    segment_id: int = 0
    loaded: bool = False
    name: str = ""
    description: str = ""
    published: bool = True
    # The builder: one dict per filter, all strings (multi-values joined with |).
    filters: list[dict[str, str]] = []
    groups: list[dict[str, Any]] = []
    field_types: dict[str, str] = {}
    field_labels: dict[str, str] = {}
    field_options: dict[str, list[dict[str, str]]] = {}
    field_values: dict[str, list[str]] = {}  # the same values, as a typed list of them is suggested from
    type_operators: dict[str, list[dict[str, str]]] = {}
    # The live count.
    count: int = 0
    counting: bool = False
    count_error: str = ""
    error_index: int = -1
    sample: list[dict[str, str]] = []
    # Saving and the members of a saved segment.
    errors: dict[str, str] = _no_errors()
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
        return "1 contact matches now" if self.count == 1 else f"{self.count:,} contacts match now"

    @rx.var
    def member_label(self) -> str:
        if self.built == "Not built yet":
            return "No members yet"
        return "1 member" if self.member_total == 1 else f"{self.member_total:,} members"

    # ------------------------------------------------------------ loading

    @rx.event
    async def load(self):
        segment_id = routes.id_in_path(self.router.url.path, routes.SEGMENT) or 0
        cat = await rx.run_in_thread(data.catalogue)
        self.groups, self.field_types, self.field_labels = cat["groups"], cat["types"], cat["labels"]
        self.field_options, self.type_operators = cat["options"], cat["operators"]
        self.field_values = {k: [o["value"] for o in v] for k, v in cat["options"].items()}
        self.segment_id, self.missing, self.errors = segment_id, False, _no_errors()
        self.members, self.member_total, self.built, self.rebuilding = [], 0, "", False
        if segment_id:
            saved = await rx.run_in_thread(lambda: data.read(segment_id))
            if saved is None:
                self.missing, self.loaded = True, True
                self._loaded_here()
                return
            self.name, self.description, self.published = saved["name"], saved["description"], saved["published"]
            self.filters = [self._row_from(f) for f in saved["filters"]]
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
        found = await rx.run_in_thread(lambda: data.members(sid))
        self.members, self.member_total, self.built = found["rows"], found["total"], found["built"]

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
            result = await rx.run_in_thread(lambda: data.preview(filters, sid))
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
        self._set(index, field=key, type=kind, operator=operator, value="", value2="", find="")  # the search is done
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
    def set_detail(self, key: str, value: str | bool):
        """The name, the description or whether it is published."""
        if key in ("name", "description"):
            setattr(self, key, str(value))
        elif key == "published":
            self.published = bool(value)

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
            new_id = await rx.run_in_thread(lambda: data.save(sid, values, user_id))
        except segments.SegmentError as exc:
            self.saving = False
            self.errors = _no_errors() | {k: str(v) for k, v in exc.errors.items() if k in ("name", "filters")}
            return
        self.saving, self.rebuilding = False, True
        yield rx.toast.success(f"Segment “{self.name}” saved; its members are being brought up to date.")
        if not sid:
            yield rx.redirect(routes.segment(new_id))

    @rx.event
    async def add_member(self, form: dict):
        text, sid = str(form.get("contact", "")), self.segment_id
        user_id = (await self.get_state(SessionState)).user_id
        if not sid:
            return
        contact_id = await rx.run_in_thread(lambda: data.find_contact(text))
        if contact_id is None:
            self.member_error = "No contact with that e-mail or id."
            return
        self.member_error = ""
        await rx.run_in_thread(lambda: data.change_member(sid, contact_id, True, user_id))
        await self._load_members()

    @rx.event
    async def remove_member(self, contact_id: str):
        sid = self.segment_id
        user_id = (await self.get_state(SessionState)).user_id
        if not sid or not contact_id.isdigit():
            return
        await rx.run_in_thread(lambda: data.change_member(sid, int(contact_id), False, user_id))
        await self._load_members()

    @rx.event
    async def rebuild_now(self):
        if not self.segment_id or self.rebuilding:
            return
        self.rebuilding = True
        sid = self.segment_id
        await rx.run_in_thread(lambda: segments.queue_rebuild(sid))
