"""The company page's State: the company's fields, score and owner, a page of its contacts, the contacts found
to link, and deleting it; followed live."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

import reflex as rx
from sqlmodel import Session

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain.fields import FieldSpec
from mautic_app.services import companies, contacts
from mautic_app.services import fields as field_service
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import display_name
from mautic_app.ui.components.field_input import GROUP_LABELS, display_value
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.session import SessionState

CONTACTS_PER_PAGE = 10
LINK_RESULTS = 8


@dataclasses.dataclass
class DetailField:
    label: str = ""
    value: str = ""
    kind: str = "text"  # text, email or url: how the value is shown (always as text, never markup)
    href: str = ""


@dataclasses.dataclass
class DetailGroup:
    label: str = ""
    fields: list[DetailField] = dataclasses.field(default_factory=list)


def _field(spec: FieldSpec, value: Any) -> DetailField:
    text = display_value(spec.type, value, spec.properties.get("yes", "Yes"), spec.properties.get("no", "No"))
    if spec.type == "email":
        return DetailField(label=spec.label, value=text, kind="email", href="mailto:" + text)
    if spec.type == "url":
        href = text if text.lower().startswith(("http://", "https://")) else "http://" + text
        return DetailField(label=spec.label, value=text, kind="url", href=href)
    return DetailField(label=spec.label, value=text)


def _contact_rows(session: Session, company_id: int, start: int) -> tuple[list[dict[str, str]], int]:
    rows, total = companies.contacts_of(session=session, company_id=company_id, start=start, limit=CONTACTS_PER_PAGE)
    return [
        {
            "id": str(r["id"]),
            "name": display_name(r),
            "email": r.get("email") or "",
            "points": str(r.get("points") or 0),
            "primary": "1" if r.get("is_primary") else "",
        }
        for r in rows
    ], total


def _load(company_id: int, start: int) -> dict[str, Any] | None:
    with session_scope() as session:
        row = companies.read(session=session, company_id=company_id)
        if row is None:
            return None
        specs = [s for s in field_service.specs(session=session, obj="company") if s.is_visible and s.alias != "companyname"]
        groups = []
        for key, label in GROUP_LABELS.items():
            shown = [_field(s, row.get(s.alias)) for s in specs if s.group == key and row.get(s.alias) not in (None, "")]
            if shown:
                groups.append(DetailGroup(label=label, fields=shown))
        owners = {o["value"]: o["label"] for o in contacts.owner_options(session=session)}
        contact_rows, total = _contact_rows(session, company_id, start)
        return {
            "name": row.get("companyname") or f"Company #{company_id}",
            "score": int(row.get("score") or 0),
            "owner": owners.get(str(row.get("owner_id") or ""), ""),
            "date_added": display_value("datetime", row.get("date_added")),
            "date_modified": display_value("datetime", row.get("date_modified")),
            "groups": groups,
            "contacts": contact_rows,
            "total": total,
        }



def _search(company_id: int, text: str) -> list[dict[str, str]]:
    with session_scope() as session:
        found = contacts.list_contacts(session=session, search=shlex.quote(text), order_by="email", direction="asc",
                                       limit=LINK_RESULTS, count_cap=LINK_RESULTS)
        out = []
        for r in found.rows:
            linked = any(c["id"] == company_id for c in companies.companies_of(session=session, contact_id=r["id"]))
            out.append({"id": str(r["id"]), "name": display_name(r), "email": r.get("email") or "", "linked": "1" if linked else ""})
        return out




def _write(fn, **kwargs) -> None:
    with session_scope() as session:
        fn(session=session, **kwargs)


class CompanyState(RecordPage, rx.State):
    cid: int = 0
    loaded: bool = False
    name: str = ""
    score: int = 0
    owner: str = ""
    date_added: str = ""
    date_modified: str = ""
    groups: list[DetailGroup] = []
    contacts: list[dict[str, str]] = []
    contacts_total: int = 0
    contacts_page: int = 1
    link_query: str = ""
    link_results: list[dict[str, str]] = []
    link_searched: bool = False
    link_error: str = ""
    link_busy: bool = False
    delete_open: bool = False
    deleting: bool = False
    _following: bool = False

    @rx.var
    def contact_pages(self) -> int:
        return max(1, (self.contacts_total + CONTACTS_PER_PAGE - 1) // CONTACTS_PER_PAGE)

    @rx.var
    def contacts_label(self) -> str:
        return "1 contact" if self.contacts_total == 1 else f"{self.contacts_total:,} contacts"

    @rx.var
    def edit_href(self) -> str:
        return routes.company_edit(self.cid)

    async def _reload(self) -> None:
        cid, start = self.cid, (self.contacts_page - 1) * CONTACTS_PER_PAGE
        data = await rx.run_in_thread(lambda: _load(cid, start))
        if data is None:
            self.missing, self.loaded = True, True
            return
        self.missing = False
        self.name, self.score, self.owner = data["name"], data["score"], data["owner"]
        self.date_added, self.date_modified, self.groups = data["date_added"], data["date_modified"], data["groups"]
        self.contacts, self.contacts_total = data["contacts"], data["total"]
        if not self.contacts and self.contacts_page > 1 and self.contacts_total:
            self.contacts_page = self.contact_pages
            await self._reload()
            return
        self.loaded = True

    @rx.event
    async def load(self):
        cid = routes.id_in_path(self.router.url.path, routes.COMPANY) or 0
        if cid != self.cid:
            self.contacts_page = 1
            self.link_query, self.link_results, self.link_searched = "", [], False
        self.cid = cid
        self.loaded, self.missing, self.delete_open, self.link_error = False, False, False, ""
        yield
        if not cid:
            self.missing, self.loaded = True, True
            self._loaded_here()
            return
        await self._reload()
        self._loaded_here()
        if not self.missing:
            yield CompanyState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["companies", "contacts", "fields"], refresh)

    # ------------------------------------------------------------ contacts

    @rx.event
    async def next_contacts(self):
        if self.contacts_page < self.contact_pages:
            self.contacts_page += 1
            await self._reload()

    @rx.event
    async def prev_contacts(self):
        if self.contacts_page > 1:
            self.contacts_page -= 1
            await self._reload()

    @rx.event
    def set_link_query(self, value: str):
        self.link_query = value

    @rx.event
    async def search_contacts(self, form: dict):
        text = str(form.get("link_q", self.link_query) or "").strip()
        self.link_query = text
        if len(text) < 2:
            self.link_error, self.link_results, self.link_searched = "Type at least two characters of an e-mail or name.", [], False
            return
        cid = self.cid
        self.link_busy, self.link_error = True, ""
        yield
        self.link_results = await rx.run_in_thread(lambda: _search(cid, text))
        self.link_busy, self.link_searched = False, True

    @rx.event
    async def link(self, contact_id: str):
        cid, user_id = self.cid, (await self.get_state(SessionState)).user_id
        match = next((r for r in self.link_results if r["id"] == contact_id), None)
        if match is None:
            return
        try:
            await rx.run_in_thread(lambda: _write(companies.link_contact, company_id=cid, contact_id=int(contact_id),
                                                  user_id=user_id))
        except companies.CompanyError as exc:
            self.link_error = " ".join(exc.errors.values())
            return
        self.link_results = [r | {"linked": "1"} if r["id"] == contact_id else r for r in self.link_results]
        await self._reload()
        yield rx.toast.success(f"{match['name']} linked to {self.name}.")

    @rx.event
    async def unlink(self, contact_id: str):
        cid, user_id = self.cid, (await self.get_state(SessionState)).user_id
        match = next((r for r in self.contacts if r["id"] == contact_id), None)
        if match is None:
            return
        await rx.run_in_thread(lambda: _write(companies.unlink_contact, company_id=cid, contact_id=int(contact_id),
                                              user_id=user_id))
        self.link_results = [r | {"linked": ""} if r["id"] == contact_id else r for r in self.link_results]
        await self._reload()
        yield rx.toast.success(f"{match['name']} unlinked from {self.name}.")

    # ------------------------------------------------------------ delete

    @rx.event
    def ask_delete(self):
        self.delete_open = True

    @rx.event
    def cancel_delete(self, _open: bool = False):
        if not self.deleting:
            self.delete_open = False

    @rx.event
    async def confirm_delete(self):
        cid, name = self.cid, self.name
        self.deleting = True
        yield
        await rx.run_in_thread(lambda: _write(companies.delete, company_ids=[cid]))
        self.deleting = False
        self.delete_open = False
        yield rx.toast.success(f"Company “{name}” deleted.")
        yield rx.redirect(routes.COMPANIES)

