"""One company: its fields, score and owner, and its contacts (paged, link by search, unlink), live."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import companies, contacts
from mautic_app.services import fields as field_service
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import display_name, owner_options
from mautic_app.ui.components.field_input import GROUP_LABELS, display_value
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, confirm_dialog, plain_header, section
from mautic_app.ui.layout import RecordPage, page_header, template
from mautic_app.ui.pages.companies import company_id_from_path
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


def _field(spec, value: Any) -> DetailField:
    text = display_value(spec.type, value, spec.properties.get("yes", "Yes"), spec.properties.get("no", "No"))
    if spec.type == "email":
        return DetailField(label=spec.label, value=text, kind="email", href="mailto:" + text)
    if spec.type == "url":
        href = text if text.lower().startswith(("http://", "https://")) else "http://" + text
        return DetailField(label=spec.label, value=text, kind="url", href=href)
    return DetailField(label=spec.label, value=text)


def _contact_rows(session, company_id: int, start: int) -> tuple[list[dict[str, str]], int]:
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
        owners = {o["value"]: o["label"] for o in owner_options(session)}
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


def _link(company_id: int, contact_id: int, user_id: int) -> None:
    with session_scope() as session:
        companies.link_contact(session=session, company_id=company_id, contact_id=contact_id, user_id=user_id)


def _unlink(company_id: int, contact_id: int, user_id: int) -> None:
    with session_scope() as session:
        companies.unlink_contact(session=session, company_id=company_id, contact_id=contact_id, user_id=user_id)


def _delete(company_id: int) -> None:
    with session_scope() as session:
        companies.delete(session=session, company_ids=[company_id])


class CompanyState(RecordPage, rx.State):
    cid: int = 0
    loaded: bool = False
    missing: bool = False
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
        return f"/companies/{self.cid}/edit"

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
        cid = company_id_from_path(self.router.url.path) or 0
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
            await rx.run_in_thread(lambda: _link(cid, int(contact_id), user_id))
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
        await rx.run_in_thread(lambda: _unlink(cid, int(contact_id), user_id))
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
        await rx.run_in_thread(lambda: _delete(cid))
        self.deleting = False
        self.delete_open = False
        yield rx.toast.success(f"Company “{name}” deleted.")
        yield rx.redirect("/companies")


# ---------------------------------------------------------------- view


def _value(field: rx.Var) -> rx.Component:
    return rx.match(
        field.kind,
        ("email", rx.link(field.value, href=field.href)),
        ("url", rx.link(field.value, href=field.href, is_external=True, rel="noopener noreferrer nofollow")),
        rx.text(field.value, white_space="pre-wrap"),
    )


def _group(group: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.heading(group.label, size="2", as_="h3", color=rx.color("gray", 11)),
        rx.el.dl(
            rx.foreach(
                group.fields,
                lambda f: rx.box(
                    rx.el.dt(rx.text(f.label, size="1", color=rx.color("gray", 10))),
                    rx.el.dd(rx.box(_value(f), font_size="var(--font-size-2)"), style={"margin": "0", "overflow_wrap": "anywhere"}),
                ),
            ),
            style={"display": "grid", "grid_template_columns": "repeat(auto-fill, minmax(14rem, 1fr))", "gap": "0.75rem 1.5rem",
                   "margin": "0", "width": "100%"},
        ),
        spacing="2",
        width="100%",
    )


def _details() -> rx.Component:
    S = CompanyState
    return section(
        "Details",
        rx.cond(
            S.groups.length() > 0,
            rx.vstack(rx.foreach(S.groups, _group), spacing="4", width="100%"),
            rx.text("No details yet. Edit the company to add some.", color=rx.color("gray", 10), size="2"),
        ),
        heading_id="company-details-heading",
    )


def _summary() -> rx.Component:
    S = CompanyState

    def item(label: str, value: rx.Component) -> rx.Component:
        return rx.box(rx.el.dt(rx.text(label, size="1", color=rx.color("gray", 10))), rx.el.dd(value, style={"margin": "0"}))

    return section(
        "Summary",
        rx.el.dl(
            item("Score", rx.heading(S.score, size="6", as_="p", aria_label="Score")),
            item("Owner", rx.text(rx.cond(S.owner != "", S.owner, "No owner"), size="2")),
            item("Contacts", rx.text(S.contacts_label, size="2")),
            item("Created", rx.text(S.date_added, size="2")),
            rx.cond(S.date_modified != "", item("Modified", rx.text(S.date_modified, size="2"))),
            style={"display": "grid", "gap": "0.75rem", "margin": "0"},
        ),
        heading_id="company-summary-heading",
    )


def _contact_row(row: rx.Var) -> rx.Component:
    name = row["name"].to(str)
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.link(row["name"], href="/contacts/" + row["id"].to(str), weight="medium"),
                rx.cond(row["primary"] == "1", rx.badge("Primary company", variant="soft", color_scheme="green")),
                align="center",
                spacing="2",
            ),
        ),
        rx.table.cell(row["email"]),
        rx.table.cell(row["points"]),
        rx.table.cell(
            rx.button(rx.icon("unlink", size=14), "Unlink", size="1", variant="soft", color_scheme="gray",
                      aria_label="Unlink " + name, on_click=CompanyState.unlink(row["id"])),
            text_align="right",
        ),
    )


def _link_result(row: rx.Var) -> rx.Component:
    name = row["name"].to(str)
    return rx.hstack(
        rx.vstack(
            rx.text(row["name"], size="2", weight="medium"),
            rx.text(row["email"], size="1", color=rx.color("gray", 10)),
            spacing="0",
            min_width="0",
        ),
        rx.spacer(),
        rx.cond(
            row["linked"] == "1",
            rx.badge("Linked", color_scheme="green", variant="soft"),
            rx.button(rx.icon("link", size=14), "Link", size="1", aria_label="Link " + name,
                      on_click=CompanyState.link(row["id"])),
        ),
        align="center",
        width="100%",
        padding_y="0.35rem",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        role="listitem",
    )


def _link_box() -> rx.Component:
    S = CompanyState
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.el.label("Link a contact", html_for="link-contact-search", style=VISUALLY_HIDDEN),
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    id="link-contact-search",
                    name="link_q",
                    value=S.link_query,
                    on_change=S.set_link_query,
                    placeholder="Find a contact by e-mail or name…",
                    width="100%",
                    aria_describedby=rx.cond(S.link_error != "", "link-contact-search-error", ""),
                ),
                rx.button("Find", type="submit", variant="soft", loading=S.link_busy),
                align="center",
                spacing="2",
                width="100%",
            ),
            on_submit=S.search_contacts,
            role="search",
            aria_label="Find contacts to link",
            width="100%",
            max_width="32rem",
        ),
        rx.cond(S.link_error != "",
                rx.text(S.link_error, id="link-contact-search-error", color=rx.color("red", 11), size="1", role="alert")),
        rx.cond(
            S.link_searched,
            rx.cond(
                S.link_results.length() > 0,
                rx.box(rx.foreach(S.link_results, _link_result), role="list", aria_label="Matching contacts", width="100%",
                       max_width="32rem"),
                rx.text("No contact matches.", size="2", color=rx.color("gray", 10)),
            ),
        ),
        spacing="2",
        width="100%",
    )


def _contacts() -> rx.Component:
    S = CompanyState
    return section(
        "Contacts",
        _link_box(),
        rx.cond(
            S.contacts_total > 0,
            rx.vstack(
                rx.box(
                    rx.table.root(
                        rx.el.caption("Linked contacts", style=VISUALLY_HIDDEN),
                        rx.table.header(
                            rx.table.row(
                                plain_header("Name"),
                                plain_header("Email"),
                                plain_header("Points"),
                                rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN)),
                            ),
                        ),
                        rx.table.body(rx.foreach(S.contacts, _contact_row)),
                        variant="ghost",
                        size="1",
                        width="100%",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.hstack(
                    rx.text(S.contacts_label, size="2", color=rx.color("gray", 11)),
                    rx.spacer(),
                    rx.text(f"Page {S.contacts_page} of {S.contact_pages}", size="2", color=rx.color("gray", 11),
                            aria_live="polite"),
                    rx.icon_button(rx.icon("chevron-left", size=16), on_click=S.prev_contacts, disabled=S.contacts_page <= 1,
                                   variant="soft", aria_label="Previous contacts"),
                    rx.icon_button(rx.icon("chevron-right", size=16), on_click=S.next_contacts,
                                   disabled=S.contacts_page >= S.contact_pages, variant="soft", aria_label="Next contacts"),
                    align="center",
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                spacing="2",
            ),
            rx.text("No contacts are linked to this company yet.", size="2", color=rx.color("gray", 10)),
        ),
        heading_id="company-contacts-heading",
    )


def _content() -> rx.Component:
    S = CompanyState
    return rx.vstack(
        page_header(
            S.name,
            rx.button(rx.link(rx.icon("pencil", size=16), "Edit", href=S.edit_href, underline="none"), as_child=True,
                      variant="soft"),
            rx.button(rx.icon("trash-2", size=16), "Delete", color_scheme="red", variant="soft", on_click=S.ask_delete),
        ),
        rx.grid(
            rx.vstack(_details(), _contacts(), spacing="4", width="100%", min_width="0"),
            _summary(),
            columns=rx.breakpoints(initial="1", lg="3fr 1fr"),
            spacing="4",
            width="100%",
            align_items="start",
        ),
        confirm_dialog(
            open=S.delete_open,
            title="Delete company",
            description="Delete the company “" + S.name + "”? Its contacts stay, without this company. This cannot be undone.",
            confirm_label="Delete",
            on_confirm=S.confirm_delete,
            on_cancel=S.cancel_delete,
            busy=S.deleting,
        ),
        width="100%",
        spacing="2",
    )


@template(route="/companies/[company_id]", title="Company", on_load=CompanyState.load)
def company_page() -> rx.Component:
    S = CompanyState
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Companies", size="2"), align="center", spacing="1"),
                href="/companies", underline="none", color_scheme="gray"),
        rx.cond(
            S.loaded,
            rx.cond(
                S.missing,
                rx.callout("This company does not exist (it may have been deleted).", icon="info", role="alert"),
                _content(),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        width="100%",
        spacing="3",
    )
