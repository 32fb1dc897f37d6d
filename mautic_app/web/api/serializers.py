"""Mautic's JSON shapes for contacts, companies, fields, notes and timeline events.

Dates on entities are ISO 8601 with offset (``2024-05-31T14:30:00+00:00``); field values keep
Mautic's database form (``2024-05-31 14:30:00``) but numbers stay numbers. PHP encodes an empty
array as ``[]``, so empty collections are lists even where a filled one is an object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.domain.fields import FIELD_GROUPS, FieldSpec
from mautic_app.models import DoNotContact, FieldDefinition, Note, Stage, User, UtmTag
from mautic_app.services import contacts as contact_service
from mautic_app.services import fields as field_service
from mautic_app.services import stages as stage_service
from mautic_app.services import timeline
from mautic_app.services import users as user_service

MAUTIC_OBJECT = {"contact": "lead", "company": "company"}
T = TypeVar("T")


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def field_value(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if spec.type == "number" and isinstance(value, float) and not spec.properties.get("scale") and value.is_integer():
        return int(value)
    return value


def normalized_value(spec: FieldSpec, value: Any) -> Any:
    """What Mautic shows a person: yes/no labels for booleans, comma lists for multiselects."""
    if value is None:
        return None
    if spec.type == "boolean":
        return spec.properties.get("yes", "Yes") if value else spec.properties.get("no", "No")
    if spec.type == "multiselect" and isinstance(value, str):
        return ", ".join(value.split("|"))
    return field_value(spec, value)


def fields_block(*, obj: str, specs: list[FieldSpec], ids: dict[str, int], row: dict[str, Any], minimal: bool) -> dict[str, Any]:
    """``{core: {alias: {...}}, social: ..., personal: ..., professional: ..., all: {alias: value}}``."""
    all_values: dict[str, Any] = {"id": row["id"]} | {s.alias: field_value(s, row.get(s.alias)) for s in specs}
    if minimal:
        return {"all": all_values}
    groups: dict[str, dict[str, Any]] = {g: {} for g in FIELD_GROUPS}
    for s in specs:
        groups.setdefault(s.group, {})[s.alias] = {
            "id": ids.get(s.alias), "label": s.label, "alias": s.alias, "type": s.type, "group": s.group,
            "object": MAUTIC_OBJECT[obj], "is_fixed": s.is_fixed, "properties": s.properties or [],
            "default_value": s.default_value, "value": all_values[s.alias],
            "normalizedValue": normalized_value(s, row.get(s.alias)),
        }
    return {g: (items or []) for g, items in groups.items()} | {"all": all_values}


def user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "firstName": user.first_name, "lastName": user.last_name}


def stage_ref(stage: Stage | None) -> dict[str, Any] | None:
    if stage is None:
        return None
    return {"id": stage.id, "name": stage.name, "weight": stage.weight, "description": stage.description}


def dnc(row: DoNotContact) -> dict[str, Any]:
    return {"id": row.id, "reason": row.reason, "comments": row.comments, "channel": row.channel,
            "channelId": row.channel_id, "dateAdded": iso(row.date_added)}


def utm(row: UtmTag) -> dict[str, Any]:
    return {
        "id": row.id, "dateAdded": iso(row.date_added), "query": row.query or [], "referer": row.referer,
        "remoteHost": row.remote_host, "url": row.url, "userAgent": row.user_agent,
        "utmCampaign": row.utm_campaign, "utmContent": row.utm_content, "utmMedium": row.utm_medium,
        "utmSource": row.utm_source, "utmTerm": row.utm_term,
    }


def _by_id(records: Mapping[int, T], record_id: int | None) -> T | None:
    """The record a row's optional reference (owner, author, stage) names, if it names one."""
    return None if record_id is None else records.get(record_id)


def _referenced(rows: Iterable[dict[str, Any]], *keys: str) -> set[int]:
    """The ids the rows' ``keys`` name, for one query of the records behind them."""
    return {i for r in rows for k in keys if (i := r.get(k)) is not None}


def _authorship(row: dict[str, Any], users: dict[int, User]) -> dict[str, Any]:
    created, modified = _by_id(users, row.get("created_by")), _by_id(users, row.get("modified_by"))
    return {
        "isPublished": True,
        "dateAdded": iso(row.get("date_added")),
        "dateModified": iso(row.get("date_modified")),
        "createdBy": row.get("created_by"),
        "createdByUser": created.display_name if created else None,
        "modifiedBy": row.get("modified_by"),
        "modifiedByUser": modified.display_name if modified else None,
    }


