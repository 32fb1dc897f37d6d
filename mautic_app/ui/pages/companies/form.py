"""New and edit company: the field registry's form, with the owner and the score beside it."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import companies, contacts
from mautic_app.services import fields as field_service
from mautic_app.ui.components.contact_data import parse_id
from mautic_app.ui.components.record_form import RecordForm, form_fields, record_form_page, side_card
from mautic_app.ui.components.widgets import labelled
from mautic_app.ui.layout import template


def _load(company_id: int | None) -> dict[str, Any] | None:
    with session_scope() as session:
        specs = [s for s in field_service.specs(session=session, obj="company") if s.is_visible]
        row: dict[str, Any] = {}
        if company_id:
            row = companies.read(session=session, company_id=company_id) or {}
            if not row:
                return None
        return form_fields(specs, row) | {
            "owner_id": str(row.get("owner_id") or ""),
            "score": str(row.get("score") or 0),
            "name": str(row.get("companyname") or ""),
            "owners": contacts.owner_options(session=session),
        }


def _save(company_id: int | None, values: dict[str, Any], owner_id: int | None, score: int, user_id: int) -> int:
    with session_scope() as session:
        if company_id:
            companies.update(session=session, company_id=company_id, values=values, overwrite_with_blank=True,
                             owner_id=owner_id, score=score)
            return company_id
        new_id = companies.create(session=session, values=values, user_id=user_id, owner_id=owner_id)
        if score:
            companies.update(session=session, company_id=new_id, values={}, score=score)
        return new_id


class CompanyFormState(RecordForm, rx.State):
    noun: ClassVar[str] = "company"
    new_route: ClassVar[str] = routes.COMPANY_NEW
    edit_route: ClassVar[str] = routes.COMPANY_EDIT
    list_route: ClassVar[str] = routes.COMPANIES
    side_fields: ClassVar[tuple[str, ...]] = ("owner", "score")
    record_error: ClassVar[type[Exception]] = companies.CompanyError

    score: str = "0"

    def _href(self, record_id: int) -> str:
        return routes.company(record_id)

    def _read(self, record_id: int | None) -> dict[str, Any] | None:
        return _load(record_id)

    def _side_values(self, form: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        try:
            score = int(str(form.get("score", "") or "0").strip())
        except ValueError:
            score = 0
            errors["score"] = "The score is a whole number."
        return {"owner_id": parse_id(form.get("owner_id")), "score": score}

    def _store(self, record_id: int | None, values: dict[str, Any], side: dict[str, Any], user_id: int) -> int:
        return _save(record_id, values, side["owner_id"], side["score"], user_id)


def _side_card() -> rx.Component:
    S = CompanyFormState
    return side_card(
        S,
        "Ownership and score",
        "company",
        labelled(
            "Score",
            rx.input(id="company-score", name="score", type="number", step="1", default_value=S.score, width="100%",
                     aria_invalid=S.errors["score"] != "",
                     aria_describedby=rx.cond(S.errors["score"] != "", "company-score-error", "")),
            "company-score",
            error=S.errors["score"],
        ),
    )


def _page() -> rx.Component:
    return record_form_page(CompanyFormState, _side_card, "This company does not exist (it may have been deleted).",
                            "All companies", routes.COMPANIES)


@template(route=routes.COMPANY_NEW, title="New company", on_load=CompanyFormState.load)
def new_company() -> rx.Component:
    return _page()


@template(route=routes.COMPANY_EDIT, title="Edit company", on_load=CompanyFormState.load)
def edit_company() -> rx.Component:
    return _page()
