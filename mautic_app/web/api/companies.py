"""``/api/companies``: Mautic's company routes, thin over ``services.companies``.

As in Mautic, creating a company whose name exists updates that company instead of failing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.models import User
from mautic_app.services import companies, contacts
from mautic_app.services import fields as field_service
from mautic_app.web.api import batch, docs, serializers
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import (
    MAX_INT,
    batch_ids,
    batch_items,
    column_name,
    flag,
    optional_id,
    query_data,
    read_body,
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


def save(session: Session, *, company_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
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
):
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
def get_company(company_id: int):
    with session_scope() as session:
        return respond({"company": _company_body(session, company_id)})


@router.post("/new", summary="Create a company (an existing name updates that company)", openapi_extra=docs.body(docs.COMPANY))
def new_company(body: Any = Depends(read_body), user_id: int = Depends(api_user)):
    with session_scope() as session:
        company_id, status = save(session, company_id=None, data=body, method="POST", user_id=user_id)
        payload = {"company": _company_body(session, company_id)}
    return respond(payload, status, {"Location": f"/api/companies/{company_id}"} if status == 201 else None)


@router.put("/{company_id:id}/edit", summary="Replace a company (created when missing)", openapi_extra=docs.body(docs.COMPANY))
@router.patch("/{company_id:id}/edit", summary="Change the values sent", openapi_extra=docs.body(docs.COMPANY))
def edit_company(request: Request, company_id: int, body: Any = Depends(read_body), user_id: int = Depends(api_user)):
    with session_scope() as session:
        exists = companies.read(session=session, company_id=company_id) is not None
        if not exists and request.method == "PATCH":
            raise ApiError(404)
        new_id, status = save(session, company_id=company_id if exists else None, data=body, method=request.method,
                              user_id=user_id)
        payload = {"company": _company_body(session, new_id)}
    return respond(payload, status)


@router.delete("/{company_id:id}/delete", summary="Delete a company")
def delete_company(company_id: int):
    with session_scope() as session:
        payload = {"company": _company_body(session, company_id)}
        companies.delete(session=session, company_ids=[company_id])
    return respond(payload)


def _batch_item(item: Any, *, method: str, user_id: int, editing: bool) -> batch.Result:
    def work(session: Session) -> batch.Result:
        company_id = None
        if editing:
            company_id = to_int(require_object(item).get("id"), "id")
            if companies.read(session=session, company_id=company_id) is None:
                if method == "PATCH":
                    raise ApiError(404)
                company_id = None
        new_id, status = save(session, company_id=company_id, data=item, method=method, user_id=user_id)
        return status, _company_body(session, new_id)

    return batch.run_item(work)


@router.post("/batch/new", summary="Create up to 200 companies", openapi_extra=docs.body(docs.COMPANY, batch=True))
def batch_new(body: Any = Depends(read_body), user_id: int = Depends(api_user)):
    results = [_batch_item(item, method="POST", user_id=user_id, editing=False) for item in batch_items(body)]
    return respond(batch.payload("companies", results), 201)


@router.put("/batch/edit", summary="Replace up to 200 companies (missing ids are created)",
            openapi_extra=docs.body(docs.COMPANY, batch=True, with_id=True))
@router.patch("/batch/edit", summary="Change up to 200 companies (each item has an id)",
              openapi_extra=docs.body(docs.COMPANY, batch=True, with_id=True))
def batch_edit(request: Request, body: Any = Depends(read_body), user_id: int = Depends(api_user)):
    results = [_batch_item(item, method=request.method, user_id=user_id, editing=True) for item in batch_items(body)]
    return respond(batch.payload("companies", results))


@router.delete("/batch/delete", summary="Delete up to 200 companies", openapi_extra=docs.batch_delete())
def batch_delete(request: Request, body: Any = Depends(read_body)):
    results = batch.delete_many(
        batch_ids(query_data(request), body),
        read_many=lambda s, ids: serializers.companies(
            session=s, rows=[r for i in ids if (r := companies.read(session=s, company_id=i)) is not None]),
        delete=lambda s, ids: companies.delete(session=s, company_ids=ids),
    )
    return respond(batch.payload("companies", results))


@router.post("/{company_id:id}/contact/{contact_id:id}/add", summary="Link a contact to a company")
def add_contact(company_id: int, contact_id: int, user_id: int = Depends(api_user)):
    """The contact's first company becomes its primary one and fills its company field."""
    with session_scope() as session:
        companies.link_contact(session=session, company_id=company_id, contact_id=contact_id, user_id=user_id)
    return respond({"success": 1})


@router.post("/{company_id:id}/contact/{contact_id:id}/remove", summary="Unlink a contact from a company")
def remove_contact(company_id: int, contact_id: int, user_id: int = Depends(api_user)):
    with session_scope() as session:
        _read(session, company_id)
        if contacts.read(session=session, contact_id=contact_id) is None:
            raise ApiError(404)
        companies.unlink_contact(session=session, company_id=company_id, contact_id=contact_id, user_id=user_id)
    return respond({"success": 1})
