"""``/api/fields/contact`` and ``/api/fields/company``: the field registry over ``services.fields``.

Creating a field adds a real column; alias, type and object never change afterwards, so an
edit only touches label, group, default, flags and options. PUT on a missing id creates.
Any API user may read fields; only administrators may change them, as in the UI: a write can
drop a column with its data, or let visitors set a field ("publicly updatable").
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.models import FieldDefinition
from mautic_app.services import fields as field_service
from mautic_app.web.api import docs, serializers
from mautic_app.web.api.auth import api_admin, api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import flag, read_body, require_object
from mautic_app.web.api.serializers import respond

router = APIRouter(prefix="/fields", tags=["Fields"], dependencies=[Depends(api_user)])
ADMINS_ONLY = [Depends(api_admin)]
Obj = Literal["contact", "company"]
FLAGS = {
    "isRequired": "is_required", "isVisible": "is_visible", "isListable": "is_listable",
    "isPubliclyUpdatable": "is_publicly_updatable", "isUniqueIdentifier": "is_unique_identifier",
    "isUniqueIdentifer": "is_unique_identifier",  # Mautic's own misspelling, still sent by old clients
}


def _properties(value: Any) -> dict[str, Any]:
    """Options may come as Mautic's ``[{label, value}]`` list; the registry keeps plain values."""
    if not isinstance(value, dict):
        return {}
    items = value.get("list")
    if isinstance(items, list):
        return value | {"list": [i.get("value", i.get("label", "")) if isinstance(i, dict) else i for i in items]}
    return value


def _changes(params: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {snake: flag(params[camel]) for camel, snake in FLAGS.items() if camel in params}
    for key in ("label", "group"):
        if key in params:
            changes[key] = str(params[key] or "")
    if "defaultValue" in params:
        changes["default_value"] = None if params["defaultValue"] in (None, "") else str(params["defaultValue"])
    if "properties" in params:
        changes["properties"] = _properties(params["properties"])
    return changes


def _row(session: Session, obj: str, field_id: int) -> FieldDefinition:
    row = field_service.field_row(session=session, obj=obj, field_id=field_id)
    if row is None:
        raise ApiError(404)
    return row


@router.get("/{obj}", summary="List contact or company fields")
def list_fields(obj: Obj) -> JSONResponse:
    with session_scope() as session:
        rows = field_service.field_rows(session=session, obj=obj)
        return respond({"total": len(rows), "fields": [serializers.field_definition(r) for r in rows]})


@router.get("/{obj}/{field_id:id}", summary="Get a field")
def get_field(obj: Obj, field_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"field": serializers.field_definition(_row(session, obj, field_id))})


def _create(session: Session, obj: str, params: dict[str, Any]) -> FieldDefinition:
    changes = _changes(params)
    return field_service.create_field(
        session=session, obj=obj, label=changes.pop("label", ""), type=str(params.get("type") or "text"),
        alias=str(params.get("alias") or ""), group=changes.pop("group", "core") or "core",
        is_indexed=flag(params.get("isIndexed")), **changes,
    )


@router.post("/{obj}/new", summary="Create a field (adds a column; administrators only)", openapi_extra=docs.body(docs.FIELD),
             dependencies=ADMINS_ONLY)
def new_field(obj: Obj, body: Any = Depends(read_body)) -> JSONResponse:
    with session_scope() as session:
        row = _create(session, obj, require_object(body))
        return respond({"field": serializers.field_definition(row)}, 201)


@router.put("/{obj}/{field_id:id}/edit", summary="Edit a field (created when missing; administrators only)",
            openapi_extra=docs.body(docs.FIELD), dependencies=ADMINS_ONLY)
@router.patch("/{obj}/{field_id:id}/edit", summary="Edit a field's label, group, default, flags or options (administrators only)",
              openapi_extra=docs.body(docs.FIELD), dependencies=ADMINS_ONLY)
def edit_field(request: Request, obj: Obj, field_id: int, body: Any = Depends(read_body)) -> JSONResponse:
    params = require_object(body)
    with session_scope() as session:
        if field_service.field_row(session=session, obj=obj, field_id=field_id) is None:
            if request.method == "PATCH":
                raise ApiError(404)
            return respond({"field": serializers.field_definition(_create(session, obj, params))}, 201)
        row = field_service.update_field(session=session, field_id=field_id, **_changes(params))
        return respond({"field": serializers.field_definition(row)})


@router.delete("/{obj}/{field_id:id}/delete", summary="Delete a custom field (drops its column; administrators only)",
               dependencies=ADMINS_ONLY)
def delete_field(obj: Obj, field_id: int) -> JSONResponse:
    with session_scope() as session:
        payload = {"field": serializers.field_definition(_row(session, obj, field_id))}
        field_service.delete_field(session=session, field_id=field_id)
    return respond(payload)
