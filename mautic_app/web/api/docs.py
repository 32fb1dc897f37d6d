"""Request-body schemas for the OpenAPI document.

Bodies are read by hand (JSON or form-encoded, see ``requests.read_body``), so FastAPI cannot
infer them; these describe the main writes for people and generated clients.
"""

from __future__ import annotations

from typing import Any

from mautic_app.web.api.requests import MAX_BATCH

_ID = {"type": "integer", "minimum": 1}
_NULLABLE_ID = {"type": ["integer", "null"], "minimum": 0}

CONTACT = {
    "type": "object",
    "description": "Field values by alias (any contact field, core or custom) plus the special keys below.",
    "additionalProperties": {"description": "A field value, by field alias."},
    "properties": {
        "email": {"type": "string", "format": "email"},
        "firstname": {"type": "string"},
        "lastname": {"type": "string"},
        "country": {"type": "string", "description": "A country name or ISO code."},
        "points": {"type": "integer"},
        "tags": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
                 "description": "Tags to add; `-name` removes. A string may be comma separated."},
        "owner": _NULLABLE_ID | {"description": "A user id; null or 0 clears the owner."},
        "stage": _NULLABLE_ID | {"description": "A stage id; null or 0 clears the stage."},
        "ipAddress": {"type": "string", "description": "An IP address to add to the contact."},
        "lastActive": {"type": "string", "description": "Date and time last active, e.g. 2024-05-31 14:30:00."},
        "overwriteWithBlank": {"type": "boolean", "description": "Let empty values clear fields."},
        "doNotContact": {"type": "array", "items": {"type": "object", "properties": {
            "channel": {"type": "string", "default": "email"},
            "reason": {"type": "integer", "description": "1 unsubscribed, 2 bounced, 3 manual, 0 removes."},
            "comments": {"type": "string"}}}},
    },
}
COMPANY = {
    "type": "object",
    "description": "Field values by alias (any company field) plus owner and score.",
    "additionalProperties": {"description": "A field value, by field alias."},
    "required": ["companyname"],
    "properties": {
        "companyname": {"type": "string"},
        "companyemail": {"type": "string", "format": "email"},
        "companycountry": {"type": "string"},
        "owner": _NULLABLE_ID,
        "score": {"type": "integer"},
        "overwriteWithBlank": {"type": "boolean"},
    },
}
NOTE = {
    "type": "object",
    "required": ["lead", "text"],
    "properties": {
        "lead": _ID | {"description": "The contact's id."},
        "text": {"type": "string"},
        "type": {"type": "string", "enum": ["general", "email", "call", "meeting"], "default": "general"},
        "dateTime": {"type": "string", "description": "When it happened, e.g. 2024-05-31 14:30:00."},
    },
}
DNC = {
    "type": "object",
    "properties": {
        "reason": {"type": "integer", "enum": [1, 2, 3], "default": 3},
        "channelId": {"type": "integer"},
        "comments": {"type": "string"},
    },
}
UTM = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in (
        "utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term", "referer", "remotehost", "url", "useragent",
    )} | {"query": {"type": "object"}},
}
POINTS = {
    "type": "object",
    "properties": {"eventName": {"type": "string"}, "actionName": {"type": "string"}},
}
_PUBLISH = {
    "isPublished": {"type": "boolean", "default": True},
    "publishUp": {"type": ["string", "null"], "description": "When it starts to apply, e.g. 2024-05-31 14:30 (UTC)."},
    "publishDown": {"type": ["string", "null"], "description": "When it stops applying."},
}
_GROUP_REF = {"type": ["integer", "null"], "description": "A point group's id; the group's score changes instead of the total."}
POINT_ACTION = {
    "type": "object",
    "required": ["name", "type"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "type": {"type": "string", "description": "What the contact does; see `GET /points/actions/types`.",
                 "examples": ["url.hit", "page.hit"]},
        "delta": {"type": "integer", "description": "Points added (negative: taken away)."},
        "repeatable": {"type": "boolean", "description": "Score every time, not only the first."},
        "group": _GROUP_REF,
        "properties": {"type": "object", "description": "url.hit: `page_url` (with * wildcards), `page_hits`, "
                       "`returns_within`, `returns_after` (seconds). page.hit: `pages` (ids, empty for any)."},
    } | _PUBLISH,
}
POINT_TRIGGER = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "points": {"type": "integer", "description": "The score at which the events run."},
        "group": _GROUP_REF | {"description": "Watch this point group's score instead of the total."},
        "color": {"type": "string", "description": "Hex colour, e.g. ff0000."},
        "triggerExistingLeads": {"type": "boolean", "description": "Also run for contacts already at the threshold."},
        "events": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
            "id": {"type": "integer", "description": "Keeps an existing event (and whom it has run for)."},
            "type": {"type": "string", "description": "See `GET /points/triggers/events/types`.", "examples": ["tags.modify"]},
            "name": {"type": "string"},
            "properties": {"type": "object", "description": "tags.modify: `add_tags`, `remove_tags` (lists of names)."},
        }}},
    } | _PUBLISH,
}
SEGMENT = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"}, "alias": {"type": "string"}, "publicName": {"type": "string"},
        "description": {"type": "string"}, "isPublished": {"type": "boolean"}, "isGlobal": {"type": "boolean"},
        "isPreferenceCenter": {"type": "boolean"},
        "filters": {"type": "array", "items": {"type": "object", "properties": {
            "glue": {"type": "string", "enum": ["and", "or"]}, "field": {"type": "string"}, "object": {"type": "string"},
            "type": {"type": "string"}, "operator": {"type": "string"},
            "properties": {"type": "object", "properties": {"filter": {}}},
        }}},
    },
}
POINT_GROUP = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "isPublished": {"type": "boolean"}},
}
FIELD = {
    "type": "object",
    "properties": {
        "label": {"type": "string"},
        "alias": {"type": "string"},
        "type": {"type": "string", "default": "text"},
        "group": {"type": "string", "enum": ["core", "social", "personal", "professional"]},
        "defaultValue": {"type": "string"},
        "isRequired": {"type": "boolean"},
        "isPubliclyUpdatable": {"type": "boolean"},
        "isUniqueIdentifier": {"type": "boolean"},
        "isVisible": {"type": "boolean"},
        "isListable": {"type": "boolean"},
        "isIndexed": {"type": "boolean"},
        "properties": {"type": "object", "description": "`list` of options, `yes`/`no` labels, `scale`."},
    },
}
IDS = {"type": "object", "properties": {"ids": {"type": "array", "items": _ID, "maxItems": MAX_BATCH}}}


