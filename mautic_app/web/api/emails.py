"""``/api/emails``: Mautic's routes and field names (``customHtml``, ``plainText``, ``emailType`` ``template`` or
``list``, ``lists``, ``sentCount``, ``readCount`` ...), so scripts written for Mautic create and send e-mails
unchanged. Sending: ``POST /emails/{id}/contact/{contactId}/send`` (with ``tokens``) and ``POST /emails/{id}/send``
(a segment e-mail's broadcast). Thin over ``services.emails`` and ``services.email_sends``."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.models import Email, Segment
from mautic_app.services import email_sends, emails
from mautic_app.web.api import resource
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import MAX_INT, flag, require_object
from mautic_app.web.api.serializers import iso, respond

router = APIRouter(prefix="/emails", tags=["E-mails"], dependencies=[Depends(api_user)])
# Mautic's field -> ours
_KEYS = {"name": "name", "subject": "subject", "preheader": "preheader", "fromAddress": "from_address", "fromName": "from_name",
         "replyToAddress": "reply_to", "bccAddress": "bcc", "customHtml": "custom_html", "plainText": "plain_text",
         "emailType": "email_type", "language": "language", "category": "category", "isPublished": "is_published",
         "publishUp": "publish_up", "publishDown": "publish_down", "useOwnerAsMailer": "use_owner_as_sender", "utmTags": "utm_tags",
         "headers": "headers", "template": "template"}
SCHEMA = {
    "type": "object",
    "required": ["name", "subject"],
    "properties": {
        "name": {"type": "string"}, "subject": {"type": "string"}, "preheader": {"type": "string"},
        "emailType": {"type": "string", "enum": ["template", "list"]},
        "customHtml": {"type": "string", "description": "The HTML sent (tokens left in); CSS is inlined on save."},
        "mjml": {"type": "string", "description": "MJML source, compiled on save (instead of customHtml)."},
        "plainText": {"type": "string"}, "fromAddress": {"type": "string"}, "fromName": {"type": "string"},
        "replyToAddress": {"type": "string"}, "bccAddress": {"type": "string"}, "useOwnerAsMailer": {"type": "boolean"},
        "lists": {"type": "array", "items": {"type": "integer"}, "description": "Segments a segment e-mail goes to."},
        "excludedLists": {"type": "array", "items": {"type": "integer"}},
        "utmTags": {"type": "object"}, "headers": {"type": "object"}, "language": {"type": "string"}, "category": {"type": ["string", "null"]},
        "isPublished": {"type": "boolean"}, "publishUp": {"type": ["string", "null"]}, "publishDown": {"type": ["string", "null"]},
    },
}


def email_body(session: Session, e: Email) -> dict[str, Any]:
    included, excluded = emails.segments_of(session=session, email_id=e.id or 0)
    names = {s.id: s.name for s in (session.get(Segment, i) for i in included + excluded) if s is not None}
    return {
        "id": e.id, "isPublished": e.is_published, "dateAdded": iso(e.date_added), "dateModified": iso(e.date_modified),
        "createdBy": e.created_by, "name": e.name, "subject": e.subject, "preheader": e.preheader, "language": e.language,
        "category": e.category or None, "fromAddress": e.from_address or None, "fromName": e.from_name or None,
        "replyToAddress": e.reply_to or None, "bccAddress": e.bcc or None, "useOwnerAsMailer": e.use_owner_as_sender,
        "customHtml": e.custom_html, "plainText": e.plain_text or None, "template": e.template or None, "emailType": e.email_type,
        "publishUp": iso(e.publish_up), "publishDown": iso(e.publish_down), "readCount": e.read_count, "sentCount": e.sent_count,
        "clickCount": e.click_count, "variantSentCount": 0, "variantReadCount": 0, "revision": 1,
        "variantParent": {"id": e.variant_parent_id} if e.variant_parent_id else None,
        "translationParent": {"id": e.translation_parent_id} if e.translation_parent_id else None,
        "variantSettings": {"weight": e.variant_weight, **(e.variant_settings or {})} if e.variant_weight else [],
        "variantStartDate": iso(e.variant_start_date),
        "utmTags": dict(e.utm_tags or {}) or [], "headers": dict(e.headers or {}) or [],
        "lists": [{"id": i, "name": names.get(i, "")} for i in included],
        "excludedLists": [{"id": i, "name": names.get(i, "")} for i in excluded],
    }


def _error(exc: emails.EmailError) -> ApiError:
    if exc.status == 404:
        return ApiError(404)
    return ApiError(400, str(exc), {k: [v] for k, v in exc.errors.items()})


def _ids(value: Any, name: str) -> list[int]:
    if not isinstance(value, list):
        raise ApiError(400, f"{name} must be a list of segment ids.", {name: ["Give a list of segment ids."]})
    out = []
    for item in value:
        raw = item.get("id") if isinstance(item, dict) else item
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
            raise ApiError(400, f"{name} must be a list of segment ids.", {name: ["Give a list of segment ids."]})
        out.append(int(raw))
    return out


def save(session: Session, email_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
    params = require_object(data)
    values: dict[str, Any] = {}
    for key, name in _KEYS.items():
        if key in params:
            value = params[key]
            values[name] = flag(value) if key in ("isPublished", "useOwnerAsMailer") else ({} if value in (None, []) and key in ("utmTags", "headers")
                                                                                              else value)
    for key in ("utmTags", "headers"):
        if key in params and not isinstance(values.get(_KEYS[key]), dict):
            raise ApiError(400, f"{key} must be an object.", {key: ["Give an object."]})
    if "mjml" in params:
        values["content_mjml"] = str(params["mjml"] or "")
    elif "customHtml" in params:
        values["content_mjml"] = ""
    if email_id is None or method == "PUT":
        values.setdefault("email_type", "template")
    included = _ids(params["lists"], "lists") if "lists" in params else None
    excluded = _ids(params["excludedLists"], "excludedLists") if "excludedLists" in params else None
    try:
        e = emails.save_email(session=session, email_id=email_id, values=values, segment_ids=included, excluded_ids=excluded, user_id=user_id)
    except emails.EmailError as exc:
        raise _error(exc) from exc
    return cast(int, e.id), 200 if email_id else 201  # saved, so it has its id


def _get(session: Session, email_id: int) -> Email:
    try:
        return emails.get_email(session=session, email_id=email_id)
    except emails.EmailError as exc:
        raise _error(exc) from exc


@router.get("", summary="List e-mails")
def list_emails(start: int = Query(0, ge=0, le=MAX_INT), limit: int = Query(30, ge=0, le=500),
                search: str = Query("", description="Text in the name, subject or category.")) -> JSONResponse:
    with session_scope() as session:
        total, rows = emails.list_emails(session=session, search=search, start=start, limit=limit or 500)
        return respond({"total": str(total), "emails": {r["id"]: email_body(session, _get(session, r["id"])) for r in rows}})


@router.get("/{email_id:id}", summary="Get an e-mail")
def get_email(email_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"email": email_body(session, _get(session, email_id))})


@router.post("/{email_id:id}/contact/{contact_id:id}/send", summary="Send an e-mail to a contact")
async def send_to_contact(email_id: int, contact_id: int, request: Request) -> JSONResponse:
    """Queues the message (it goes out within seconds); ``tokens`` fill ``{name}`` tokens in it."""
    body: Any = {}
    if await request.body():
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "The body is not valid JSON.") from exc
    tokens = require_object(body).get("tokens") or {}
    if not isinstance(tokens, dict) or not all(isinstance(v, str | int | float) for v in tokens.values()):
        raise ApiError(400, "tokens must be an object of texts.", {"tokens": ["Give an object of texts."]})
    with session_scope() as session:
        _get(session, email_id)
        try:
            email_sends.send_to_contact(session=session, email_id=email_id, contact_id=contact_id, source="api", tokens=tokens)
        except email_sends.SendError as exc:
            raise ApiError(404 if "does not exist" in str(exc) else 400, str(exc)) from exc
        except ValueError as exc:  # a token with a line break, bound for a header
            raise ApiError(400, str(exc), {"tokens": [str(exc)]}) from exc
    return respond({"success": 1})


@router.post("/{email_id:id}/send", summary="Send a segment e-mail to its segments")
def send_to_segments(email_id: int, user_id: int = Depends(api_user)) -> JSONResponse:
    with session_scope() as session:
        _get(session, email_id)
        pending = email_sends.pending_count(session=session, email_id=email_id)
        try:
            send = email_sends.start_broadcast(session=session, email_id=email_id, user_id=user_id)
        except email_sends.SendError as exc:
            raise ApiError(400, str(exc)) from exc
        return respond({"success": 1, "sentCount": 0, "pendingCount": pending, "failedRecipients": 0, "broadcastId": send.id})


def _delete(session: Session, ids: list[int]) -> None:
    for i in ids:
        try:
            emails.delete_email(session=session, email_id=i)
        except emails.EmailError as exc:
            raise _error(exc) from exc


resource.add_standard_routes(
    router, singular="email", plural="emails", schema=SCHEMA, new_summary="Create an e-mail",
    exists=lambda s, i: s.get(Email, i) is not None,
    read_body_for=lambda s, i: email_body(s, _get(s, i)), save=save,
    read_many=lambda s, ids: {i: email_body(s, e) for i in ids if (e := s.get(Email, i)) is not None},
    delete=_delete,
)
