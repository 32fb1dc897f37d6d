"""What list pages share: rows loaded and followed live, deleted after a confirmation, and a paged, searchable list.

The state comes as Reflex state mixins. A page's one State inherits ``(PagedList, rx.State)``
(or ``(DeleteConfirm, rx.State)`` for a list shown whole), names its rows through the ``noun``
class variables, lists its ``follow_topics`` and implements ``_reload`` and ``_remove``; a paged
page's ``_reload`` usually hands its query to ``_fetch_page``. The view functions take that State
class and the words a marketer reads ("point action", "trigger"...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import reflex as rx

from mautic_app.domain.search import SearchError
from mautic_app.ui import live
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, confirm_dialog, hidden_header, pager, plain_header

PAGE_SIZES = (10, 30, 50, 100)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


class DeleteConfirm(rx.State, mixin=True):
    """Rows (each with an "id" and a name) loaded when the page opens, followed live, deleted once the user confirms."""

    # One row as the user reads it: "point action" gives "Delete point action", "Point action “Pricing” deleted.",
    # and on a paged list "Point action search" and "1 point action".
    noun: ClassVar[str] = "item"
    # Many rows as the count names them: "12 point actions" (not derived: "companies").
    nouns: ClassVar[str] = "items"
    # The change-feed topics that reload the rows (none: the page is not followed).
    follow_topics: ClassVar[tuple[str, ...]] = ()
    # The row key the confirmation names, and the errors (with their ``errors`` dict) a delete may be refused with.
    name_key: ClassVar[str] = "name"
    refusal: ClassVar[tuple[type[Exception], ...]] = ()
    deleted_message: ClassVar[str] = "{Noun} “{name}” deleted."

    rows: list[dict[str, str]] = []
    loaded: bool = False
    delete_id: int = 0
    delete_name: str = ""
    delete_error: str = ""
    deleting: bool = False
    _following: bool = False

    @rx.var
    def delete_open(self) -> bool:
        return self.delete_id > 0

    @rx.var
    def count_label(self) -> str:
        return f"1 {self.noun}" if len(self.rows) == 1 else f"{len(self.rows)} {self.nouns}"

    async def _reload(self) -> None:
        """Fetch the rows shown (the page implements it)."""
        raise NotImplementedError

    async def _remove(self, row_id: int) -> None:
        """Delete one row, off the event loop (the page implements it)."""
        raise NotImplementedError

    async def _on_load(self) -> None:
        """What a page reads before its rows when it opens (its address's query, the signed-in user)."""

    def _closed(self) -> None:
        """No dialog is left open when the page is opened again."""
        self.delete_id = 0

    def _deletable(self, row: dict[str, str]) -> bool:
        return True

    async def _fetch_all(self, fetch: Callable[[], list[dict[str, str]]]) -> None:
        """Show every row ``fetch`` gives (run in a thread): a list shown whole."""
        self.rows = await rx.run_in_thread(fetch)
        self.loaded = True

    @rx.event
    async def load(self):
        self._closed()
        await self._on_load()
        await self._reload()
        if self.follow_topics:
            return type(self).follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        if self.follow_topics:
            await live.follow(self, self.follow_topics, refresh)

    @rx.event
    def ask_delete(self, row_id: str):
        row = next((r for r in self.rows if r["id"] == row_id), None)
        if row is not None and self._deletable(row):
            self.delete_id, self.delete_name, self.delete_error = int(row_id), row[self.name_key], ""

    @rx.event
    def cancel_delete(self, _open: bool = False):
        if not self.deleting:
            self.delete_id = 0

    @rx.event
    async def confirm_delete(self):
        row_id, name = self.delete_id, self.delete_name
        if not row_id:
            return
        self.deleting = True
        yield
        try:
            await self._remove(row_id)
        except self.refusal as exc:
            self.deleting = False
            self.delete_error = " ".join(exc.errors.values())  # type: ignore[attr-defined]
            return
        self.deleting, self.delete_id = False, 0
        await self._reload()
        yield rx.toast.success(self.deleted_message.format(Noun=capitalised(self.noun), name=name))


class PagedList(DeleteConfirm, mixin=True):
    """A page of rows at a time, narrowed by a search the user submits."""

    total: int = 0
    page: int = 1
    page_size: str = "30"
    search: str = ""
    search_input: str = ""
    error: str = ""

    @rx.var
    def pages(self) -> int:
        size = int(self.page_size)
        return max(1, (self.total + size - 1) // size)

    @rx.var
    def count_label(self) -> str:
        return f"1 {self.noun}" if self.total == 1 else f"{self.total:,} {self.nouns}"

    async def _fetch_page(self, fetch: Callable[[str, int, int], dict[str, Any]]) -> dict[str, Any] | None:
        """Run ``fetch(search, start, limit)`` in a thread for the current page and show its "rows" and "total".

        A page left past the end (rows deleted meanwhile) moves to the last one. Returns what
        ``fetch`` gave, or None when the search cannot be understood (``error`` says why).
        """
        while True:
            size = int(self.page_size)
            args = (self.search, (self.page - 1) * size, size)
            try:
                data = await rx.run_in_thread(functools.partial(fetch, *args))
            except SearchError as exc:
                self.error = f"This search cannot be understood: {exc}"
                self.rows, self.total, self.loaded = [], 0, True
                return None
            self.error = ""
            self.rows, self.total = data["rows"], data["total"]
            if self.rows or self.page <= 1 or not self.total:
                self.loaded = True
                return data
            self.page = self.pages

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


# ---------------------------------------------------------------- view


def search_form(S: type[PagedList], title: str, *, placeholder: str = "Search by name…") -> rx.Component:
    """The search box, Search and (while searching) Clear: a search region named ``title``, its input "<Noun> search"."""
    return rx.form(
        rx.hstack(
            rx.input(rx.input.slot(rx.icon("search", size=16)), name="q", value=S.search_input, on_change=S.set_search_input,
                     placeholder=placeholder, aria_label=f"{capitalised(S.noun)} search", width="100%"),
            rx.button("Search", type="submit", variant="soft"),
            rx.cond(S.search != "",
                    rx.button("Clear", type="button", variant="ghost", color_scheme="gray", on_click=S.clear_search)),
            align="center",
            spacing="2",
            width="100%",
        ),
        on_submit=S.apply_search,
        role="search",
        aria_label=title,
        width="100%",
        max_width="36rem",
    )


def list_status(S: type[PagedList]) -> rx.Component:
    """Why the search failed, or how many rows it found (announced as it changes)."""
    return rx.cond(
        S.error != "",
        rx.callout(S.error, icon="triangle-alert", color_scheme="amber", role="alert", width="100%"),
        rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status", aria_live="polite"),
    )


def empty_note(icon: str, text: str | rx.Var) -> rx.Component:
    """What an empty list says, under its area's icon."""
    return rx.vstack(rx.icon(icon, size=32, color=rx.color("gray", 8)), rx.text(text, color=rx.color("gray", 10)), align="center")


def empty_message(S: type[PagedList], none_match: str, none_yet: str, *, icon: str | None = None) -> rx.Component:
    """What an empty list says: ``none_match`` while searching, else ``none_yet``, under ``icon`` if given."""
    text = rx.cond(S.search != "", none_match, none_yet)
    return rx.text(text, color=rx.color("gray", 10)) if icon is None else empty_note(icon, text)


def _spinner() -> rx.Component:
    return rx.center(rx.spinner(size="3"), width="100%", padding="3rem")


def list_body(S: type[PagedList], table: rx.Component, empty: rx.Component) -> rx.Component:
    """A spinner until loaded, then ``table`` with the pager, or ``empty`` (nothing while an error shows)."""
    return rx.cond(
        S.loaded,
        rx.cond(
            S.rows.length() > 0,
            rx.vstack(
                table,
                pager(S.page, S.pages, S.total >= 0, S.prev_page, S.next_page, S.page_size, S.set_page_size, PAGE_SIZES),
                width="100%",
                spacing="0",
            ),
            rx.cond(S.error == "", rx.center(empty, width="100%", padding="3rem")),
        ),
        _spinner(),
    )


def count_status(S: type[DeleteConfirm]) -> rx.Component:
    """How many rows the list holds ("3 stages")."""
    return rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status")


def all_rows_body(S: type[DeleteConfirm], caption: str, columns: Sequence[str], row: Callable[[rx.Var], rx.Component], *,
                  empty_icon: str, empty_text: str, count: bool = True) -> rx.Component:
    """A list shown whole: a spinner until loaded, then the count (unless not ``count``) over the rows' table
    (see :func:`list_table`), or what an empty list says."""
    table = list_table(S, caption, columns, row)
    return rx.cond(
        S.loaded,
        rx.cond(
            S.rows.length() > 0,
            rx.vstack(count_status(S), table, width="100%", spacing="2") if count else table,
            rx.center(empty_note(empty_icon, empty_text), width="100%", padding="3rem"),
        ),
        _spinner(),
    )


def list_table(S: type[DeleteConfirm], caption: str | rx.Var, columns: Sequence[str | rx.Component],
               row: Callable[..., rx.Component], *, size: str = "2") -> rx.Component:
    """``S.rows`` as a table named ``caption``: a header per column (a label, or a header cell of its own), then
    the row actions' (named for screen readers). ``row`` takes the row, and its index if it asks for one."""
    return rx.box(
        rx.table.root(
            rx.el.caption(caption, style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    *[plain_header(c) if isinstance(c, str) else c for c in columns],
                    hidden_header("Actions", width="6rem"),
                ),
            ),
            rx.table.body(rx.foreach(S.rows, row)),
            variant="surface",
            size=size,
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def named_row(row: rx.Var, *name: rx.Component) -> rx.Component:
    """A row's ``name`` (its text, after a colour dot say), marked "Unpublished" when its "published" is ""."""
    return rx.hstack(
        *name,
        rx.cond(row["published"] == "", rx.badge("Unpublished", color_scheme="gray", variant="soft")),
        align="center",
        spacing="2",
    )


def linked_name(row: rx.Var, href: rx.Var | str) -> rx.Component:
    """A record's name linking to its page, marked when unpublished, over its description."""
    return rx.vstack(
        named_row(row, rx.link(row["name"], href=href, weight="medium")),
        rx.text(row["description"], size="1", color=rx.color("gray", 10)),
        spacing="0",
    )


def edit_link(name: rx.Var, href: rx.Var | str) -> rx.Component:
    """Edit on a page of its own: a link (out of the tab order, the button in it is focused instead)."""
    return rx.link(rx.icon_button(rx.icon("pencil", size=14), size="1", variant="soft", aria_label="Edit " + name,
                                  tab_index=-1), href=href)


def delete_button(S: type[DeleteConfirm], row: rx.Var, name: rx.Var, **props: Any) -> rx.Component:
    """Asks to delete the row; named "Delete <name>"."""
    return rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                          aria_label="Delete " + name, on_click=S.ask_delete(row["id"]), **props)


def row_actions(S: type[DeleteConfirm], row: rx.Var, edit: rx.Component | None = None, *, edit_href: rx.Var | None = None,
                delete: rx.Component | None = None, name: rx.Var | None = None) -> rx.Component:
    """A row's Edit and Delete buttons, named after the row (its "name", or ``name``); Edit opens ``S.open_edit``
    (or the record's own page at ``edit_href``) unless ``edit`` replaces it, and ``delete`` replaces the Delete
    button (disabled, or none, for some rows)."""
    name = row["name"].to(str) if name is None else name
    if edit_href is not None:
        edit = edit_link(name, edit_href)
    elif edit is None:
        edit = rx.icon_button(rx.icon("pencil", size=14), size="1", variant="soft", aria_label="Edit " + name,
                              on_click=S.open_edit(row["id"]))
    return rx.hstack(
        edit,
        delete_button(S, row, name) if delete is None else delete,
        spacing="2",
        justify="end",
    )


def delete_confirmation(S: type[DeleteConfirm], consequence: str, *, along: str = "",
                        question: rx.Var | None = None) -> rx.Component:
    """"Delete <noun>": asks "Delete the <noun> “<name>”<along>? <consequence> This cannot be undone." (or
    ``question``); says instead why a refused delete could not happen."""
    if question is None:
        question = f"Delete the {S.noun} “" + S.delete_name + f"”{along}? {consequence} This cannot be undone."
    return confirm_dialog(
        open=S.delete_open,
        title=f"Delete {S.noun}",
        description=rx.cond(S.delete_error != "", S.delete_error, question),
        confirm_label="Delete",
        on_confirm=S.confirm_delete,
        on_cancel=S.cancel_delete,
        busy=S.deleting,
    )