def body(schema: dict[str, Any], *, batch: bool = False, with_id: bool = False) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON or form-encoded body (a list of up to 200 for batches)."""
    if with_id:
        schema = schema | {"properties": {"id": _ID} | schema.get("properties", {}), "required": ["id"]}
    if batch:
        schema = {"type": "array", "maxItems": MAX_BATCH, "items": schema}
    content = {"application/json": {"schema": schema}}
    if not batch:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"requestBody": {"required": False, "content": content}}


def batch_delete() -> dict[str, Any]:
    """Batch deletes take ids in the query (``ids=1,2`` or ``ids[]=1``) or in the body."""
    return body(IDS) | {"parameters": [{
        "name": "ids", "in": "query", "required": False, "schema": {"type": "string"},
        "description": f"Comma separated ids, or repeated `ids[]=`; at most {MAX_BATCH}.",
    }]}


_FORM_FIELD = {
    "type": "object",
    "required": ["label", "type"],
    "properties": {
        "id": {"type": "integer", "description": "On edit: the field to change (PATCH keeps fields not sent; PUT drops them)."},
        "label": {"type": "string"},
        "alias": {"type": "string", "description": "Its name in `mauticform[...]` and in the results; from the label when empty."},
        "type": {"type": "string", "examples": ["text", "email", "tel", "select", "checkboxgrp", "country", "hidden", "button"]},
        "order": {"type": "integer"},
        "showLabel": {"type": "boolean"}, "isRequired": {"type": "boolean"}, "saveResult": {"type": "boolean"},
        "defaultValue": {"type": "string"}, "helpMessage": {"type": "string"}, "validationMessage": {"type": "string"},
        "properties": {"type": "object", "description": "Per type: `list` (or `options`) of {label, value} for lists, "
                       "`placeholder`, `captcha` (the answer), `allowed_extensions` and `max_size_mb` for files."},
        "mappedObject": {"type": "string", "enum": ["contact", "company"]},
        "mappedField": {"type": "string", "description": "The contact or company field the value goes to."},
        "leadField": {"type": "string", "description": "Older Mautic: a contact field (or a company field's alias)."},
        "isAutoFill": {"type": "boolean"}, "showWhenValueExists": {"type": "boolean"},
        "showAfterXSubmissions": {"type": ["integer", "null"]}, "alwaysDisplay": {"type": "boolean"},
        "parent": {"type": ["string", "null"], "description": "The alias (or id) of the field this one depends on."},
        "conditions": {"type": "object", "properties": {"any": {"type": "boolean"}, "values": {"type": "array", "items": {"type": "string"}}}},
    },
}
_FORM_ACTION = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "id": {"type": "integer", "description": "On edit: the action to change."},
        "type": {"type": "string", "examples": ["lead.pointschange", "lead.changetags", "lead.changelist", "form.repost"]},
        "name": {"type": "string"},
        "order": {"type": "integer"},
        "properties": {"type": "object", "description": "lead.pointschange: `points`; lead.changetags: `add_tags`, "
                       "`remove_tags`; lead.changelist: `addToLists`, `removeFromLists`; form.repost: `post_url`."},
    },
}
FORM = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"}, "alias": {"type": "string"}, "description": {"type": "string"},
        "postAction": {"type": "string", "enum": ["message", "redirect", "return"]},
        "postActionProperty": {"type": "string", "description": "The message, or the http(s) address to redirect to."},
        "formType": {"type": "string", "enum": ["standalone", "campaign"]},
        "inKioskMode": {"type": "boolean"}, "noIndex": {"type": "boolean"}, "language": {"type": "string"},
        "progressiveProfilingLimit": {"type": ["integer", "null"], "minimum": 1, "maximum": 100},
        "fields": {"type": "array", "items": _FORM_FIELD},
        "actions": {"type": "array", "items": _FORM_ACTION},
    } | _PUBLISH,
}
