"""A form's results: every submission, newest first, paged and searchable, live, and exportable to CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import contacts, forms
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import display_name
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN
from mautic_app.ui.layout import RecordPage, missing_record, page_header, template

PAGE = 25
COLUMNS = 6  # field values shown in the table; the CSV has them all


def _load(form_id: int, search: str, start: int) -> dict[str, Any] | None:
    with session_scope() as session:
        form = forms.get_form(session=session, form_id=form_id)
        if form is None:
            return None
        fields = [f for f in forms.fields_of(session=session, form_id=form_id)
                  if f.kind.stores_value and f.save_result and f.type != "password"][:COLUMNS]
        total, rows = forms.results(session=session, form_id=form_id, search=search, start=start, limit=PAGE)
        people = contacts.read_many(session=session, ids=sorted({r.contact_id for r in rows if r.contact_id}),
                                    columns=("firstname", "lastname", "email"))
        return {
            "name": form.name, "total": total, "headers": [f.label for f in fields],
            "rows": [{"id": str(r.id), "date": f"{r.date_submitted:%Y-%m-%d %H:%M:%S}", "contact": str(r.contact_id or ""),
                      "who": display_name({"id": r.contact_id, **people.get(r.contact_id or 0, {})}) if r.contact_id else "",
                      "ip": r.ip_address or "", "page": r.page_url or "",
                      "values": [_cell(form_id, r.id, f.alias, (r.values or {}).get(f.alias)) for f in fields]} for r in rows],
        }


def _cell(form_id: int, submission_id: int, alias: str, value: Any) -> dict[str, str]:
    """A value as text, and for an uploaded file the address that downloads it."""
    href = routes.form_result_file(form_id, submission_id, alias) if isinstance(value, dict) and value.get("stored") else ""
    return {"text": forms.value_text(value)[:200], "href": href}


class FormResultsState(RecordPage, rx.State):
    form_id: int = 0
    name: str = ""
    total: int = 0
    start: int = 0
    search: str = ""
    headers: list[str] = []
    rows: list[dict[str, Any]] = []
    _following: bool = False

    @rx.var
    def range_label(self) -> str:
        if not self.total:
            return "No submissions" + (" match" if self.search else " yet")
        return f"{self.start + 1}–{min(self.start + PAGE, self.total)} of {self.total:,} submissions"

    @rx.var
    def export_href(self) -> str:
        return f"{routes.form_results_csv(self.form_id)}?search={quote(self.search)}"

    async def _reload(self) -> None:
        form_id, search, start = self.form_id, self.search, self.start
        data = await rx.run_in_thread(lambda: _load(form_id, search, start))
        if data is None:
            self.missing = True
            return
        self.name, self.total, self.headers, self.rows = data["name"], data["total"], data["headers"], data["rows"]

    @rx.event
    async def load(self):
        form_id = routes.id_in_path(self.router.url.path, routes.FORM_RESULTS)
        if form_id is None:
            self.missing = True
            self._loaded_here()
            return
        self.form_id, self.start, self.search, self.missing = form_id, 0, "", False
        await self._reload()
        self._loaded_here()
        return FormResultsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            if any(p.get("form_id") == self.form_id for p in batch):
                await self._reload()

        await live.follow(self, ["form_submissions"], refresh)

    @rx.event
    async def find(self, form: dict):
        self.search, self.start = str(form.get("q", "")).strip()[:200], 0
        await self._reload()

    @rx.event
    async def page(self, step: int):
        self.start = max(0, min(self.start + step * PAGE, max(self.total - 1, 0)))
        await self._reload()


@template(route=routes.FORM_RESULTS, title="Form results", on_load=FormResultsState.load)
def form_results_page() -> rx.Component:
    S = FormResultsState
    return rx.cond(
        S.missing,
        missing_record("This form does not exist (it may have been deleted).", "All forms", routes.FORMS),
        rx.vstack(
            page_header("Results: " + S.name,
                        rx.link(rx.button("Edit form", variant="soft", tab_index=-1), href=routes.form(S.form_id.to(str))),
                        rx.link(rx.button(rx.icon("download", size=16), "Export to CSV", tab_index=-1), href=S.export_href, is_external=True)),
            rx.form(
                rx.hstack(
                    rx.input(name="q", placeholder="Search values, e-mail or IP…", aria_label="Search results", width="20rem"),
                    rx.button("Search", type="submit", variant="soft"),
                ),
                on_submit=S.find, reset_on_submit=False,
            ),
            rx.text(S.range_label, size="2", role="status"),
            rx.box(
                rx.table.root(
                    rx.el.caption("Submissions", style=VISUALLY_HIDDEN),
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Submitted"), rx.table.column_header_cell("Contact"),
                        rx.table.column_header_cell("IP address"),
                        rx.foreach(S.headers, lambda h: rx.table.column_header_cell(h)),
                        rx.table.column_header_cell("Page"),
                    )),
                    rx.table.body(rx.foreach(S.rows, lambda r: rx.table.row(
                        rx.table.row_header_cell(r["date"].to(str)),
                        rx.table.cell(rx.cond(r["contact"].to(str) != "", rx.link(r["who"].to(str), href=routes.contact(r["contact"].to(str))))),
                        rx.table.cell(r["ip"].to(str)),
                        rx.foreach(r["values"].to(list[dict[str, str]]), lambda v: rx.table.cell(rx.cond(
                            v["href"] != "", rx.el.a(v["text"], href=v["href"], download="", aria_label="Download " + v["text"],
                                            custom_attrs={"reloadDocument": True}),  # a file, not a page: the browser fetches it
                            v["text"]))),
                        rx.table.cell(rx.text(r["page"].to(str), size="1")),
                    ))),
                    variant="surface", size="2", width="100%",
                ),
                overflow_x="auto", width="100%",
            ),
            rx.hstack(
                rx.button("Newer", on_click=S.page(-1), disabled=S.start == 0, variant="soft"),
                rx.button("Older", on_click=S.page(1), disabled=S.start + PAGE >= S.total, variant="soft"),
            ),
            spacing="3", width="100%",
        ),
    )
