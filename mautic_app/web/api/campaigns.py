"""``/api/campaigns``: Mautic's routes and JSON shapes, so a campaign posted as Mautic's API clients post it
(``lists``, ``forms``, ``events`` with ``new1`` ids, ``parent`` and ``decisionPath``, ``canvasSettings``) runs
unchanged; plus export and import of a campaign as one JSON file. Thin over ``services.campaigns``."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.domain import campaigns as rules
from mautic_app.models import Campaign, CampaignMember
from mautic_app.models.base import table_of
from mautic_app.services import campaign_engine, campaign_transfer, campaigns
from mautic_app.web.api import resource
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError, field_details
from mautic_app.web.api.requests import MAX_INT, flag, require_object
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


@router.get("", summary="List campaigns")
def list_campaigns(start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(30, ge=0, le=500),
                   search: str = Query("", description="Text in the name or category."),
                   orderBy: str = Query("name"), orderByDir: str = Query("ASC"),  # noqa: N803  (Mautic's names)
                   publishedOnly: bool = Query(False)) -> JSONResponse:  # noqa: N803
    with session_scope() as session:
        total, rows = campaigns.list_campaigns(session=session, search=search, start=start, limit=limit or 500, order_by=orderBy,
                                               descending=orderByDir.upper() == "DESC")
        if publishedOnly:
            rows = [r for r in rows if r["is_published"]]
        return respond({"total": str(total), "campaigns": {r["id"]: body(session, r["id"]) for r in rows}})


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
def add_contact(campaign_id: int, contact_id: int) -> JSONResponse:
    return _membership(campaign_id, contact_id, add=True)


@router.post("/{campaign_id:id}/contact/{contact_id:id}/remove", summary="Remove a contact from a campaign")
def remove_contact(campaign_id: int, contact_id: int) -> JSONResponse:
    return _membership(campaign_id, contact_id, add=False)


@router.get("/{campaign_id:id}/contacts", summary="A campaign's contacts")
def campaign_contacts(campaign_id: int, start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(30, ge=1, le=500)) -> JSONResponse:
    with session_scope() as session:
        if session.get(Campaign, campaign_id) is None:
            raise ApiError(404)
        m = table_of(CampaignMember)
        total, rows = campaigns.members_page(session=session, campaign_id=campaign_id, start=start, limit=limit)
        flags = {r.contact_id: r for r in session.execute(m.select().where(m.c.campaign_id == campaign_id,
                                                                           m.c.contact_id.in_([x["id"] for x in rows])))}
        return respond({"total": str(total), "contacts": [
            {"campaign_id": str(campaign_id), "lead_id": str(r["id"]), "date_added": r["date_added"], "manually_removed": "0",
             "manually_added": "1" if flags[r["id"]].manually_added else "0", "rotation": str(r["rotation"]),
             "date_last_exited": None} for r in rows]})


@router.get("/events/contact/{contact_id:id}", summary="A contact's campaign events")
def contact_events(contact_id: int) -> JSONResponse:
    with session_scope() as session:
        if not campaigns.contact_exists(session=session, contact_id=contact_id):
            raise ApiError(404)
        events = campaigns.contact_log(session=session, contact_id=contact_id)
        return respond({"total": len(events), "events": events})


@router.get("/{campaign_id:id}/export", summary="Download a campaign, with the e-mails and segments it uses, as one JSON file")
def export(campaign_id: int) -> JSONResponse:
    with session_scope() as session:
        try:
            data = campaign_transfer.export_campaign(session=session, campaign_id=campaign_id)
        except campaigns.CampaignError as exc:
            raise _error(exc) from exc
    return respond(data, headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.json"'})


@router.post("/import", summary="Import a campaign exported by this product (JSON body, or a multipart field named file)")
async def import_campaign(request: Request, user_id: int = Depends(api_user)) -> JSONResponse:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    size = int(request.headers.get("content-length") or 0)
    if size > campaign_transfer.MAX_BYTES:
        raise ApiError(413)
    if kind == "application/json":
        data = await _read(request)
    elif kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(400, "Send the export as a file field named file.", {"file": ["Choose a campaign export file."]})
        data = await upload.read(campaign_transfer.MAX_BYTES + 1)
    else:
        raise ApiError(400, "Send JSON, or a multipart form with the file.", {"file": ["Only JSON campaign exports are accepted."]})

    def work() -> dict[str, Any]:
        with session_scope() as session:
            try:
                c = campaign_transfer.import_campaign(session=session, data=data, user_id=user_id)
            except campaigns.CampaignError as exc:
                raise _error(exc) from exc
            return body(session, cast(int, c.id))

    from starlette.concurrency import run_in_threadpool
    return respond({"campaign": await run_in_threadpool(work)}, 201)


async def _read(request: Request) -> bytes:
    out = bytearray()
    async for chunk in request.stream():
        out += chunk
        if len(out) > campaign_transfer.MAX_BYTES:
            raise ApiError(413)
    return bytes(out)


def _delete(session: Session, ids: list[int]) -> None:
    campaigns.delete(session=session, campaign_ids=ids)


resource.add_standard_routes(
    router, singular="campaign", plural="campaigns", schema=SCHEMA, new_summary="Create a campaign",
    exists=lambda s, i: s.get(Campaign, i) is not None,
    read_body_for=body, save=save,
    read_many=lambda s, ids: {i: body(s, i) for i in ids if s.get(Campaign, i) is not None},
    delete=_delete,
)
