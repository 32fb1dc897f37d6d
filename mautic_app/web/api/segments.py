"""``/api/segments``: Mautic's standard routes (``list``/``lists`` keys), filters in Mautic's JSON form,
membership by hand, and a contact's segments.

Thin over ``services.segments`` (a saved segment is rebuilt by a Celery task once the save commits).
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.domain import segments as rules
from mautic_app.models import Segment
from mautic_app.services import segments
from mautic_app.web.api import docs, resource
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import MAX_BATCH, MAX_INT, flag, parse_id, read_body, require_object
from mautic_app.web.api.serializers import iso, respond

router = APIRouter(prefix="/segments", tags=["Segments"], dependencies=[Depends(api_user)])
contact_router = APIRouter(prefix="/contacts", tags=["Contacts"], dependencies=[Depends(api_user)])
_KEYS = {"name": "name", "alias": "alias", "publicName": "public_name", "description": "description",
         "isPublished": "is_published", "isGlobal": "is_global", "isPreferenceCenter": "is_preference_center"}


def segment_body(session: Session, segment: Segment) -> dict[str, Any]:
    fields = segments.filter_fields(session=session)
    return {
        "id": segment.id, "isPublished": segment.is_published, "dateAdded": iso(segment.date_added),
        "dateModified": iso(segment.date_modified), "createdBy": segment.created_by, "name": segment.name,
        "publicName": segment.public_name, "alias": segment.alias, "description": segment.description,
        "category": None, "isGlobal": segment.is_global, "isPreferenceCenter": segment.is_preference_center,
        "filters": rules.to_json(rules.parse_filters(segment.filters), fields),
        "lastBuiltDate": iso(segment.last_built), "lastBuiltTime": segment.build_seconds, "contactCount": segment.member_count,
    }


def save(session: Session, segment_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
    params = require_object(data)
    values: dict[str, Any] = {}
    current = segments.get_segment(session=session, segment_id=segment_id) if segment_id else None
    if method == "PUT" or current is None:  # a PUT replaces the whole record
        values = {"name": "", "public_name": "", "description": "", "is_published": True, "is_global": True,
                  "is_preference_center": False, "filters": []}
    elif current is not None:
        values["name"] = current.name
    for key, name in _KEYS.items():
        if key in params:
            values[name] = flag(params[key]) if key.startswith("is") else params[key]
    if "filters" in params:
        raw = params["filters"]
        if isinstance(raw, dict):  # PHP clients send lists keyed by position
            raw = list(raw.values())
        values["filters"] = raw
    segment = segments.save_segment(session=session, segment_id=segment_id, values=values, user_id=user_id)
    return cast(int, segment.id), 200 if segment_id else 201  # saved, so it has its id


@router.get("", summary="List segments")
def list_segments(start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(30, ge=0, le=500),
                  search: str = Query("", description="Text in the name or alias.")) -> JSONResponse:
    with session_scope() as session:
        total, rows = segments.list_segments(session=session, search=search, start=start, limit=limit or 500)
        return respond({"total": str(total), "lists": {r.id: segment_body(session, r) for r in rows}})


@router.get("/{segment_id:id}", summary="Get a segment")
def get_segment(segment_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"list": segment_body(session, segments.get_segment(session=session, segment_id=segment_id))})


def _by_hand(segment_id: int, contact_id: int, user_id: int, *, add: bool) -> JSONResponse:
    with session_scope() as session:
        segments.get_segment(session=session, segment_id=segment_id)
        if not segments.contact_exists(session=session, contact_id=contact_id):
            raise ApiError(404)
        change = segments.add_contacts if add else segments.remove_contacts
        change(session=session, segment_id=segment_id, contact_ids=[contact_id], user_id=user_id)
    return respond({"success": 1})


@router.post("/{segment_id:id}/contact/{contact_id:id}/add", summary="Add a contact to a segment by hand")
def add_contact(segment_id: int, contact_id: int, user_id: int = Depends(api_user)) -> JSONResponse:
    return _by_hand(segment_id, contact_id, user_id, add=True)


@router.post("/{segment_id:id}/contact/{contact_id:id}/remove", summary="Remove a contact from a segment by hand")
def remove_contact(segment_id: int, contact_id: int, user_id: int = Depends(api_user)) -> JSONResponse:
    return _by_hand(segment_id, contact_id, user_id, add=False)


@router.post("/{segment_id:id}/contacts/add", summary=f"Add up to {MAX_BATCH} contacts to a segment by hand",
             openapi_extra=docs.body(docs.IDS))
def add_contacts(segment_id: int, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    raw = body.get("ids") if isinstance(body, dict) else body
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "Give the ids of the contacts to add.", {"ids": ["Give a list of contact ids."]})
    if len(raw) > MAX_BATCH:
        raise ApiError(400, f"A maximum of {MAX_BATCH} entities are supported for batch operations.")
    ids = [parse_id(v) for v in raw]
    with session_scope() as session:
        segments.get_segment(session=session, segment_id=segment_id)
        existing = segments.existing_contacts(session=session, contact_ids=[i for i in ids if i])
        segments.add_contacts(session=session, segment_id=segment_id, contact_ids=sorted(existing), user_id=user_id)
    details = {str(v): {"success": bool(i and i in existing)} for v, i in zip(raw, ids, strict=True)}
    return respond({"success": 1, "details": details})


@contact_router.get("/{contact_id:id}/segments", summary="Segments a contact is in")
def contact_segments(contact_id: int) -> JSONResponse:
    with session_scope() as session:
        if not segments.contact_exists(session=session, contact_id=contact_id):
            raise ApiError(404)
        rows = segments.memberships(session=session, contact_id=contact_id)
    items = {seg.id: {"id": seg.id, "name": seg.name, "alias": seg.alias, "dateAdded": iso(added), "manuallyAdded": manual}
             for seg, added, manual in rows}
    return respond({"total": len(items), "lists": items})


@contact_router.get("/list/segments", summary="Segments a contact can be put in")
def segment_choices() -> JSONResponse:
    with session_scope() as session:
        _total, rows = segments.list_segments(session=session, limit=500)
    return respond([{"id": r.id, "name": r.name, "alias": r.alias} for r in rows])


def _delete(session: Session, segment_ids: list[int]) -> None:
    for segment_id in segment_ids:
        segments.delete_segment(session=session, segment_id=segment_id)


resource.add_standard_routes(
    router, singular="list", plural="lists", schema=docs.SEGMENT, new_summary="Create a segment",
    exists=lambda s, i: s.get(Segment, i) is not None,
    read_body_for=lambda s, i: segment_body(s, segments.get_segment(session=s, segment_id=i)), save=save,
    read_many=lambda s, ids: {i: segment_body(s, seg) for i in ids if (seg := s.get(Segment, i)) is not None},
    delete=_delete,
)
