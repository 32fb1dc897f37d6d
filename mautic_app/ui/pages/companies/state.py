"""The companies list's State: a page of companies with the listable fields as columns, searched, sorted, live."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import companies
from mautic_app.services import fields as field_service
from mautic_app.ui import live
from mautic_app.ui.components.address_search import AddressSearch
from mautic_app.ui.components.field_input import display_value
from mautic_app.ui.components.paged_list import PagedList

# Columns every list shows (key, label, sort key); listable custom company fields follow them.
BASE_COLUMNS = (
    ("companyemail", "Email", "companyemail"),
    ("companycity", "City", "companycity"),
    ("companycountry", "Country", "companycountry"),
)
TAIL_COLUMNS = (
    ("contact_count", "Contacts", ""),
    ("score", "Score", "score"),
    ("id", "ID", "id"),
)


def _columns(session: Session) -> list[dict[str, str]]:
    custom = [
        {"key": s.alias, "label": s.label, "sort": s.alias}
        for s in field_service.specs(session=session, obj="company")
        if s.is_listable and not s.is_fixed
    ]
    return ([{"key": k, "label": label, "sort": sort} for k, label, sort in BASE_COLUMNS] + custom
            + [{"key": k, "label": label, "sort": sort} for k, label, sort in TAIL_COLUMNS])


def _load_list(search: str, order_by: str, direction: str, start: int, limit: int) -> dict[str, Any]:
    with session_scope() as session:
        specs = field_service.spec_map(session=session, obj="company")
        columns = _columns(session)
        found, total = companies.list_companies(session=session, search=search, order_by=order_by, direction=direction,
                                                start=start, limit=limit)
        rows = []
        for r in found:
            row = {"id": str(r["id"]), "name": r.get("companyname") or f"Company #{r['id']}"}
            for c in columns:
                key = c["key"]
                spec = specs.get(key)
                if spec is not None:
                    row[key] = display_value(spec.type, r.get(key), spec.properties.get("yes", "Yes"), spec.properties.get("no", "No"))
                else:
                    row[key] = display_value("", r.get(key))
            rows.append(row)
        return {"rows": rows, "total": total, "columns": columns}


def _delete(company_id: int) -> None:
    with session_scope() as session:
        companies.delete(session=session, company_ids=[company_id])


class CompaniesState(AddressSearch, PagedList, rx.State):
    noun: ClassVar[str] = "company"
    nouns: ClassVar[str] = "companies"
    list_route: ClassVar[str] = routes.COMPANIES
    descending_first: ClassVar[tuple[str, ...]] = ("score", "id")

    order_by: str = "companyname"
    order_dir: str = "asc"
    columns: list[dict[str, str]] = []
    _following: bool = False

    async def _reload(self) -> None:
        order_by, order_dir = self.order_by, self.order_dir
        data = await self._fetch_page(lambda search, start, limit: _load_list(search, order_by, order_dir, start, limit))
        if data is not None:
            self.columns = data["columns"]

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def load(self):
        self._search_from_address()
        self.delete_id = 0
        await self._reload()
        return CompaniesState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["companies", "fields"], refresh)
