"""``/api/campaigns``: Mautic's routes and JSON shapes, so a campaign posted as Mautic's API clients post it
(``lists``, ``forms``, ``events`` with ``new1`` ids, ``parent`` and ``decisionPath``, ``canvasSettings``) runs
unchanged; plus export and import of a campaign as one JSON file. Thin over ``services.campaigns``."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from mautic_app.db import session_scope
from mautic_app.domain import campaigns as rules
from mautic_app.models import Campaign, CampaignMember
from mautic_app.models.base import table_of
from mautic_app.services import campaign_engine, campaign_transfer, campaigns
from mautic_app.web.api import resource
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError, field_details
from mautic_app.web.api.requests import MAX_INT, column_name, flag, require_object
from mautic_app.web.api.serializers import respond

router = APIRouter(prefix="/campaigns", tags=["Campaigns"], dependencies=[Depends(api_user)])
_TRIGGER = {"triggerMode": {"type": "string", "enum": ["immediate", "interval", "date"]}, "triggerInterval": {"type": "integer"},
            "triggerIntervalUnit": {"type": "string", "enum": ["i", "h", "d", "m", "y"]}, "triggerDate": {"type": ["string", "null"]},
            "triggerHour": {"type": ["string", "null"]}, "triggerRestrictedStartHour": {"type": ["string", "null"]},
            "triggerRestrictedStopHour": {"type": ["string", "null"]},
            "triggerRestrictedDaysOfWeek": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6}}}
SCHEMA = {
    "type": "object", "required": ["name"],
    "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "category": {"type": ["string", "null"]},
        "isPublished": {"type": "boolean"}, "publishUp": {"type": ["string", "null"]}, "publishDown": {"type": ["string", "null"]},
        "allowRestart": {"type": "boolean"},
        "lists": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}}}, "description": "Source segments."},
        "forms": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}}}, "description": "Source forms."},
        "events": {"type": "array", "items": {"type": "object", "required": ["id", "type", "eventType"], "properties": {
            "id": {"type": ["string", "integer"], "description": "An existing event's id, or a new one's temporary id (new1)."},
            "name": {"type": "string"}, "type": {"type": "string", "enum": sorted(rules.EVENT_TYPES)},
            "eventType": {"type": "string", "enum": list(rules.KINDS)}, "properties": {"type": "object"},
            "parent": {"type": ["string", "integer", "object", "null"]}, "decisionPath": {"type": ["string", "null"], "enum": ["yes", "no", None]},
            **_TRIGGER}}},
        "canvasSettings": {"type": "object"},
    },
}


def _error(exc: campaigns.CampaignError) -> ApiError:
    if exc.status == 404:
        return ApiError(404)
    details = field_details(exc.errors) | {f"events.{k}": v for k, v in exc.events.items()}
    return ApiError(exc.status, str(exc)[:2000], details)


def body(session: Session, campaign_id: int) -> dict[str, Any]:
    try:
        data = campaigns.campaign_json(session=session, campaign_id=campaign_id)
    except campaigns.CampaignError as exc:
        raise _error(exc) from exc
    return data | {"members": campaigns.member_counts(session=session, campaign_ids=[campaign_id]).get(campaign_id, 0)}


def save(session: Session, campaign_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
    values = dict(require_object(data))
    if "isPublished" in values:
        values["isPublished"] = flag(values["isPublished"])
    try:
        c = campaigns.save_campaign(session=session, campaign_id=campaign_id, values=values, user_id=user_id,
                                    partial=method == "PATCH" and campaign_id is not None)
    except campaigns.CampaignError as exc:
        raise _error(exc) from exc
    return cast(int, c.id), 200 if campaign_id else 201


ORDER_COLUMNS = {"name": "name", "id": "id", "date_added": "date_added", "category": "category", "category_id": "category"}


@router.get("", summary="List campaigns")
def list_campaigns(start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(30, ge=0, le=500),
                   search: str = Query("", description="Text in the name or category."),
                   orderBy: str = Query("name", description="name, id, dateAdded or category (Mautic's c.name works too)."),  # noqa: N803
                   orderByDir: str = Query("ASC"),  # noqa: N803  (Mautic's names)
                   publishedOnly: bool = Query(False, description="Only campaigns running now (published, within their dates).")  # noqa: N803
                   ) -> JSONResponse:
    order_by = ORDER_COLUMNS.get(column_name(orderBy) or "", "name")
    descending = orderByDir.upper() == "DESC"
    with session_scope() as session:
        if publishedOnly:  # "running now" is worked out per campaign (dates), so page after filtering
            _all, every = campaigns.list_campaigns(session=session, search=search, start=0, limit=MAX_INT, order_by=order_by,
                                                   descending=descending)
            live = [r for r in every if r["status"] == "published"]
            total, rows = len(live), live[start:start + (limit or 500)]
        else:
            total, rows = campaigns.list_campaigns(session=session, search=search, start=start, limit=limit or 500, order_by=order_by,
                                                   descending=descending)
        return respond({"total": str(total), "campaigns": {str(r["id"]): body(session, r["id"]) for r in rows}})


@router.get("/{campaign_id:id}", summary="Get a campaign")
def get_campaign(campaign_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"campaign": body(session, campaign_id)})


@router.post("/clone/{campaign_id:id}", summary="Clone a campaign (the copy is unpublished)")
def clone_campaign(campaign_id: int, user_id: int = Depends(api_user)) -> JSONResponse:
    with session_scope() as session:
        try:
            c = campaigns.clone(session=session, campaign_id=campaign_id, user_id=user_id)
        except campaigns.CampaignError as exc:
            raise _error(exc) from exc
        return respond({"campaign": body(session, cast(int, c.id))}, 201)


def _membership(campaign_id: int, contact_id: int, *, add: bool) -> JSONResponse:
    with session_scope() as session:
        if session.get(Campaign, campaign_id) is None or not campaigns.contact_exists(session=session, contact_id=contact_id):
            raise ApiError(404)
        change = campaign_engine.add_contacts if add else campaign_engine.remove_contacts
        change(session=session, campaign_id=campaign_id, contact_ids=[contact_id], manually=True)
    return respond({"success": 1})


@router.post("/{campaign_id:id}/contact/{contact_id:id}/add", summary="Add a contact to a campaign")
@router.post("/{campaign_id:id}/contact/add/{contact_id:id}", include_in_schema=False)  # older clients' paths
@router.post("/{campaign_id:id}/lead/add/{contact_id:id}", include_in_schema=False)
def add_contact(campaign_id: int, contact_id: int) -> JSONResponse:
    return _membership(campaign_id, contact_id, add=True)


@router.post("/{campaign_id:id}/contact/{contact_id:id}/remove", summary="Remove a contact from a campaign")
@router.post("/{campaign_id:id}/contact/remove/{contact_id:id}", include_in_schema=False)
@router.post("/{campaign_id:id}/lead/remove/{contact_id:id}", include_in_schema=False)
def remove_contact(campaign_id: int, contact_id: int) -> JSONResponse:
    return _membership(campaign_id, contact_id, add=False)


@router.get("/{campaign_id:id}/contacts", summary="A campaign's contacts")
def campaign_contacts(campaign_id: int, start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(30, ge=1, le=500)) -> JSONResponse:
    """Current members as rows of Mautic's campaign_leads table (values as strings, as Mautic's answer has them)."""
    with session_scope() as session:
        if session.get(Campaign, campaign_id) is None:
            raise ApiError(404)
        m = table_of(CampaignMember)
        total, rows = campaigns.members_page(session=session, campaign_id=campaign_id, start=start, limit=limit)
        flags = {r.contact_id: r for r in session.execute(m.select().where(m.c.campaign_id == campaign_id,
                                                                           m.c.contact_id.in_([x["id"] for x in rows])))}
        return respond({"total": str(total), "contacts": [_membership_row(campaign_id, flags[r["id"]]) for r in rows]})


@router.get("/events/contact/{contact_id:id}", summary="A contact's campaign events")
def contact_events(contact_id: int, start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(0, ge=0, le=MAX_INT)) -> JSONResponse:
    """Every event log row of the contact (scheduled, waiting, done, failed), oldest first: ``{"total", "events"}``."""
    with session_scope() as session:
        if not campaigns.contact_exists(session=session, contact_id=contact_id):
            raise ApiError(404)
        events = campaigns.contact_log(session=session, contact_id=contact_id)
        return respond({"total": len(events), "events": events[start:start + limit] if limit else events[start:]})


@router.get("/{campaign_id:id}/events/contact/{contact_id:id}", summary="A contact's events in one campaign")
def campaign_contact_events(campaign_id: int, contact_id: int) -> JSONResponse:
    """As Mautic: 404 for a missing campaign or contact, 409 when the contact was never in the campaign."""
    with session_scope() as session:
        if session.get(Campaign, campaign_id) is None or not campaigns.contact_exists(session=session, contact_id=contact_id):
            raise ApiError(404)
        m = table_of(CampaignMember)
        member = session.execute(m.select().where(m.c.campaign_id == campaign_id, m.c.contact_id == contact_id)).first()
        if member is None:
            raise ApiError(409, f"Contact {contact_id} is not in campaign {campaign_id}.")
        events = [e for e in campaigns.contact_log(session=session, contact_id=contact_id) if e["campaign"]["id"] == campaign_id]
        return respond({"total": len(events), "events": events, "campaign": body(session, campaign_id),
                        "membership": [_membership_row(campaign_id, member)]})


def _membership_row(campaign_id: int, r: Any) -> dict[str, Any]:
    return {"campaign_id": str(campaign_id), "lead_id": str(r.contact_id), "date_added": r.date_added.isoformat() if r.date_added else None,
            "manually_removed": "1" if r.manually_removed else "0", "manually_added": "1" if r.manually_added else "0",
            "rotation": str(r.rotation), "date_last_exited": None}


@router.get("/{campaign_id:id}/export", summary="Download a campaign, with the e-mails, segments and forms it uses, as one JSON file")
def export(campaign_id: int) -> JSONResponse:
    """``{"format": "mautic-app-campaign", "version": 1, "campaign", "emails", "segments", "forms", "stages", "groups",
    "focus"}``, as an attachment; ``POST /api/campaigns/import`` (here or on another instance) takes it back."""
    with session_scope() as session:
        try:
            data = campaign_transfer.export_campaign(session=session, campaign_id=campaign_id)
        except campaigns.CampaignError as exc:
            raise _error(exc) from exc
    return respond(data, headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.json"'})


MULTIPART_SLACK = 64 * 1024  # a multipart body's boundaries and headers around the file


@router.post("/import", summary="Import a campaign exported by this product (JSON body, or a multipart field named file)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object", "required": ["format", "version", "campaign"], "properties": {
                     "format": {"const": campaign_transfer.FORMAT}, "version": {"const": campaign_transfer.VERSION},
                     "campaign": SCHEMA, "emails": {"type": "array"}, "segments": {"type": "array"}, "forms": {"type": "array"}}}},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def import_campaign(request: Request, user_id: int = Depends(api_user)) -> JSONResponse:
    """The file is read into memory (never to disk) within the size limit, parsed as JSON only, and becomes a new,
    unpublished campaign; ``notes`` say what was created, matched or left out."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/json", "multipart/form-data"):
        raise ApiError(400, "Send the export as JSON, or as a multipart form with the file in a field named file.",
                       {"file": ["Only JSON campaign exports are accepted."]})
    limit = campaign_transfer.MAX_BYTES + (MULTIPART_SLACK if kind == "multipart/form-data" else 0)
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise ApiError(413, "The file is larger than 5 MB.")
    raw = await _read(request, limit)
    data = raw if kind == "application/json" else _file_part(request.headers.get("content-type", ""), raw)
    if len(data) > campaign_transfer.MAX_BYTES:
        raise ApiError(413, "The file is larger than 5 MB.")

    def work() -> dict[str, Any]:
        notes: list[str] = []
        with session_scope() as session:
            try:
                c = campaign_transfer.import_campaign(session=session, data=data, user_id=user_id, notes=notes)
            except campaigns.CampaignError as exc:
                raise _error(exc) from exc
            return {"campaign": body(session, cast(int, c.id)), "notes": notes}

    return respond(await run_in_threadpool(work), 201)


