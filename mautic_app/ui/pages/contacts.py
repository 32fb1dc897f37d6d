"""The contacts list: search with Mautic's syntax, sortable chosen columns, paging, bulk actions, live."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain.search import SearchError
from mautic_app.services import contacts, segments
from mautic_app.services import fields as field_service
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import display_name, owner_options, stage_options
from mautic_app.ui.components.field_input import display_value
from mautic_app.ui.components.widgets import (
    VISUALLY_HIDDEN,
    confirm_dialog,
    labelled,
    native_select,
    option_list,
    pager,
    plain_header,
    sort_header,
)
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

PAGE_SIZES = (10, 30, 50, 100, 200)
DEFAULT_COLUMNS = ("email", "company", "country", "stage", "points", "last_active", "id")
# Columns that are not fields: (key, label, sort key or "" when the column cannot be sorted).
SYSTEM_COLUMNS = (
    ("stage", "Stage", ""),
    ("owner", "Owner", ""),
    ("tags", "Tags", ""),
    ("date_added", "Date added", "date_added"),
    ("id", "ID", "id"),
)
NAME_SORT = "lastname"
SEARCH_HELP = (
    ("jane", "Name, e-mail or company containing “jane”"),
    ("email:jane@", "E-mail starting with “jane@”"),
    ("name:smi", "First or last name starting with “smi”"),
    ("tag:vip", "Has the tag vip (quote names with spaces: tag:\"big fish\")"),
    ("company:acme", "Company name starting with “acme”"),
    ("owner:admin", "Owned by that user (username or name)"),
    ("stage:Customer", "In that stage"),
    ("segment:newsletter", "In the segment with that alias"),
    ("is:anonymous", "Anonymous visitors (also is:identified)"),
    ("is:mine", "Contacts you own"),
    ("is:unowned", "Contacts without an owner"),
    ("ids:1,2,3", "Those contact ids"),
    ("!tag:trial", "Prefix any term with ! to exclude it"),
)
BULK_TITLES = {
    "tags_add": "Add tags",
    "tags_remove": "Remove tags",
    "owner": "Set owner",
    "stage": "Set stage",
    "segment_add": "Add to segment",
    "segment_remove": "Remove from segment",
}


def column_catalogue(session) -> list[dict[str, str]]:
    cols = [
        {"key": s.alias, "label": s.label, "sort": s.alias}
        for s in field_service.specs(session=session, obj="contact")
        if s.is_listable and s.alias not in ("firstname", "lastname")
    ]
    return cols + [{"key": k, "label": label, "sort": sort} for k, label, sort in SYSTEM_COLUMNS]


def _load_page(search: str, order_by: str, direction: str, start: int, limit: int, user_id: int,
               columns: list[str]) -> dict[str, Any]:
    with session_scope() as session:
        specs = field_service.spec_map(session=session, obj="contact")
        result = contacts.list_contacts(session=session, search=search, order_by=order_by, direction=direction,
                                        start=start, limit=limit, user_id=user_id)
        ids = [r["id"] for r in result.rows]
        tags = contacts.tags_of(session=session, ids=ids) if "tags" in columns else {}
        owners = {int(o["value"]): o["label"] for o in owner_options(session)} if "owner" in columns else {}
        stage_names = {int(s["value"]): s["label"] for s in stage_options(session)} if "stage" in columns else {}
        rows = []
        for r in result.rows:
            row = {"id": str(r["id"]), "name": display_name(r), "anonymous": "" if r.get("is_identified") else "1"}
            for key in columns:
                if key == "tags":
                    row[key] = ", ".join(tags.get(r["id"], []))
                elif key == "owner":
                    row[key] = owners.get(r.get("owner_id") or 0, "")
                elif key == "stage":
                    row[key] = stage_names.get(r.get("stage_id") or 0, "")
                elif key == "id":
                    row[key] = str(r["id"])
                elif key in specs:
                    spec = specs[key]
                    row[key] = display_value(spec.type, r.get(key), spec.properties.get("yes", "Yes"), spec.properties.get("no", "No"))
                else:
                    row[key] = display_value("", r.get(key))
            rows.append(row)
        return {"rows": rows, "total": result.total, "capped": result.total_capped, "catalogue": column_catalogue(session)}


def _load_choices() -> dict[str, list[dict[str, str]]]:
    with session_scope() as session:
        return {"owners": owner_options(session), "stages": stage_options(session),
                "segments": [{"value": str(g.id), "label": g.name} for g in segments.list_segments(session=session, limit=500)[1]]}


def _bulk(action: str, ids: list[int], user_id: int, tags: list[str], owner_id: int | None, stage_id: int | None,
          segment_id: int | None = None) -> int:
    with session_scope() as session:
        if action in ("segment_add", "segment_remove"):
            change = segments.add_contacts if action == "segment_add" else segments.remove_contacts
            return change(session=session, segment_id=segment_id, contact_ids=ids, user_id=user_id)
        if action == "tags_add":
            contacts.modify_tags(session=session, contact_ids=ids, tags=tags, user_id=user_id)
        elif action == "tags_remove":
            contacts.modify_tags(session=session, contact_ids=ids, tags=["-" + t for t in tags], user_id=user_id)
        elif action == "owner":
            contacts.set_owner(session=session, contact_ids=ids, owner_id=owner_id, user_id=user_id)
        elif action == "stage":
            contacts.set_stage(session=session, contact_ids=ids, stage_id=stage_id, user_id=user_id)
        elif action == "delete":
            return contacts.delete(session=session, contact_ids=ids)
        return len(ids)


def _split_tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in str(text or "").replace("|", ",").split(",") if t.strip()))


class ContactsState(rx.State):
    search: str = ""
    search_input: str = ""
    page: int = 1
    page_size: str = "30"
    order_by: str = "last_active"
    order_dir: str = "desc"
    rows: list[dict[str, str]] = []
    total: int = 0
    capped: bool = False
    error: str = ""
    loaded: bool = False
    stored_columns: str = rx.LocalStorage("", name="mautic.contacts.columns")
    catalogue: list[dict[str, str]] = []
    selected: list[str] = []
    owners: list[dict[str, str]] = []
    stages: list[dict[str, str]] = []
    segments: list[dict[str, str]] = []
    bulk_action: str = ""
    bulk_error: str = ""
    bulk_busy: bool = False
    _following: bool = False

    # ------------------------------------------------------------ derived

    @rx.var
    def chosen_columns(self) -> list[str]:
        keys = {c["key"] for c in self.catalogue}
        stored = [k for k in self.stored_columns.split(",") if k]
        chosen = [k for k in stored if k in keys] if stored else []
        return chosen if chosen or stored == ["-"] else [k for k in DEFAULT_COLUMNS if k in keys or not keys]

    @rx.var
    def visible_columns(self) -> list[dict[str, str]]:
        by_key = {c["key"]: c for c in self.catalogue}
        return [by_key[k] for k in self.chosen_columns if k in by_key]

    @rx.var
    def pages(self) -> int:
        size = int(self.page_size)
        return max(1, (self.total + size - 1) // size)

    @rx.var
    def count_label(self) -> str:
        if self.capped:
            return f"{self.total:,}+ contacts"
        return "1 contact" if self.total == 1 else f"{self.total:,} contacts"

    @rx.var
    def export_href(self) -> str:
        # The export speaks in stored columns: the name column is first and last name, stage and
        # owner are their ids; tags are not a column of the contacts table.
        mapped = {"stage": "stage_id", "owner": "owner_id", "tags": ""}
        columns = ["firstname", "lastname", *(mapped.get(k, k) for k in self.chosen_columns)]
        query = urlencode({"search": self.search, "orderBy": self.order_by, "orderByDir": self.order_dir,
                           "columns": ",".join(dict.fromkeys(c for c in columns if c))})
        return f"/contacts/export.csv?{query}"

    @rx.var
    def all_selected(self) -> bool:
        return bool(self.rows) and all(r["id"] in self.selected for r in self.rows)

    @rx.var
    def selected_count(self) -> int:
        return len(self.selected)

    @rx.var
    def bulk_title(self) -> str:
        n = len(self.selected)
        noun = "contact" if n == 1 else "contacts"
        return f"{BULK_TITLES.get(self.bulk_action, '')} ({n} {noun})"

    @rx.var
    def dialog_open(self) -> bool:
        return self.bulk_action in BULK_TITLES

    @rx.var
    def delete_open(self) -> bool:
        return self.bulk_action == "delete"

    # ------------------------------------------------------------ loading

    def _columns_to_load(self) -> list[str]:
        chosen = self.chosen_columns
        return chosen if self.catalogue else [*DEFAULT_COLUMNS]

    async def _reload(self) -> None:
        session = await self.get_state(SessionState)
        size = int(self.page_size)
        args = (self.search, self.order_by, self.order_dir, (self.page - 1) * size, size, session.user_id,
                self._columns_to_load())
        try:
            data = await rx.run_in_thread(lambda: _load_page(*args))
        except SearchError as exc:
            self.error = f"This search cannot be understood: {exc}"
            self.rows, self.total, self.capped, self.selected = [], 0, False, []
            self.loaded = True
            return
        self.error = ""
        first_load = not self.catalogue
        self.catalogue = data["catalogue"]
        if first_load and set(self.chosen_columns) - set(args[6]):
            # The stored column choice needs columns the first query did not fetch.
            args = (*args[:6], self.chosen_columns)
            data = await rx.run_in_thread(lambda: _load_page(*args))
        self.rows, self.total, self.capped = data["rows"], data["total"], data["capped"]
        if not self.rows and self.page > 1 and self.total:
            self.page = self.pages
            await self._reload()
            return
        on_page = {r["id"] for r in self.rows}
        self.selected = [i for i in self.selected if i in on_page]
        self.loaded = True

    @rx.event
    async def load(self):
        search = str(self.router.url.query_parameters.get("search", "") or "")
        if search != self.search:
            self.page = 1
        self.selected = []
        self.search = self.search_input = search
        self.bulk_action = ""
        choices = await rx.run_in_thread(_load_choices)
        self.owners, self.stages, self.segments = choices["owners"], choices["stages"], choices["segments"]
        await self._reload()
        return ContactsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["contacts"], refresh)

    # ------------------------------------------------------------ search, sort, pages, columns

    @rx.event
    def set_search_input(self, value: str):
        self.search_input = value

    def _sync_url(self):
        query = f"?{urlencode({'search': self.search})}" if self.search else ""
        return rx.call_script(f"window.history.replaceState(window.history.state, '', '/contacts{query}')")

    @rx.event
    async def apply_search(self, form: dict):
        self.search = str(form.get("q", self.search_input) or "").strip()
        self.search_input = self.search
        self.page, self.selected = 1, []
        yield self._sync_url()
        await self._reload()

    @rx.event
    async def clear_search(self):
        self.search = self.search_input = ""
        self.page, self.selected = 1, []
        yield self._sync_url()
        await self._reload()

    @rx.event
    async def sort(self, key: str):
        if self.order_by == key:
            self.order_dir = "asc" if self.order_dir == "desc" else "desc"
        else:
            self.order_by = key
            self.order_dir = "desc" if key in ("last_active", "date_added", "points", "id") else "asc"
        self.page = 1
        await self._reload()

    @rx.event
    async def set_page_size(self, value: str):
        if value.isdigit() and int(value) in PAGE_SIZES:
            first = (self.page - 1) * int(self.page_size)
            self.page_size = value
            self.page = first // int(value) + 1
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
    async def toggle_column(self, key: str, on: bool):
        chosen = [k for k in self.chosen_columns if k != key]
        if on:
            order = [c["key"] for c in self.catalogue]
            chosen = sorted([*chosen, key], key=lambda k: order.index(k) if k in order else len(order))
        self.stored_columns = ",".join(chosen) or "-"
        await self._reload()

    @rx.event
    async def reset_columns(self):
        self.stored_columns = ""
        await self._reload()

    # ------------------------------------------------------------ selection and bulk actions

    @rx.event
    def toggle_row(self, contact_id: str, on: bool):
        if on and contact_id not in self.selected:
            self.selected = [*self.selected, contact_id]
        elif not on:
            self.selected = [i for i in self.selected if i != contact_id]

    @rx.event
    def toggle_all(self, on: bool):
        self.selected = [r["id"] for r in self.rows] if on else []

    @rx.event
    def open_bulk(self, action: str):
        if self.selected and (action in BULK_TITLES or action == "delete"):
            self.bulk_action, self.bulk_error = action, ""

    @rx.event
    def close_bulk(self, _open: bool = False):
        if not self.bulk_busy:
            self.bulk_action, self.bulk_error = "", ""

    @rx.event
    async def run_bulk(self, form: dict | None = None):
        form = form or {}
        action = self.bulk_action
        ids = [int(i) for i in self.selected]
        if not ids or not action:
            return
        tags = _split_tags(str(form.get("tags", "")))
        owner_id = int(form["owner_id"]) if str(form.get("owner_id", "")).isdigit() else None
        stage_id = int(form["stage_id"]) if str(form.get("stage_id", "")).isdigit() else None
        segment_id = int(form["segment_id"]) if str(form.get("segment_id", "")).isdigit() else None
        if action in ("tags_add", "tags_remove") and not tags:
            self.bulk_error = "Enter at least one tag."
            return
        if action in ("segment_add", "segment_remove") and not segment_id:
            self.bulk_error = "Choose a segment."
            return
        user_id = (await self.get_state(SessionState)).user_id
        self.bulk_busy = True
        yield
        try:
            n = await rx.run_in_thread(lambda: _bulk(action, ids, user_id, tags, owner_id, stage_id, segment_id))
        except (contacts.ContactError, segments.SegmentError) as exc:
            self.bulk_busy = False
            self.bulk_error = " ".join(exc.errors.values())
            return
        self.bulk_busy = False
        self.bulk_action, self.bulk_error = "", ""
        noun = "contact" if n == 1 else "contacts"
        message = {
            "tags_add": f"Tags added to {n} {noun}.",
            "tags_remove": f"Tags removed from {n} {noun}.",
            "owner": f"Owner set on {n} {noun}.",
            "stage": f"Stage set on {n} {noun}.",
            "segment_add": f"{n} {noun} added to the segment.",
            "segment_remove": f"{n} {noun} removed from the segment.",
            "delete": f"Deleted {n} {noun}.",
        }[action]
        if action == "delete":
            self.selected = []
        await self._reload()
        yield rx.toast.success(message)


# ---------------------------------------------------------------- view


def _search_help() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.icon_button(rx.icon("circle-help", size=16), variant="ghost", aria_label="Search help", type="button")),
        rx.popover.content(
            rx.heading("Search syntax", size="2", margin_bottom="0.5rem"),
            rx.el.dl(
                *[
                    rx.fragment(
                        rx.el.dt(rx.code(term), style={"margin_top": "0.4rem"}),
                        rx.el.dd(rx.text(meaning, size="1", color=rx.color("gray", 11)), style={"margin_left": "0"}),
                    )
                    for term, meaning in SEARCH_HELP
                ],
                style={"margin": "0"},
            ),
            rx.text("Combine terms with spaces: all of them must match.", size="1", margin_top="0.5rem"),
            max_width="24rem",
            aria_label="Search syntax",
        ),
    )


def _column_chooser() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.button(rx.icon("columns-3", size=16), "Columns", variant="soft", color_scheme="gray",
                                     aria_label="Choose columns")),
        rx.popover.content(
            rx.vstack(
                rx.heading("Columns", size="2"),
                rx.scroll_area(
                    rx.vstack(
                        rx.foreach(
                            ContactsState.catalogue,
                            lambda c: rx.checkbox(
                                c["label"],
                                checked=ContactsState.chosen_columns.contains(c["key"]),
                                on_change=lambda on: ContactsState.toggle_column(c["key"], on),
                            ),
                        ),
                        spacing="2",
                    ),
                    type="auto",
                    scrollbars="vertical",
                    style={"max_height": "22rem"},
                ),
                rx.button("Reset to default", size="1", variant="ghost", on_click=ContactsState.reset_columns),
                spacing="3",
            ),
            aria_label="Columns",
        ),
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.form(
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    name="q",
                    value=ContactsState.search_input,
                    on_change=ContactsState.set_search_input,
                    placeholder="Search… e.g. email:jane@ tag:vip",
                    aria_label="Contact search",
                    width="100%",
                ),
                rx.button("Search", type="submit", variant="soft"),
                rx.cond(
                    ContactsState.search != "",
                    rx.button("Clear", type="button", variant="ghost", color_scheme="gray", on_click=ContactsState.clear_search),
                ),
                _search_help(),
                align="center",
                spacing="2",
                width="100%",
            ),
            on_submit=ContactsState.apply_search,
            role="search",
            aria_label="Contacts",
            flex="1",
            min_width="16rem",
            max_width="40rem",
        ),
        rx.spacer(),
        _column_chooser(),
        align="center",
        spacing="3",
        width="100%",
        wrap="wrap",
    )


def _bulk_bar() -> rx.Component:
    def action(label: str, key: str, icon: str, **props) -> rx.Component:
        return rx.button(rx.icon(icon, size=14), label, size="1", variant="soft", on_click=ContactsState.open_bulk(key), **props)

    return rx.cond(
        ContactsState.selected_count > 0,
        rx.hstack(
            rx.text(ContactsState.selected_count, " selected", size="2", weight="medium"),
            action("Add tags", "tags_add", "tag"),
            action("Remove tags", "tags_remove", "tag"),
            action("Set owner", "owner", "user"),
            action("Set stage", "stage", "milestone"),
            action("Add to segment", "segment_add", "filter"),
            action("Remove from segment", "segment_remove", "filter-x"),
            action("Delete", "delete", "trash-2", color_scheme="red"),
            align="center",
            spacing="2",
            wrap="wrap",
            padding="0.5rem 0.75rem",
            border_radius="var(--radius-3)",
            background=rx.color("accent", 3),
            width="100%",
            role="toolbar",
            aria_label="Bulk actions",
        ),
    )


def _bulk_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(ContactsState.bulk_title),
            rx.form(
                rx.vstack(
                    rx.match(
                        ContactsState.bulk_action,
                        ("owner", labelled("Owner", native_select(*option_list(ContactsState.owners, blank="No owner"),
                                                                  id="bulk-owner", name="owner_id"), "bulk-owner")),
                        ("stage", labelled("Stage", native_select(*option_list(ContactsState.stages, blank="No stage"),
                                                                  id="bulk-stage", name="stage_id"), "bulk-stage")),
                        ("segment_add", labelled("Segment", native_select(*option_list(ContactsState.segments, blank="Choose a segment"),
                                                                          id="bulk-segment", name="segment_id"), "bulk-segment")),
                        ("segment_remove", labelled("Segment", native_select(*option_list(ContactsState.segments, blank="Choose a segment"),
                                                                             id="bulk-segment", name="segment_id"), "bulk-segment")),
                        labelled("Tags", rx.input(id="bulk-tags", name="tags", placeholder="vip, webinar", auto_focus=True,
                                                  width="100%"), "bulk-tags", hint="Separate tags with commas."),
                    ),
                    rx.cond(ContactsState.bulk_error != "",
                            rx.callout(ContactsState.bulk_error, color_scheme="red", role="alert", width="100%")),
                    rx.hstack(
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=ContactsState.close_bulk(False)),
                        rx.button("Apply", type="submit", loading=ContactsState.bulk_busy),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="4",
                ),
                on_submit=ContactsState.run_bulk,
            ),
            max_width="28rem",
        ),
        open=ContactsState.dialog_open,
        on_open_change=ContactsState.close_bulk,
    )


def _cell(row: rx.Var, column: rx.Var) -> rx.Component:
    return rx.table.cell(row[column["key"]], max_width="18rem", overflow="hidden", text_overflow="ellipsis", white_space="nowrap")


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.checkbox(
                checked=ContactsState.selected.contains(row["id"]),
                on_change=lambda on: ContactsState.toggle_row(row["id"], on),
                aria_label="Select " + row["name"].to(str),
            ),
            width="2.5rem",
        ),
        rx.table.row_header_cell(
            rx.link(
                row["name"],
                href="/contacts/" + row["id"].to(str),
                weight="medium",
                color_scheme=rx.cond(row["anonymous"] == "1", "gray", "accent"),
            ),
            max_width="18rem",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
        ),
        rx.foreach(ContactsState.visible_columns, lambda c: _cell(row, c)),
        _hover={"background": rx.color("gray", 2)},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.el.caption("Contacts", style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(
                        rx.checkbox(
                            checked=ContactsState.all_selected,
                            on_change=ContactsState.toggle_all,
                            aria_label="Select all contacts on this page",
                        ),
                        width="2.5rem",
                    ),
                    sort_header("Name", NAME_SORT, ContactsState.order_by, ContactsState.order_dir, ContactsState.sort),
                    rx.foreach(
                        ContactsState.visible_columns,
                        lambda c: rx.cond(
                            c["sort"] != "",
                            sort_header(c["label"], c["sort"], ContactsState.order_by, ContactsState.order_dir, ContactsState.sort),
                            plain_header(c["label"]),
                        ),
                    ),
                ),
            ),
            rx.table.body(rx.foreach(ContactsState.rows, _row)),
            variant="surface",
            size="2",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


@template(route="/contacts", title="Contacts", on_load=ContactsState.load)
def contacts_page() -> rx.Component:
    return rx.vstack(
        page_header(
            "Contacts",
            rx.button(rx.link(rx.icon("upload", size=16), "Import", href="/contacts/import", underline="none"),
                      as_child=True, variant="soft", color_scheme="gray"),
            rx.button(rx.el.a(rx.icon("download", size=16), "Export CSV", href=ContactsState.export_href),
                      as_child=True, variant="soft", color_scheme="gray"),
            rx.button(rx.link(rx.icon("plus", size=16), "New contact", href="/contacts/new", underline="none"), as_child=True),
        ),
        _toolbar(),
        rx.cond(
            ContactsState.error == "",
            rx.hstack(
                rx.text(ContactsState.count_label, size="2", color=rx.color("gray", 11), role="status", aria_live="polite"),
                rx.cond(ContactsState.search != "",
                        rx.text("matching ", rx.code(ContactsState.search), size="2", color=rx.color("gray", 11))),
                spacing="2",
                align="center",
            ),
        ),
        rx.cond(
            ContactsState.error != "",
            rx.callout(ContactsState.error, icon="triangle-alert", color_scheme="amber", role="alert", width="100%"),
        ),
        _bulk_bar(),
        rx.cond(
            ContactsState.loaded,
            rx.cond(
                ContactsState.rows.length() > 0,
                rx.vstack(
                    _table(),
                    pager(ContactsState.page, ContactsState.pages, ~ContactsState.capped, ContactsState.prev_page,
                          ContactsState.next_page, ContactsState.page_size, ContactsState.set_page_size, PAGE_SIZES),
                    width="100%",
                    spacing="0",
                ),
                rx.cond(
                    ContactsState.error == "",
                    rx.center(rx.text("No contacts match.", color=rx.color("gray", 10)), width="100%", padding="3rem"),
                ),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        _bulk_dialog(),
        confirm_dialog(
            open=ContactsState.delete_open,
            title="Delete contacts",
            description=f"Delete {ContactsState.selected_count} selected contact(s)? This cannot be undone.",
            confirm_label="Delete",
            on_confirm=ContactsState.run_bulk,
            on_cancel=ContactsState.close_bulk,
            busy=ContactsState.bulk_busy,
        ),
        spacing="3",
        width="100%",
    )
