"""Companies: the list (search, sort, paging, live) and the new / edit form built from the field registry."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar
from urllib.parse import urlencode

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import companies
from mautic_app.services import fields as field_service
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import owner_options
from mautic_app.ui.components.field_input import (
    GROUP_LABELS,
    FieldInput,
    describe_field,
    display_value,
    field_control,
    form_values,
    input_value,
    shared_datalists,
)
from mautic_app.ui.components.paged_list import PagedList, delete_confirmation, list_body, row_actions, search_form
from mautic_app.ui.components.widgets import (
    VISUALLY_HIDDEN,
    labelled,
    native_select,
    option_list,
    plain_header,
    sort_header,
)
from mautic_app.ui.layout import RecordPage, page_header, template
from mautic_app.ui.session import SessionState

ROUTE = "/companies"
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


def company_id_from_path(path: str) -> int | None:
    """The id in ``/companies/<id>`` or ``/companies/<id>/edit``."""
    parts = [p for p in (path or "").split("/") if p]
    if len(parts) >= 2 and parts[0] == "companies" and parts[1].isdigit() and int(parts[1]) > 0:
        return int(parts[1])
    return None


def _parse_id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


# ---------------------------------------------------------------- list


def _columns(session) -> list[dict[str, str]]:
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


class CompaniesState(PagedList, rx.State):
    noun: ClassVar[str] = "company"
    nouns: ClassVar[str] = "companies"

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
        search = str(self.router.url.query_parameters.get("search", "") or "")
        if search != self.search:
            self.page = 1
        self.search = self.search_input = search
        self.delete_id = 0
        await self._reload()
        return CompaniesState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["companies", "fields"], refresh)

    def _sync_url(self):
        query = f"?{urlencode({'search': self.search})}" if self.search else ""
        return rx.call_script(f"window.history.replaceState(window.history.state, '', '{ROUTE}{query}')")

    @rx.event
    async def apply_search(self, form: dict):
        self.search = str(form.get("q", self.search_input) or "").strip()
        self.search_input = self.search
        self.page = 1
        yield self._sync_url()
        await self._reload()

    @rx.event
    async def clear_search(self):
        self.search = self.search_input = ""
        self.page = 1
        yield self._sync_url()
        await self._reload()

    @rx.event
    async def sort(self, key: str):
        if self.order_by == key:
            self.order_dir = "asc" if self.order_dir == "desc" else "desc"
        else:
            self.order_by = key
            self.order_dir = "desc" if key in ("score", "id") else "asc"
        self.page = 1
        await self._reload()


def _list_row(row: rx.Var) -> rx.Component:
    S = CompaniesState
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(row["name"], href="/companies/" + row["id"].to(str), weight="medium"),
            max_width="20rem",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
        ),
        rx.foreach(
            S.columns,
            lambda c: rx.table.cell(row[c["key"]], max_width="16rem", overflow="hidden", text_overflow="ellipsis",
                                    white_space="nowrap"),
        ),
        rx.table.cell(row_actions(S, row, edit=rx.icon_button(
            rx.link(rx.icon("pencil", size=14), href="/companies/" + row["id"].to(str) + "/edit",
                    aria_label="Edit " + row["name"].to(str), color="inherit"),
            as_child=True, size="1", variant="soft",
        ))),
        _hover={"background": rx.color("gray", 2)},
    )


def _list_table() -> rx.Component:
    S = CompaniesState
    return rx.box(
        rx.table.root(
            rx.el.caption("Companies", style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    sort_header("Name", "companyname", S.order_by, S.order_dir, S.sort),
                    rx.foreach(
                        S.columns,
                        lambda c: rx.cond(
                            c["sort"] != "",
                            sort_header(c["label"], c["sort"], S.order_by, S.order_dir, S.sort),
                            plain_header(c["label"]),
                        ),
                    ),
                    rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN), width="6rem"),
                ),
            ),
            rx.table.body(rx.foreach(S.rows, _list_row)),
            variant="surface",
            size="2",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


@template(route=ROUTE, title="Companies", on_load=CompaniesState.load)
def companies_page() -> rx.Component:
    S = CompaniesState
    return rx.vstack(
        page_header(
            "Companies",
            rx.button(rx.link(rx.icon("plus", size=16), "New company", href="/companies/new", underline="none"), as_child=True),
        ),
        search_form(S, "Companies", placeholder="Search by name, e-mail or city…"),
        rx.cond(
            S.error != "",
            rx.callout(S.error, icon="triangle-alert", color_scheme="amber", role="alert", width="100%"),
            rx.hstack(
                rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status", aria_live="polite"),
                rx.cond(S.search != "", rx.text("matching ", rx.code(S.search), size="2", color=rx.color("gray", 11))),
                spacing="2",
                align="center",
            ),
        ),
        list_body(S, _list_table(), rx.text("No companies match.", color=rx.color("gray", 10))),
        delete_confirmation(S, "Its contacts stay, without this company."),
        spacing="3",
        width="100%",
    )


# ---------------------------------------------------------------- new / edit form


@dataclasses.dataclass
class FieldGroup:
    key: str = ""
    label: str = ""
    fields: list[FieldInput] = dataclasses.field(default_factory=list)


def _load_form(company_id: int | None) -> dict[str, Any] | None:
    with session_scope() as session:
        specs = [s for s in field_service.specs(session=session, obj="company") if s.is_visible]
        row: dict[str, Any] = {}
        if company_id:
            row = companies.read(session=session, company_id=company_id) or {}
            if not row:
                return None
        described = [describe_field(s) for s in specs]
        groups = [FieldGroup(key=g, label=label, fields=[f for f in described if f.group == g]) for g, label in GROUP_LABELS.items()]
        return {
            "groups": [g for g in groups if g.fields],
            "values": {s.alias: input_value(s.type, row.get(s.alias) if row else s.default_value) for s in specs},
            "owner_id": str(row.get("owner_id") or ""),
            "score": str(row.get("score") or 0),
            "name": str(row.get("companyname") or ""),
            "owners": owner_options(session),
        }


def _save_form(company_id: int | None, values: dict[str, Any], owner_id: int | None, score: int, user_id: int) -> int:
    with session_scope() as session:
        if company_id:
            companies.update(session=session, company_id=company_id, values=values, overwrite_with_blank=True,
                             owner_id=owner_id, score=score)
            return company_id
        new_id = companies.create(session=session, values=values, user_id=user_id, owner_id=owner_id)
        if score:
            companies.update(session=session, company_id=new_id, values={}, score=score)
        return new_id


class CompanyFormState(RecordPage, rx.State):
    cid: int = 0
    loaded: bool = False
    missing: bool = False
    name: str = ""
    groups: list[FieldGroup] = []
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    owner_id: str = ""
    score: str = "0"
    owners: list[dict[str, str]] = []
    form_error: str = ""
    saving: bool = False
    form_key: int = 0

    @rx.var
    def heading(self) -> str:
        return f"Edit {self.name}" if self.cid else "New company"

    @rx.var
    def cancel_href(self) -> str:
        return f"/companies/{self.cid}" if self.cid else ROUTE

    @rx.event
    async def load(self):
        path = self.router.url.path.rstrip("/")
        cid = 0 if path.endswith("/new") else (company_id_from_path(path) or -1)
        self.loaded, self.missing, self.form_error, self.saving = False, False, "", False
        yield
        if cid < 0:
            self.missing, self.loaded = True, True
            self._loaded_here()
            return
        data = await rx.run_in_thread(lambda: _load_form(cid or None))
        self.cid = cid
        if data is None:
            self.missing, self.loaded = True, True
            self._loaded_here()
            return
        self.groups, self.values = data["groups"], data["values"]
        self.errors = {alias: "" for alias in data["values"]} | {"owner": "", "score": ""}
        self.owner_id, self.score, self.name, self.owners = data["owner_id"], data["score"], data["name"], data["owners"]
        self.form_key += 1
        self.loaded = True
        self._loaded_here()

    @rx.event
    async def save(self, form: rx.form.FormData):
        if self.saving:
            return
        user_id = (await self.get_state(SessionState)).user_id
        fields = [f for g in self.groups for f in g.fields]
        values = form_values(fields, form, self.values)
        owner_id = _parse_id(form.get("owner_id"))
        score_text = str(form.get("score", "") or "0").strip()
        errors = {k: "" for k in self.errors}
        try:
            score = int(score_text)
        except ValueError:
            score = 0
            errors["score"] = "The score is a whole number."
        cid = self.cid or None
        if errors["score"]:
            self.errors, self.form_error = errors, "Please correct the highlighted fields."
            return
        self.saving = True
        yield
        try:
            saved = await rx.run_in_thread(lambda: _save_form(cid, values, owner_id, score, user_id))
        except companies.CompanyError as exc:
            self.saving = False
            self.errors = errors | {k: str(v) for k, v in exc.errors.items()}
            unknown = [str(v) for k, v in exc.errors.items() if k not in self.values]
            self.form_error = " ".join(unknown) or "Please correct the highlighted fields."
            return
        # Not loaded any more: the next visit to this form waits for its own load instead of showing
        # this one's values (Reflex keeps a tab's state between pages), where typing would be lost.
        self.saving, self.loaded = False, False
        self.form_error = ""
        yield rx.toast.success("Company saved.")
        yield rx.redirect(f"/companies/{saved}")


def _group_card(group: rx.Var) -> rx.Component:
    S = CompanyFormState
    return rx.card(
        rx.el.fieldset(
            rx.el.legend(rx.heading(group.label, size="3", as_="span"), style={"padding": "0", "margin_bottom": "var(--space-3)"}),
            rx.grid(
                rx.foreach(group.fields, lambda f: field_control(f, S.values, S.errors)),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            style={"border": "none", "padding": "0", "margin": "0", "min_width": "0"},
        ),
        width="100%",
    )


def _side_card() -> rx.Component:
    S = CompanyFormState
    return rx.card(
        rx.vstack(
            rx.heading("Ownership and score", size="3", as_="h2"),
            labelled(
                "Owner",
                native_select(*option_list(S.owners, blank="No owner"), id="company-owner", name="owner_id",
                              default_value=S.owner_id),
                "company-owner",
                error=S.errors["owner"],
            ),
            labelled(
                "Score",
                rx.input(id="company-score", name="score", type="number", step="1", default_value=S.score, width="100%",
                         aria_invalid=S.errors["score"] != "",
                         aria_describedby=rx.cond(S.errors["score"] != "", "company-score-error", "")),
                "company-score",
                error=S.errors["score"],
            ),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def _form() -> rx.Component:
    S = CompanyFormState
    return rx.form(
        rx.grid(
            rx.vstack(rx.foreach(S.groups, _group_card), spacing="4", width="100%", min_width="0"),
            rx.vstack(
                _side_card(),
                rx.cond(S.form_error != "",
                        rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%")),
                rx.hstack(
                    rx.button(rx.icon("save", size=16), "Save", type="submit", loading=S.saving),
                    rx.button(rx.link("Cancel", href=S.cancel_href, underline="none"), as_child=True, variant="soft",
                              color_scheme="gray"),
                    spacing="3",
                ),
                spacing="4",
                width="100%",
                position=rx.breakpoints(initial="static", lg="sticky"),
                top="5rem",
            ),
            columns=rx.breakpoints(initial="1", lg="3fr 1fr"),
            spacing="4",
            width="100%",
            align_items="start",
        ),
        shared_datalists(),
        on_submit=S.save,
        no_validate=True,
        key=S.form_key,
        aria_label=S.heading,
        width="100%",
    )


def _form_page() -> rx.Component:
    S = CompanyFormState
    return rx.vstack(
        page_header(S.heading),
        rx.cond(
            S.loaded,
            rx.cond(S.missing, rx.callout("This company does not exist (it may have been deleted).", icon="info", role="alert"),
                    _form()),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        width="100%",
        spacing="2",
    )


@template(route="/companies/new", title="New company", on_load=CompanyFormState.load)
def new_company() -> rx.Component:
    return _form_page()


@template(route="/companies/[company_id]/edit", title="Edit company", on_load=CompanyFormState.load)
def edit_company() -> rx.Component:
    return _form_page()