async def _read(request: Request, limit: int) -> bytes:
    out = bytearray()
    async for chunk in request.stream():
        out += chunk
        if len(out) > limit:
            raise ApiError(413, "The file is larger than 5 MB.")
    return bytes(out)


def _file_part(content_type: str, raw: bytes) -> bytes:
    """The ``file`` field of a multipart body, parsed in memory (Starlette's form parser spools files over 1 MB
    to a temporary file; an import writes nothing to disk). The part's filename is never looked at."""
    _kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(400, "The multipart body has no boundary.", {"file": ["Send the file as multipart/form-data."]})
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    header: list[bytearray] = [bytearray(), bytearray()]

    def begin() -> None:
        if len(parts) >= 5:
            raise ApiError(400, "Send only the file.", {"file": ["Send only the file."]})
        parts.append(({}, bytearray()))

    def header_field(chunk: bytes, start: int, end: int) -> None:
        header[0] += chunk[start:end]

    def header_value(chunk: bytes, start: int, end: int) -> None:
        header[1] += chunk[start:end]

    def header_end() -> None:
        parts[-1][0][bytes(header[0]).strip().lower()] = bytes(header[1]).strip()
        header[0], header[1] = bytearray(), bytearray()

    def part_data(chunk: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(chunk[start:end])

    parser = MultipartParser(boundary, {"on_part_begin": begin, "on_header_field": header_field, "on_header_value": header_value,
                                        "on_header_end": header_end, "on_part_data": part_data})
    try:
        parser.write(raw)
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, "The multipart body cannot be read.", {"file": ["Send the file as multipart/form-data."]}) from exc
    for headers, content in parts:
        _disposition, params = parse_options_header(headers.get(b"content-disposition", b""))
        if params.get(b"name") == b"file":
            return bytes(content)
    raise ApiError(400, "Send the export as a file field named file.", {"file": ["Choose a campaign export file."]})


def _delete(session: Session, ids: list[int]) -> None:
    campaigns.delete(session=session, campaign_ids=ids)


resource.add_standard_routes(
    router, singular="campaign", plural="campaigns", schema=SCHEMA, new_summary="Create a campaign",
    exists=lambda s, i: s.get(Campaign, i) is not None,
    read_body_for=body, save=save,
    read_many=lambda s, ids: {i: body(s, i) for i in ids if s.get(Campaign, i) is not None},
    delete=_delete,
)
