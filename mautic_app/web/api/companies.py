"""``/api/companies``: Mautic's company routes, thin over ``services.companies``.

As in Mautic, creating a company whose name exists updates that company instead of failing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.models import User
from mautic_app.services import companies, contacts
from mautic_app.services import fields as field_service
from mautic_app.web.api import docs, resource, serializers
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import (
    MAX_INT,
    column_name,
    flag,
    optional_id,
    require_object,
    to_int,
)
from mautic_app.web.api.serializers import respond

router = APIRouter(prefix="/companies", tags=["Companies"], dependencies=[Depends(api_user)])

SPECIAL_KEYS = {"id", "owner", "score", "overwriteWithBlank"}
SYSTEM_SORTS = {"id", "score", "date_added"}


def _owner(session: Session, params: dict[str, Any]) -> Any:
    """The owner to set (None clears), or False when the body does not mention one."""
    if "owner" not in params:
        return False
    owner_id = optional_id(params["owner"], "owner")
    if owner_id is not None and session.get(User, owner_id) is None:
        raise ApiError(400, "owner: Choose an existing user.", {"owner": ["Choose an existing user."]})
    return owner_id


def save(session: Session, company_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
    """Create (``company_id`` None: an existing name updates that company) or edit; returns (id, status)."""
    params = require_object(data)
    values = {k: v for k, v in params.items() if k not in SPECIAL_KEYS}
    nested = {k: ["Give a single value."] for k, v in values.items() if isinstance(v, (dict, list))}
    if nested:
        raise ApiError(400, "Field values must be single values.", nested)
    owner = _owner(session, params)
    score = to_int(params["score"], "score") if params.get("score") not in (None, "") else None
    overwrite = flag(params.get("overwriteWithBlank"))
    if company_id is None and isinstance(values.get("companyname"), str):
        company_id = companies.find_by_name(session=session, name=values["companyname"])
    if company_id is None:
        company_id = companies.create(session=session, values=values, user_id=user_id, owner_id=owner or None)
        if score is not None:
            companies.update(session=session, company_id=company_id, values={}, score=score)
        return company_id, 201
    if method == "PUT":
        blank = {a: (s.default_value if s.default_value not in (None, "") else None)
                 for a, s in field_service.spec_map(session=session, obj="company").items()}
        values, overwrite = blank | values, True
    companies.update(session=session, company_id=company_id, values=values, overwrite_with_blank=overwrite,
                     owner_id=owner, score=score)
    return company_id, 200


def _read(session: Session, company_id: int) -> dict[str, Any]:
    row = companies.read(session=session, company_id=company_id)
    if row is None:
        raise ApiError(404)
    return row


def _company_body(session: Session, company_id: int) -> dict[str, Any]:
    return serializers.company(session=session, row=_read(session, company_id))


@router.get("", summary="List companies")
def list_companies(
    start: int = Query(0, ge=0, le=MAX_INT),
    limit: int = Query(30, description="Companies per page (at most 200; 0 means the most)."),
    search: str = Query("", description="Free text (name, e-mail, city) or `ids:1,2`."),
    order_by: str = Query("", alias="orderBy", description="A company field alias, `id`, `score` or `dateAdded`."),
    order_dir: str = Query("ASC", alias="orderByDir", pattern="(?i)^(asc|desc)$"),
) -> JSONResponse:
    limit = companies.MAX_PAGE if limit <= 0 else min(limit, companies.MAX_PAGE)
    with session_scope() as session:
        sort = column_name(order_by) or "companyname"
        if sort not in SYSTEM_SORTS | {s.alias for s in field_service.specs(session=session, obj="company")}:
            raise ApiError(400, f"Cannot sort by {order_by}.", {"orderBy": ["Choose a company field, id, score or dateAdded."]})
        rows, total = companies.list_companies(session=session, search=search, order_by=sort, direction=order_dir,
                                               start=start, limit=limit)
        items = serializers.companies(session=session, rows=rows)
    return respond({"total": str(total), "companies": items})


@router.get("/{company_id:id}", summary="Get a company")
def get_company(company_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"company": _company_body(session, company_id)})


resource.add_standard_routes(
    router, singular="company", plural="companies", schema=docs.COMPANY,
    new_summary="Create a company (an existing name updates that company)",
    exists=lambda s, company_id: companies.read(session=s, company_id=company_id) is not None,
    read_body_for=_company_body, save=save,
    read_many=lambda s, ids: serializers.companies(
        session=s, rows=[r for i in ids if (r := companies.read(session=s, company_id=i)) is not None]),
    delete=lambda s, ids: companies.delete(session=s, company_ids=ids),
)


@router.post("/{company_id:id}/contact/{contact_id:id}/add", summary="Link a contact to a company")
def add_contact(company_id: int, contact_id: int, user_id: int = Depends(api_user)) -> JSONResponse:
    """The contact's first company becomes its primary one and fills its company field."""
    with session_scope() as session:
        companies.link_contact(session=session, company_id=company_id, contact_id=contact_id, user_id=user_id)
    return respond({"success": 1})


@router.post("/{company_id:id}/contact/{contact_id:id}/remove", summary="Unlink a contact from a company")
def remove_contact(company_id: int, contact_id: int, user_id: int = Depends(api_user)) -> JSONResponse:
    with session_scope() as session:
        _read(session, company_id)
        if contacts.read(session=session, contact_id=contact_id) is None:
            raise ApiError(404)
        companies.unlink_contact(session=session, company_id=company_id, contact_id=contact_id, user_id=user_id)
    return respond({"success": 1})
