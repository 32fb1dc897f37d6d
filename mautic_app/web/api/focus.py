"""``/api/focus``: Mautic's standard routes (``focus`` is both the singular and the plural key).

Properties come and go in Mautic's nested form (``bar.placement``, ``colors``, ``content.headline``,
``when``, ``frequency``...); the flat form our builder stores is accepted as well. Thin over
``services.focus``.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.domain import focus as rules
from mautic_app.models import FocusItem
from mautic_app.services import focus
from mautic_app.web.api import resource
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import MAX_INT, flag, require_object
from mautic_app.web.api.serializers import iso, respond

router = APIRouter(prefix="/focus", tags=["Focus items"], dependencies=[Depends(api_user)])
_KEYS = {"name": "name", "description": "description", "type": "type", "style": "style", "isPublished": "is_published",
         "publishUp": "publish_up", "publishDown": "publish_down"}
UTM_KEYS = ("utmSource", "utmMedium", "utmCampaign", "utmContent")
SCHEMA = {
    "type": "object",
    "required": ["name", "type", "style"],
    "properties": {
        "name": {"type": "string"}, "description": {"type": "string"},
        "type": {"type": "string", "enum": list(rules.TYPES)}, "style": {"type": "string", "enum": list(rules.STYLES)},
        "form": {"type": ["integer", "null"], "description": "The form a form-type item shows."},
        "isPublished": {"type": "boolean"}, "publishUp": {"type": ["string", "null"]}, "publishDown": {"type": ["string", "null"]},
        "utmTags": {"type": "object", "properties": {k: {"type": "string"} for k in UTM_KEYS}},
        "properties": {"type": "object", "description": "Placement, trigger, frequency, colours and content.", "properties": {
            "bar": {"type": "object", "properties": {"placement": {"type": "string", "enum": list(rules.PLACEMENTS["bar"])}}},
            "modal": {"type": "object", "properties": {"placement": {"type": "string", "enum": list(rules.PLACEMENTS["modal"])}}},
            "notification": {"type": "object", "properties": {
                "placement": {"type": "string", "enum": list(rules.PLACEMENTS["notification"])}}},
            "when": {"type": "string", "enum": list(rules.WHEN)}, "timeout": {"type": "integer", "minimum": 0},
            "frequency": {"type": "string", "enum": list(rules.FREQUENCY)},
            "stop_after_conversion": {"type": "boolean"}, "stop_after_close": {"type": "boolean"},
            "animate": {"type": "boolean"}, "link_activation": {"type": "boolean"},
            "colors": {"type": "object", "properties": {k: {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}
                                                        for k in rules.DEFAULT_COLOURS}},
            "content": {"type": "object", "properties": {
                "headline": {"type": "string"}, "tagline": {"type": "string"}, "link_text": {"type": "string"},
                "link_url": {"type": "string", "format": "uri"}, "link_new_window": {"type": "boolean"}}},
            "show_on": {"type": "array", "items": {"type": "string"},
                        "description": "Page addresses (with * wildcards) where the tracking script loads the item."},
        }},
    },
}


def focus_body(item: FocusItem) -> dict[str, Any]:
    return {
        "id": item.id, "isPublished": item.is_published, "dateAdded": iso(item.date_added), "dateModified": iso(item.date_modified),
        "createdBy": item.created_by, "name": item.name, "description": item.description, "category": None,
        "type": item.type, "style": item.style, "website": None, "form": item.form_id,
        "publishUp": iso(item.publish_up), "publishDown": iso(item.publish_down),
        "properties": rules.to_mautic(item.style, item.properties or {}), "utmTags": dict(item.utm_tags or {}) or [],
    }


def _error(exc: rules.FocusError) -> ApiError:
    return ApiError(exc.status, str(exc) if exc.status != 404 else None,
                    {k: [v] for k, v in exc.errors.items()} if exc.status != 404 else None)


def save(session: Session, focus_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
    params = require_object(data)
    values: dict[str, Any] = {}
    for key, name in _KEYS.items():
        if key in params:
            values[name] = flag(params[key]) if key == "isPublished" else params[key]
    if "form" in params:
        form = params["form"]
        values["form_id"] = form.get("id") if isinstance(form, dict) else form
    replace = method in ("PUT", "POST") or focus_id is None
    if "properties" in params or replace:
        current = _get(session, focus_id) if focus_id and not replace else None
        style = str(values.get("style") or (current.style if current else "bar"))
        values["properties"] = rules.from_mautic(style, params.get("properties") or {})
    utm_tags = None
    if "utmTags" in params:
        tags = params["utmTags"]
        if not isinstance(tags, dict):
            raise ApiError(400, "utmTags must be an object.", {"utmTags": ["Give an object of UTM tags."]})
        utm_tags = {k: str(tags[k]) for k in UTM_KEYS if isinstance(tags.get(k), str | int)}
    try:
        item = focus.save_focus(session=session, focus_id=focus_id, values=values, user_id=user_id, replace=replace,
                                utm_tags=utm_tags)
    except rules.FocusError as exc:
        raise _error(exc) from exc
    return cast(int, item.id), 200 if focus_id else 201  # saved, so it has its id


def _get(session: Session, focus_id: int) -> FocusItem:
    try:
        return focus.get_focus(session=session, focus_id=focus_id)
    except rules.FocusError as exc:
        raise _error(exc) from exc


@router.get("", summary="List focus items")
def list_focus(start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(30, ge=0, le=500),
               search: str = Query("", description="Text in the name or description."),
               publishedOnly: bool = Query(False, description="Only published items.")) -> JSONResponse:  # noqa: N803  (Mautic's name)
    with session_scope() as session:
        total, rows = focus.list_focus(session=session, search=search, start=start, limit=limit or 500,
                                       published_only=publishedOnly)
        return respond({"total": str(total), "focus": {r.id: focus_body(r) for r in rows}})


@router.get("/{focus_id:id}", summary="Get a focus item")
def get_focus(focus_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"focus": focus_body(_get(session, focus_id))})


def _delete(session: Session, ids: list[int]) -> None:
    for i in ids:
        try:
            focus.delete_focus(session=session, focus_id=i)
        except rules.FocusError as exc:
            raise _error(exc) from exc


resource.add_standard_routes(
    router, singular="focus", plural="focus", schema=SCHEMA, new_summary="Create a focus item",
    exists=lambda s, i: s.get(FocusItem, i) is not None,
    read_body_for=lambda s, i: focus_body(_get(s, i)), save=save,
    read_many=lambda s, ids: {i: focus_body(item) for i in ids if (item := s.get(FocusItem, i)) is not None},
    delete=_delete,
)
