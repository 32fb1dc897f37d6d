"""A list page whose search stays in the address bar (``/contacts?search=tag:vip``), so reloading or sharing
the page shows the same rows, and whose columns sort by a click on their header.

A state mixin: the page's one State inherits ``(AddressSearch, ..., rx.State)``, holds the vars
``search``, ``search_input``, ``page``, ``order_by`` and ``order_dir`` (a paged list's mixin may bring the
first three) and implements ``_reload``.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlencode

import reflex as rx

from mautic_app.ui.components.widgets import plain_header, sort_header


class AddressSearch(rx.State, mixin=True):
    # The list's own address, which the search is appended to.
    list_route: ClassVar[str] = ""
    # Sort keys whose first click shows the newest or largest first.
    descending_first: ClassVar[tuple[str, ...]] = ()

    async def _reload(self) -> None:
        """Fetch the rows shown (the page implements it)."""
        raise NotImplementedError

    def _new_search(self) -> None:
        """A new search starts at the first page."""
        self.page = 1

    def _search_from_address(self) -> None:
        """Take the search from the address the page was opened at (on load)."""
        search = str(self.router.url.query_parameters.get("search", "") or "")
        if search != self.search:
            self.page = 1
        self.search = self.search_input = search

    def _show_search_in_address(self):
        query = f"?{urlencode({'search': self.search})}" if self.search else ""
        return rx.call_script(f"window.history.replaceState(window.history.state, '', '{self.list_route}{query}')")

    @rx.event
    def set_search_input(self, value: str):
        self.search_input = value

    @rx.event
    async def apply_search(self, form: dict):
        self.search = str(form.get("q", self.search_input) or "").strip()
        self.search_input = self.search
        self._new_search()
        yield self._show_search_in_address()
        await self._reload()

    @rx.event
    async def clear_search(self):
        self.search = self.search_input = ""
        self._new_search()
        yield self._show_search_in_address()
        await self._reload()

    @rx.event
    async def sort(self, key: str):
        if self.order_by == key:
            self.order_dir = "asc" if self.order_dir == "desc" else "desc"
        else:
            self.order_by = key
            self.order_dir = "desc" if key in self.descending_first else "asc"
        self.page = 1
        await self._reload()


def column_headers(S: type[AddressSearch], columns: rx.Var) -> rx.Component:
    """A header per column (``{"label", "sort"}``): a sort button where the column has a sort key."""
    return rx.foreach(
        columns,
        lambda c: rx.cond(
            c["sort"] != "",
            sort_header(c["label"], c["sort"], S.order_by, S.order_dir, S.sort),
            plain_header(c["label"]),
        ),
    )
