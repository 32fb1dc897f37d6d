"""The contacts list's State: a page of contacts with the columns the marketer chose, searched with Mautic's
syntax, sorted, selected for bulk actions, and followed live."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

import reflex as rx

from mautic_app import routes
from mautic_app.domain.search import SearchError, identified_unless_asked
from mautic_app.services import contacts, segments
from mautic_app.ui import live
from mautic_app.ui.components.address_search import AddressSearch
from mautic_app.ui.components.contact_data import split_tags
from mautic_app.ui.pages.contacts.data import DEFAULT_COLUMNS, bulk_change, load_choices, load_page, place_column
from mautic_app.ui.session import SessionState

PAGE_SIZES = (10, 30, 50, 100, 200)
BULK_TITLES = {
    "tags_add": "Add tags",
    "tags_remove": "Remove tags",
    "owner": "Set owner",
    "stage": "Set stage",
    "segment_add": "Add to segment",
    "segment_remove": "Remove from segment",
}


def _chosen(form: dict[str, Any], key: str) -> int | None:
    """The id picked in the bulk dialog's ``key`` select, None when none is."""
    value = str(form.get(key, ""))
    return int(value) if value.isdigit() else None


class ContactsState(AddressSearch, rx.State):
    list_route: ClassVar[str] = routes.CONTACTS
    descending_first: ClassVar[tuple[str, ...]] = ("last_active", "date_added", "points", "id")

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
    known_tags: list[str] = []
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
    def table_min_width(self) -> str:
        """Room for every column to read (7rem each): below it the list scrolls sideways rather than squeeze."""
        return f"{2.5 + 7 * (len(self.visible_columns) + 1)}rem"

    @rx.var
    def anonymous_left_out(self) -> bool:
        return identified_unless_asked(self.search) != self.search.strip()

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
        query = urlencode({"search": identified_unless_asked(self.search), "orderBy": self.order_by, "orderByDir": self.order_dir,
                           "columns": ",".join(dict.fromkeys(c for c in columns if c))})
        return f"{routes.CONTACTS_EXPORT}?{query}"

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
        args = (identified_unless_asked(self.search), self.order_by, self.order_dir, (self.page - 1) * size, size, session.user_id,
                self._columns_to_load())
        try:
            data = await rx.run_in_thread(lambda: load_page(*args))
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
            data = await rx.run_in_thread(lambda: load_page(*args))
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
        self._search_from_address()
        self.selected = []
        self.bulk_action = ""
        choices = await rx.run_in_thread(load_choices)
        self.owners, self.stages, self.segments = choices["owners"], choices["stages"], choices["segments"]
        self.known_tags = choices["tags"]
        await self._reload()
        return ContactsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["contacts"], refresh)

    # ------------------------------------------------------------ search, pages, columns

    def _new_search(self) -> None:
        """A new search starts at the first page, with nothing selected."""
        self.page, self.selected = 1, []

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
        """A column goes on or off; the others stay where they are."""
        chosen = [k for k in self.chosen_columns if k != key]
        if on:
            chosen = place_column(chosen, key, [c["key"] for c in self.catalogue])
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
        tags = split_tags(str(form.get("tags", "")))
        owner_id, stage_id, segment_id = _chosen(form, "owner_id"), _chosen(form, "stage_id"), _chosen(form, "segment_id")
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
            n = await rx.run_in_thread(lambda: bulk_change(action, ids, user_id, tags, owner_id, stage_id, segment_id))
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

