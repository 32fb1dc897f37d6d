"""``/api/contacts``: Mautic's contact routes, thin over ``services.contacts``.

Each request is one ``session_scope`` (batch routes: one per item, so one bad item does not
undo the others). Writes go through the services, which log the timeline and publish changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.services import companies as company_service
from mautic_app.services import contacts, timeline
from mautic_app.services import fields as field_service
from mautic_app.web.api import docs, resource, serializers
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import (
    MAX_INT,
    column_name,
    flag,
    optional_id,
    query_data,
    read_body,
    require_object,
    to_int,
)
from mautic_app.web.api.serializers import respond

router = APIRouter(prefix="/contacts", tags=["Contacts"], dependencies=[Depends(api_user)])

SPECIAL_KEYS = {"id", "tags", "owner", "stage", "ipAddress", "overwriteWithBlank", "lastActive", "doNotContact",
                "companies", "frequencyRules"}
# A PUT replaces the whole record, but accumulated points and activity are not the client's to blank.
PUT_KEEPS = {"points", "last_active"}
_UNSET: Any = object()


@dataclass
class ContactInput:
    """A write body split into field values and Mautic's special keys."""

    values: dict[str, Any]
    tags: Any = None
    owner: Any = _UNSET
    stage: Any = _UNSET
    ip: str | None = None
    overwrite: bool = False
    dnc: list[dict[str, Any]] = field(default_factory=list)


def parse_input(data: Any) -> ContactInput:
    params = require_object(data)
    values = {k: v for k, v in params.items() if k not in SPECIAL_KEYS}
    nested = {k: ["Give a single value."] for k, v in values.items() if isinstance(v, dict)}
    if nested:
        raise ApiError(400, "Field values must be single values.", nested)
    if "lastActive" in params:
        values["last_active"] = params["lastActive"]
    tags = params.get("tags")
    if tags is not None and not (isinstance(tags, str) or (isinstance(tags, list) and all(isinstance(t, (str, int)) for t in tags))):
        raise ApiError(400, "tags must be a list of names or a comma separated string.", {"tags": ["Give tag names."]})
    dnc = params.get("doNotContact") or []
    if not isinstance(dnc, list) or not all(isinstance(d, dict) for d in dnc):
        raise ApiError(400, "doNotContact must be a list of {channel, reason, comments}.", {"doNotContact": ["Give a list."]})
    ip = params.get("ipAddress")
    return ContactInput(
        values=values,
        tags=tags,
        owner=optional_id(params["owner"], "owner") if "owner" in params else _UNSET,
        stage=optional_id(params["stage"], "stage") if "stage" in params else _UNSET,
        ip=str(ip) if ip not in (None, "") else None,
        overwrite=flag(params.get("overwriteWithBlank")),
        dnc=dnc,
    )


