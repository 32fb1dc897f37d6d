"""``/api/notes``: contact notes, as Mautic's note API (``lead``, ``text``, ``type``, ``dateTime``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.domain.fields import FieldSpec, FieldValueError, normalize_value
from mautic_app.models import Note
from mautic_app.services import contacts
from mautic_app.web.api import docs, serializers
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import read_body, require_object, to_int
from mautic_app.web.api.serializers import respond

router = APIRouter(prefix="/notes", tags=["Notes"], dependencies=[Depends(api_user)])
_DATETIME = FieldSpec(alias="dateTime", label="Date", type="datetime")


def _note(session: Session, note_id: int) -> Note:
    note = session.get(Note, note_id)
    if note is None:
        raise ApiError(404)
    return note


def _date(value: Any) -> datetime | None:
    try:
        when: datetime | None = normalize_value(_DATETIME, value)  # a datetime field's value
        return when
    except FieldValueError as exc:
        raise ApiError(400, f"dateTime: {exc}", {"dateTime": [str(exc)]}) from exc


@router.get("/{note_id:id}", summary="Get a note")
def get_note(note_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"note": serializers.note(_note(session, note_id))})


@router.post("/new", summary="Add a note to a contact", openapi_extra=docs.body(docs.NOTE))
def new_note(body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    params = require_object(body)
    if params.get("lead") in (None, ""):
        raise ApiError(400, "lead ID is mandatory", {"lead": ["Give the contact's id."]})
    contact_id = to_int(params["lead"], "lead")
    text = params.get("text")
    with session_scope() as session:
        note = contacts.add_note(session=session, contact_id=contact_id, text=text if isinstance(text, str) else "",
                                 type=str(params.get("type") or "general"), date_time=_date(params.get("dateTime")),
                                 user_id=user_id)
        return respond({"note": serializers.note(note)}, 201)


@router.delete("/{note_id:id}/delete", summary="Delete a note")
def delete_note(note_id: int) -> JSONResponse:
    with session_scope() as session:
        payload = {"note": serializers.note(_note(session, note_id))}
        contacts.delete_note(session=session, note_id=note_id)
    return respond(payload)