def _field_context(session: Session, obj: str) -> tuple[list[FieldSpec], dict[str, int]]:
    specs = field_service.specs(session=session, obj=obj)
    ids = {r.alias: cast(int, r.id) for r in field_service.field_rows(session=session, obj=obj)}  # stored rows have ids
    return specs, ids


def contacts(*, session: Session, rows: list[dict[str, Any]], minimal: bool = False) -> dict[int, dict[str, Any]]:
    """Many contacts keyed by id, in the order given, with a fixed number of queries."""
    if not rows:
        return {}
    specs, field_ids = _field_context(session, "contact")
    ids = [r["id"] for r in rows]
    rel = contact_service.contact_relations(session=session, ids=ids)
    users = user_service.users_by_id(session=session, ids=_referenced(rows, "owner_id", "created_by", "modified_by"))
    stages = stage_service.stages_by_id(session=session, ids=_referenced(rows, "stage_id"))
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        cid = r["id"]
        out[cid] = {"id": cid} | _authorship(r, users) | {
            "owner": user_ref(_by_id(users, r.get("owner_id"))),
            "points": r.get("points") or 0,
            "lastActive": iso(r.get("last_active")),
            "dateIdentified": iso(r.get("date_identified")),
            "color": r.get("color"),
            "preferredProfileImage": r.get("preferred_profile_image"),
            "ipAddresses": {ip: {"ipAddress": ip, "ipDetails": []} for ip in rel["ips"][cid]} or [],
            "fields": fields_block(obj="contact", specs=specs, ids=field_ids, row=r, minimal=minimal),
            "tags": rel["tags"][cid],
            "utmtags": [utm(u) for u in rel["utm"][cid]],
            "stage": stage_ref(_by_id(stages, r.get("stage_id"))),
            "doNotContact": [dnc(d) for d in rel["dnc"][cid]],
            "frequencyRules": [],
        }
    return out


def contact(*, session: Session, row: dict[str, Any]) -> dict[str, Any]:
    return contacts(session=session, rows=[row])[row["id"]]


def companies(*, session: Session, rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    if not rows:
        return {}
    specs, field_ids = _field_context(session, "company")
    users = user_service.users_by_id(session=session, ids=_referenced(rows, "owner_id", "created_by", "modified_by"))
    return {
        r["id"]: {"id": r["id"]} | _authorship(r, users) | {
            "owner": user_ref(_by_id(users, r.get("owner_id"))),
            "score": r.get("score") or 0,
            "fields": fields_block(obj="company", specs=specs, ids=field_ids, row=r, minimal=False),
        }
        for r in rows
    }


def company(*, session: Session, row: dict[str, Any]) -> dict[str, Any]:
    return companies(session=session, rows=[row])[row["id"]]


def field_definition(row: FieldDefinition) -> dict[str, Any]:
    return {
        "id": row.id, "isPublished": True, "dateAdded": iso(row.date_added), "label": row.label, "alias": row.alias,
        "type": row.type, "group": row.group, "order": row.field_order, "object": MAUTIC_OBJECT.get(row.object, row.object),
        "defaultValue": row.default_value, "isRequired": row.is_required, "isPubliclyUpdatable": row.is_publicly_updatable,
        "isUniqueIdentifier": row.is_unique_identifier, "isVisible": row.is_visible, "isListable": row.is_listable,
        "isFixed": row.is_fixed, "isIndexed": row.is_indexed, "properties": row.properties or [],
    }


def note(row: Note) -> dict[str, Any]:
    return {"id": row.id, "text": row.text, "type": row.type, "dateTime": iso(row.date_time),
            "dateAdded": iso(row.date_added), "createdBy": row.created_by, "lead": {"id": row.contact_id}}


def event(row: timeline.Line) -> dict[str, Any]:
    return {
        "event": row.event_type,
        "eventId": f"{row.event_type}{row.key}",
        "eventLabel": timeline.describe(row),
        "eventType": timeline.EVENT_LABELS.get(row.event_type, row.event_type),
        "timestamp": iso(row.occurred_at),
        "contactId": row.contact_id,
        "userId": row.user_id,
        "details": row.details or {},
    }


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)