def _full_record(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """PUT semantics: fields not sent go back to their default (or empty)."""
    blank = {
        alias: (spec.default_value if spec.default_value not in (None, "") else None)
        for alias, spec in field_service.spec_map(session=session).items() if alias not in PUT_KEEPS
    }
    return blank | values


def save(session: Session, contact_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
    """Create (``contact_id`` None: an existing e-mail updates that contact) or edit; returns (id, status)."""
    inp = parse_input(data)
    values = inp.values
    if method != "PUT" and values.get("points") in ("", None):
        values.pop("points", None)
    if contact_id is None:
        contact_id, created = contacts.create(
            session=session, values=values, user_id=user_id, source="api", tags=inp.tags or None, ip=inp.ip,
            check_required=False, merge_existing=True, overwrite_with_blank=inp.overwrite,
        )
        status = 201 if created else 200
        if not created and inp.ip:
            contacts.add_ip(session=session, contact_id=contact_id, ip=inp.ip)
    else:
        overwrite = inp.overwrite or method == "PUT"
        if method == "PUT":
            values = _full_record(session, values)
        changed = contacts.update(session=session, contact_id=contact_id, values=values, user_id=user_id,
                                  overwrite_with_blank=overwrite, source="api")
        duplicate = contacts.duplicate_of(session=session, contact_id=contact_id, values={a: new for a, (_, new) in changed.items()})
        if duplicate:
            contacts.merge(session=session, winner_id=contact_id, loser_id=duplicate, user_id=user_id)
        if inp.tags:
            contacts.modify_tags(session=session, contact_ids=[contact_id], tags=inp.tags, user_id=user_id)
        if inp.ip:
            contacts.add_ip(session=session, contact_id=contact_id, ip=inp.ip)
        status = 200
    if inp.owner is not _UNSET:
        contacts.set_owner(session=session, contact_ids=[contact_id], owner_id=inp.owner, user_id=user_id)
    if inp.stage is not _UNSET:
        contacts.set_stage(session=session, contact_ids=[contact_id], stage_id=inp.stage, user_id=user_id)
    for item in inp.dnc:
        channel = str(item.get("channel") or "email")
        reason = to_int(item.get("reason", 3), "reason")
        if reason == 0:
            contacts.remove_dnc(session=session, contact_id=contact_id, channel=channel, user_id=user_id)
        else:
            contacts.add_dnc(session=session, contact_id=contact_id, channel=channel, reason=reason,
                             comments=str(item.get("comments") or ""), user_id=user_id)
    return contact_id, status


def _read(session: Session, contact_id: int) -> dict[str, Any]:
    row = contacts.read(session=session, contact_id=contact_id)
    if row is None:
        raise ApiError(404)
    return row


def _contact_body(session: Session, contact_id: int) -> dict[str, Any]:
    return serializers.contact(session=session, row=_read(session, contact_id))


def _sort_column(session: Session, order_by: str) -> str | None:
    """The column to sort by, or None for the default order; an unknown column is a 400."""
    name = column_name(order_by)
    if name and name not in contacts.sortable_columns(session=session):
        raise ApiError(400, f"Cannot sort by {order_by}.", {"orderBy": ["Choose a contact field or date column."]})
    return name


# ---------------------------------------------------------------- reads


@router.get("", summary="List contacts")
def list_contacts(
    start: int = Query(0, ge=0, le=MAX_INT, description="Offset of the first contact."),
    limit: int = Query(30, description="Contacts per page (at most 200; 0 means the most)."),
    search: str = Query("", description="Mautic search: `email:x`, `tag:x`, `owner:x`, `company:x`, `ids:1,2`, `is:anonymous`, free text."),
    order_by: str = Query("", alias="orderBy", description="Column or field alias, e.g. `email`, `dateAdded`, `l.points`."),
    order_dir: str = Query("ASC", alias="orderByDir", pattern="(?i)^(asc|desc)$"),
    minimal: str = Query("", description="When true, `fields` holds only `all`."),
    user_id: int = Depends(api_user),
) -> JSONResponse:
    limit = contacts.MAX_PAGE if limit <= 0 else min(limit, contacts.MAX_PAGE)
    with session_scope() as session:
        sort = _sort_column(session, order_by)
        page = contacts.list_contacts(
            session=session, search=search, order_by=sort or "last_active", direction=order_dir if sort else "desc",
            start=start, limit=limit, user_id=user_id, count_cap=None,
        )
        items = serializers.contacts(session=session, rows=page.rows, minimal=flag(minimal))
    return respond({"total": str(page.total), "contacts": items})


@router.get("/list/fields", summary="Contact fields keyed by id")
def list_fields() -> JSONResponse:
    with session_scope() as session:
        rows = field_service.field_rows(session=session, obj="contact")
    return respond({row.id: serializers.field_definition(row) for row in rows})


@router.get("/list/owners", summary="Users who can own contacts")
def list_owners() -> JSONResponse:
    with session_scope() as session:
        return respond(contacts.owners(session=session))


@router.get("/{contact_id:id}", summary="Get a contact")
def get_contact(contact_id: int) -> JSONResponse:
    with session_scope() as session:
        row = contacts.read(session=session, contact_id=contact_id)
        if row is None and (merged_into := contacts.resolve_merged_id(session=session, contact_id=contact_id)):
            row = contacts.read(session=session, contact_id=merged_into)
        if row is None:
            raise ApiError(404)
        return respond({"contact": serializers.contact(session=session, row=row)})


@router.get("/{contact_id:id}/notes", summary="A contact's notes")
def get_notes(
    contact_id: int,
    start: int = Query(0, ge=0, le=MAX_INT),
    limit: int = Query(30, ge=1, le=contacts.MAX_PAGE),
    order_dir: str = Query("DESC", alias="orderByDir", pattern="(?i)^(asc|desc)$"),
) -> JSONResponse:
    with session_scope() as session:
        _read(session, contact_id)
        notes, total = contacts.notes_page(session=session, contact_id=contact_id, start=start, limit=limit,
                                        descending=order_dir.lower() == "desc")
        return respond({"total": total, "notes": [serializers.note(n) for n in notes]})


@router.get("/{contact_id:id}/companies", summary="Companies a contact belongs to")
def get_companies(contact_id: int) -> JSONResponse:
    with session_scope() as session:
        _read(session, contact_id)
        rows = company_service.companies_of(session=session, contact_id=contact_id)
        specs = field_service.specs(session=session, obj="company")
        items = [
            {"company_id": r["id"], "date_associated": serializers.iso(r["date_associated"]), "is_primary": bool(r["is_primary"])}
            | {"id": r["id"]} | {s.alias: serializers.field_value(s, r.get(s.alias)) for s in specs}
            for r in rows
        ]
    return respond({"total": len(items), "companies": items})


@router.get("/{contact_id:id}/activity", summary="A contact's timeline")
def get_activity(
    request: Request,
    contact_id: int,
    page: int = Query(1, ge=1, le=1000),
    limit: int = Query(25, ge=1, le=contacts.MAX_PAGE),
) -> JSONResponse:
    """Mautic's engagement list; ``filters[includeEvents][]`` / ``filters[excludeEvents][]`` pick event types."""
    filters = query_data(request).get("filters") or {}
    filters = filters if isinstance(filters, dict) else {}
    include = [str(t) for t in filters.get("includeEvents") or [] if t]
    exclude = {str(t) for t in filters.get("excludeEvents") or [] if t}
    types = include or ([t for t in timeline.EVENT_LABELS if t not in exclude] if exclude else None)
    with session_scope() as session:
        _read(session, contact_id)
        rows = timeline.events(session=session, contact_id=contact_id, limit=page * limit, types=types)[(page - 1) * limit:]
        total = timeline.event_count(session=session, contact_id=contact_id, types=types)
    return respond({
        "events": [serializers.event(r) for r in rows],
        "filters": {"search": "", "includeEvents": include, "excludeEvents": sorted(exclude)},
        "order": ["timestamp", "DESC"],
        "types": timeline.EVENT_LABELS,
        "total": total, "page": page, "limit": limit, "maxPages": -(-total // limit),
    })


# ---------------------------------------------------------------- writes


resource.add_standard_routes(
    router, singular="contact", plural="contacts", schema=docs.CONTACT,
    new_summary="Create a contact (an existing e-mail updates that contact)",
    exists=lambda s, contact_id: contacts.read(session=s, contact_id=contact_id) is not None,
    read_body_for=_contact_body, save=save,
    read_many=lambda s, ids: serializers.contacts(session=s, rows=list(contacts.read_many(session=s, ids=ids).values())),
    delete=lambda s, ids: contacts.delete(session=s, contact_ids=ids),
)


@router.post("/{contact_id:id}/dnc/{channel}/add", summary="Mark a channel do-not-contact", openapi_extra=docs.body(docs.DNC))
@router.post("/{contact_id:id}/dnc/add/{channel}", deprecated=True, openapi_extra=docs.body(docs.DNC),
             summary="Mark a channel do-not-contact (older path)")
def add_dnc(contact_id: int, channel: str, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    params = require_object(body)
    reason = to_int(params.get("reason", 3), "reason")
    if reason == 0:
        raise ApiError(400, "Invalid reason code given", {"reason": ["Reason code needs to be an integer and higher than 0."]})
    channel_id = params.get("channelId")
    with session_scope() as session:
        contacts.add_dnc(session=session, contact_id=contact_id, channel=channel, reason=reason,
                         comments=str(params.get("comments") or ""), user_id=user_id,
                         channel_id=to_int(channel_id, "channelId") if channel_id not in (None, "", 0, "0") else None)
        return respond({"contact": _contact_body(session, contact_id)})


@router.post("/{contact_id:id}/dnc/{channel}/remove", summary="Remove a do-not-contact mark")
@router.post("/{contact_id:id}/dnc/remove/{channel}", deprecated=True, summary="Remove a do-not-contact mark (older path)")
def remove_dnc(contact_id: int, channel: str, user_id: int = Depends(api_user)) -> JSONResponse:
    with session_scope() as session:
        found = contacts.remove_dnc(session=session, contact_id=contact_id, channel=channel, user_id=user_id)
        return respond({"recordFound": found, "contact": _contact_body(session, contact_id)})


@router.post("/{contact_id:id}/utm/add", summary="Add a UTM tag set", openapi_extra=docs.body(docs.UTM))
def add_utm(contact_id: int, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    with session_scope() as session:
        contacts.add_utm(session=session, contact_id=contact_id, data=require_object(body), user_id=user_id)
        return respond({"contact": _contact_body(session, contact_id)})


@router.post("/{contact_id:id}/utm/{utm_id:id}/remove", summary="Remove a UTM tag set")
def remove_utm(contact_id: int, utm_id: int) -> JSONResponse:
    with session_scope() as session:
        _read(session, contact_id)
        found = contacts.remove_utm(session=session, contact_id=contact_id, utm_id=utm_id)
        return respond({"recordFound": found, "contact": _contact_body(session, contact_id)})


@router.post("/{contact_id:id}/points/{operator}/{delta}", summary="Change points: plus, minus, times, divide or set",
             openapi_extra=docs.body(docs.POINTS))
def adjust_points(contact_id: int, operator: str, delta: str, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    try:
        amount = float(delta)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount):
        raise ApiError(400, "The points delta must be a number.", {"delta": ["Give a number."]})
    params = body if isinstance(body, dict) else {}
    reason = str(params.get("eventName") or params.get("actionName") or f"API {operator}")[:191]
    with session_scope() as session:
        contacts.change_points(session=session, contact_id=contact_id, operation=operator, amount=amount,
                               reason=reason, user_id=user_id)
    return respond({"success": 1})

