"""``/api/forms``: Mautic's standard routes (``form``/``forms`` keys), fields and actions in Mautic's shape,
deleting fields or actions by id, and the submissions of a form.

Thin over ``services.forms``. Fields and actions come in Mautic's camelCase (``mappedObject`` +
``mappedField``, or the older ``leadField``); as in Mautic, a PATCH keeps the fields and actions
it does not mention (those it mentions by ``id`` change, those without one are added) and a PUT
replaces them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.domain import forms as rules
from mautic_app.domain.points import parse_when
from mautic_app.models import Form, FormAction, FormSubmission
from mautic_app.services import contacts, forms
from mautic_app.web.api import docs, resource
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import MAX_INT, column_name, flag, query_data, read_body, require_object
from mautic_app.web.api.serializers import iso, respond

router = APIRouter(prefix="/forms", tags=["Forms"], dependencies=[Depends(api_user)])

MAX_PAGE = forms.MAX_PAGE
# Mautic's keys → the service's, for the form itself and for its fields.
_FORM_TEXT = {"name": "name", "alias": "alias", "description": "description", "postAction": "post_action",
              "postActionProperty": "post_action_property", "formType": "form_type", "language": "language",
              "progressiveProfilingLimit": "progressive_profiling_limit"}
_FORM_FLAGS = {"isPublished": "is_published", "inKioskMode": "in_kiosk_mode", "noIndex": "no_index"}
_FIELD_TEXT = {"label": "label", "alias": "alias", "type": "type", "defaultValue": "default_value", "helpMessage": "help_message",
               "validationMessage": "validation_message", "showAfterXSubmissions": "show_after_x_submissions"}
_FIELD_FLAGS = {"showLabel": "show_label", "isRequired": "is_required", "isAutoFill": "is_auto_fill",
                "showWhenValueExists": "show_when_value_exists", "alwaysDisplay": "always_display", "saveResult": "save_result"}
# Service error keys that are not just the camelCase of the snake_case ones.
_ERROR_KEYS = {"parent_alias": "parent", "options": "properties.list", "captcha": "properties.captcha",
               "max_size_mb": "properties.maxSizeMb"}


# ------------------------------------------------------------------ reading


def field_body(f: rules.Field) -> dict[str, Any]:
    properties: dict[str, Any] = dict(f.properties)
    if f.kind.has_options:  # Mautic's own clients read the options from properties.list.list
        properties["list"] = {"list": [{"label": lbl, "value": v} for v, lbl in f.options()]}
    conditions: dict[str, Any] | list[Any] = []
    if f.parent_alias:
        conditions = {"expr": f.conditions.get("expr") or "in", "any": int(bool(f.conditions.get("any"))),
                      "values": list(f.conditions.get("values") or [])}
    return {
        "id": f.id, "label": f.label, "alias": f.alias, "type": f.type, "order": f.order, "showLabel": f.show_label,
        "defaultValue": f.default_value or None, "helpMessage": f.help_message or None, "isRequired": f.is_required,
        "validationMessage": f.validation_message or None, "properties": properties or [],
        "mappedObject": f.mapped_object or None, "mappedField": f.mapped_field or None,
        "leadField": f.mapped_field if f.mapped_object == "contact" else None,
        "isAutoFill": f.is_auto_fill, "showWhenValueExists": f.show_when_value_exists,
        "showAfterXSubmissions": f.show_after_x_submissions, "alwaysDisplay": f.always_display,
        "parent": f.parent_alias or None, "conditions": conditions, "saveResult": f.save_result,
    }


def action_body(a: FormAction) -> dict[str, Any]:
    return {"id": a.id, "type": a.type, "name": a.name, "order": a.order, "properties": dict(a.properties or {}) or []}


def form_body(session: Session, form: Form, *, submissions: int | None = None, minimal: bool = False) -> dict[str, Any]:
    form_id = cast(int, form.id)  # a stored form
    body: dict[str, Any] = {
        "id": form.id, "name": form.name, "alias": form.alias, "description": form.description or None, "category": None,
        "isPublished": form.is_published, "publishUp": iso(form.publish_up), "publishDown": iso(form.publish_down),
        "dateAdded": iso(form.date_added), "dateModified": iso(form.date_modified), "createdBy": form.created_by,
        "postAction": form.post_action, "postActionProperty": form.post_action_property or None, "formType": form.form_type,
        "inKioskMode": form.in_kiosk_mode, "progressiveProfilingLimit": form.progressive_profiling_limit,
        "noIndex": form.no_index, "language": form.language or None,
        "submissionCount": submissions if submissions is not None else forms.submission_count(session=session, form_id=form_id),
    }
    if not minimal:
        body["fields"] = [field_body(f) for f in forms.fields_of(session=session, form_id=form_id)]
        body["actions"] = [action_body(a) for a in forms.actions_of(session=session, form_id=form_id)]
    return body


def _form(session: Session, form_id: int) -> Form:
    form = forms.get_form(session=session, form_id=form_id)
    if form is None:
        raise ApiError(404)
    return form


def submission_body(row: FormSubmission, form: Form, fields: list[rules.Field]) -> dict[str, Any]:
    stored = dict(row.values or {})
    results: dict[str, Any] = {}
    for f in fields:
        if f.kind.stores_value and f.save_result and f.type != "password":
            results[f.alias] = _result(stored.pop(f.alias, None))
    results |= {alias: _result(value) for alias, value in stored.items()}  # values of fields removed since
    return {
        "id": row.id, "ipAddress": {"ipAddress": row.ip_address}, "dateSubmitted": iso(row.date_submitted),
        "referer": row.referer, "page": row.page_url, "form": {"id": form.id, "name": form.name, "alias": form.alias},
        "lead": {"id": row.contact_id} if row.contact_id else None, "trackingId": row.tracking_id, "results": results,
    }


def _result(value: Any) -> Any:
    """Lists joined with ", ", files as their file name; other values as stored."""
    return forms.value_text(value) if isinstance(value, list | dict) else value


# ------------------------------------------------------------------ writing


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def _error_key(key: str, origins: dict[str, list[int | str]]) -> str:
    """A service error key in the terms the client used: ``fields.3.mapped_field`` (an index into what was
    saved) becomes ``fields.1.mappedField`` (an index into what was sent; a kept field is named by its alias)."""
    parts = key.split(".")
    head, rest = parts[0], parts[1:]
    if head in ("fields", "actions") and rest and rest[0].isdigit():
        index = int(rest[0])
        if head in origins and index < len(origins[head]):
            rest[0] = str(origins[head][index])
        if head == "fields":
            rest[1:] = [_ERROR_KEYS.get(p, _camel(p)) for p in rest[1:]]
        elif len(rest) > 1 and rest[1] != "type":
            rest[1:] = ["properties", *rest[1:]]  # an action's settings are its properties, keyed as sent
        return ".".join([head, *rest])
    return ".".join(_camel(p) for p in parts)


def _invalid(errors: dict[str, str], origins: dict[str, list[int | str]], sent: dict[str, str] | None = None) -> ApiError:
    """A 400 from the service's ``errors`` (indexed as saved) and ``sent`` (indexed as sent)."""
    details: dict[str, list[str]] = {}
    for key, message in (sent or {}).items():
        details.setdefault(_error_key(key, {}), []).append(message)
    for key, message in errors.items():
        details.setdefault(_error_key(key, origins), []).append(message)
    return ApiError(400, "; ".join(f"{k}: {v[0]}" for k, v in details.items()), details)


def _items(params: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of objects; PHP clients send lists keyed by position, and an empty one as ``[]`` or ``""``."""
    raw = params.get(key)
    if raw in (None, "", [], {}):
        return []
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise ApiError(400, f"{key} must be a list of objects.", {key: [f"Give a list of {key[:-1]} objects."]})
    return raw


def _object(value: Any, key: str) -> dict[str, Any]:
    if value in (None, "", []):
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{key} must be an object.", {key: ["Give an object."]})
    return dict(value)


def _id_of(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_INT else None


def _stored_field(f: rules.Field) -> dict[str, Any]:
    """A saved field as ``save_form`` takes it."""
    return {
        "id": f.id, "label": f.label, "alias": f.alias, "type": f.type, "order": f.order, "show_label": f.show_label,
        "default_value": f.default_value, "help_message": f.help_message, "is_required": f.is_required,
        "validation_message": f.validation_message, "properties": dict(f.properties), "mapped_object": f.mapped_object,
        "mapped_field": f.mapped_field, "is_auto_fill": f.is_auto_fill, "show_when_value_exists": f.show_when_value_exists,
        "show_after_x_submissions": f.show_after_x_submissions, "always_display": f.always_display,
        "parent_alias": f.parent_alias, "conditions": dict(f.conditions), "save_result": f.save_result,
    }


def _stored_action(a: FormAction) -> dict[str, Any]:
    return {"id": a.id, "type": a.type, "name": a.name, "order": a.order, "properties": dict(a.properties or {})}


def _field_values(item: dict[str, Any], index: int, *, mappable: dict[str, set[str]], by_id: dict[int, str],
                  errors: dict[str, str]) -> dict[str, Any]:
    """One field as Mautic sends it → the service's keys (only the keys that were sent)."""
    out: dict[str, Any] = {}
    for key, name in _FIELD_TEXT.items():
        if key in item:
            out[name] = item[key]
    if isinstance(out.get("alias"), str):
        out["alias"] = out["alias"].strip().lower()
    for key, name in _FIELD_FLAGS.items():
        if key in item:
            out[name] = flag(item[key])
    if "properties" in item:
        props = _object(item["properties"], f"fields.{index}.properties")
        for mautic_key in ("list", "optionlist"):  # Mautic's {"list": {"list": [{label, value}]}}
            raw = props.pop(mautic_key, None)
            if isinstance(raw, dict) and "list" in raw:
                raw = raw["list"]
            if isinstance(raw, dict):
                raw = list(raw.values())
            if raw not in (None, "", []) and "options" not in props:
                props["options"] = raw
        out["properties"] = props
    if "mappedField" in item or "mappedObject" in item:
        obj = str(item.get("mappedObject") or "").strip().lower()
        out["mapped_object"] = "contact" if obj in ("lead", "contact") else obj
        out["mapped_field"] = item.get("mappedField") or ""
    elif "leadField" in item:  # Mautic before 4: a contact field, or a company field by its own alias
        target = str(item.get("leadField") or "").strip()
        company = target in mappable["company"] and target not in mappable["contact"]
        out["mapped_object"], out["mapped_field"] = ("company" if company else "contact") if target else "", target
    if "parent" in item:
        parent = item["parent"]
        parent_id = _id_of(parent)
        out["parent_alias"] = by_id.get(parent_id, str(parent)) if parent_id else str(parent or "").strip()
    if "conditions" in item:
        cond = _object(item["conditions"], f"fields.{index}.conditions")
        expr = str(cond.get("expr") or "in")
        if expr not in ("in", "notIn"):
            errors[f"fields.{index}.conditions"] = "Show a field when its parent has one of the values (expr: in) or none of them (notIn)."
        values = cond.get("values")
        values = list(values.values()) if isinstance(values, dict) else values
        out["conditions"] = {"any": flag(cond.get("any")), "expr": expr,
                             "values": [values] if isinstance(values, str) else list(values or [])}
    return out


def _merge(current: list[dict[str, Any]], sent: list[dict[str, Any]], *, what: str, convert: Callable[[dict[str, Any], int], dict[str, Any]],
           replace: bool, creating: bool, kept_name: Callable[[dict[str, Any]], str], errors: dict[str, str],
           ) -> tuple[list[dict[str, Any]], list[int | str]]:
    """The fields (or actions) to save, and for each the index it was sent at (or, for one kept as it was, its name).

    Items sent with the id of one of this form's items change it (from scratch on PUT); items
    without an id are new, as are all items of a form being created. PATCH keeps the unmentioned
    ones, PUT drops them. ``order`` sorts; otherwise items keep their place and new ones come last.
    """
    by_id = {c["id"]: c for c in current}
    chosen: dict[int, tuple[dict[str, Any], int]] = {}
    new: list[tuple[dict[str, Any], int]] = []
    for i, item in enumerate(sent):
        values = convert(item, i)
        given = None if creating or item.get("id") in (None, "", 0, "0") else item.get("id")
        if given is None:
            new.append((values, i))
            continue
        item_id = _id_of(given)
        if item_id is None or item_id not in by_id:
            errors[f"{what}.{i}.id"] = f"This form has no {what[:-1]} with this id."
            continue
        base = {} if replace else {k: v for k, v in by_id[item_id].items() if k != "order"}
        chosen[item_id] = (base | values, i)
    merged: list[tuple[float, int, dict[str, Any], int | str]] = []
    for position, c in enumerate(current):
        if c["id"] in chosen:
            values, i = chosen[c["id"]]
            merged.append((_order(sent[i], c["order"]), position, values, i))
        elif not replace:
            merged.append((c["order"], position, c, kept_name(c)))
    for values, i in new:
        merged.append((_order(sent[i], len(current) + i), len(current) + i, values, i))
    merged.sort(key=lambda m: (m[0], m[1]))
    return [m[2] for m in merged], [m[3] for m in merged]


def _order(item: dict[str, Any], default: float) -> float:
    try:
        return float(item["order"]) if item.get("order") not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _action_values(item: dict[str, Any], index: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("type", "name"):
        if key in item:
            out[key] = item[key]
    if "properties" in item:
        out["properties"] = _object(item["properties"], f"actions.{index}.properties")
    return out


def _form_values(current: Form | None, params: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if current is not None:  # PATCH: what is not sent stays
        values = {"name": current.name, "alias": current.alias, "description": current.description,
                  "is_published": current.is_published, "post_action": current.post_action,
                  "post_action_property": current.post_action_property, "form_type": current.form_type,
                  "in_kiosk_mode": current.in_kiosk_mode, "progressive_profiling_limit": current.progressive_profiling_limit,
                  "no_index": current.no_index, "language": current.language}
    for key, name in _FORM_TEXT.items():
        if key in params:
            values[name] = params[key]
    for key, name in _FORM_FLAGS.items():
        if key in params:
            values[name] = flag(params[key])
    return values


def save(session: Session, form_id: int | None, data: Any, method: str, user_id: int) -> tuple[int, int]:
    params = require_object(data)
    replace = method != "PATCH" or form_id is None
    current = forms.get_form(session=session, form_id=form_id) if form_id else None
    errors: dict[str, str] = {}
    window: dict[str, Any] = {}
    for key, name in (("publishUp", "publish_up"), ("publishDown", "publish_down")):
        if key in params or replace:
            try:
                window[name] = parse_when(params.get(key))
            except ValueError as exc:
                errors[name] = str(exc)
    up = window.get("publish_up", current.publish_up if current else None)
    down = window.get("publish_down", current.publish_down if current else None)
    if up and down and down <= up:
        errors["publish_down"] = "Unpublishing must come after publishing."
    stored_fields = [_stored_field(f) for f in forms.fields_of(session=session, form_id=form_id)] if form_id else []
    stored_actions = [_stored_action(a) for a in forms.actions_of(session=session, form_id=form_id)] if form_id else []
    mappable = {obj: {alias for alias, _ in pairs} for obj, pairs in forms.mappable_fields(session=session).items()}
    by_id = {f["id"]: f["alias"] for f in stored_fields}
    origins: dict[str, list[int | str]] = {}
    fields, origins["fields"] = _merge(
        stored_fields, _items(params, "fields"), what="fields", replace=replace,
        creating=form_id is None, kept_name=lambda f: f["alias"], errors=errors,
        convert=lambda item, i: _field_values(item, i, mappable=mappable, by_id=by_id, errors=errors))
    actions, origins["actions"] = _merge(
        stored_actions, _items(params, "actions"), what="actions", replace=replace, creating=form_id is None,
        kept_name=lambda a: f"id{a['id']}", errors=errors, convert=_action_values)
    values = _form_values(None if replace else current, params)
    try:
        form = forms.save_form(session=session, form_id=form_id, values=values, fields=fields, actions=actions, user_id=user_id)
    except rules.FormError as exc:
        raise _invalid(exc.errors, origins, errors) from exc
    if errors:  # raised out of the unit of work, so what save_form wrote is rolled back
        raise _invalid({}, origins, errors)
    if window:
        form.publish_up, form.publish_down = up, down
        session.add(form)
        session.flush()
    return cast(int, form.id), 200 if form_id else 201  # saved, so it has its id


def _remove(form_id: int, request: Request, body: Any, what: str, user_id: int) -> JSONResponse:
    """Drop the fields (or actions) with the given ids, as Mautic's ``/fields/delete`` and ``/actions/delete``;
    ids that are not this form's are ignored, as Mautic does."""
    raw = query_data(request).get(what)
    if raw is None and isinstance(body, dict):
        raw = body.get(what)
    if isinstance(raw, str):
        raw = [p for p in raw.split(",") if p.strip()]
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, f"The {what} attribute must be array.", {what: [f"Give the ids of the {what} to delete."]})
    ids = {i for i in (_id_of(v) for v in raw) if i}
    with session_scope() as session:
        form = _form(session, form_id)
        fields = [_stored_field(f) for f in forms.fields_of(session=session, form_id=form_id)]
        actions = [_stored_action(a) for a in forms.actions_of(session=session, form_id=form_id)]
        items = fields if what == "fields" else actions
        kept = [i for i in items if i["id"] not in ids]
        if len(kept) < len(items):
            fields, actions = (kept, actions) if what == "fields" else (fields, kept)
            try:
                forms.save_form(session=session, form_id=form_id, values=_form_values(form, {}), fields=fields,
                                actions=actions, user_id=user_id)
            except rules.FormError as exc:  # e.g. a field whose parent field is deleted
                raise _invalid(exc.errors, {"fields": [f["alias"] for f in fields],
                                            "actions": [f"id{a['id']}" for a in actions]}) from exc
        payload = {"form": form_body(session, form)}
    return respond(payload)


# ------------------------------------------------------------------ routes


@router.get("", summary="List forms")
def list_forms(
    start: int = Query(0, ge=0, le=MAX_INT),
    limit: int = Query(30, ge=0, le=MAX_PAGE, description=f"Forms per page (at most {MAX_PAGE}; 0 means the most)."),
    search: str = Query("", description="Text in the name or alias, `name:x`, or `ids:1,2`."),
    order_by: str = Query("", alias="orderBy", description="`name`, `alias`, `id`, `dateAdded`, `dateModified`, ..."),
    order_dir: str = Query("ASC", alias="orderByDir", pattern="(?i)^(asc|desc)$"),
    published_only: str = Query("", alias="publishedOnly", description="When true, only forms live now."),
    minimal: str = Query("", description="When true, forms come without their fields and actions."),
) -> JSONResponse:
    sort = column_name(order_by) or "name"
    if sort not in forms.FORM_SORTS:
        raise ApiError(400, f"Cannot sort by {order_by}.",
                       {"orderBy": [f"Choose one of {', '.join(sorted(_camel(s) for s in forms.FORM_SORTS))}."]})
    with session_scope() as session:
        total, rows = forms.search_forms(session=session, search=search, start=start, limit=limit or MAX_PAGE, order_by=sort,
                                         direction=order_dir, published_only=flag(published_only))
        items = {r["form"].id: form_body(session, r["form"], submissions=r["submissions"], minimal=flag(minimal)) for r in rows}
    return respond({"total": str(total), "forms": items})


@router.get("/{form_id:id}", summary="Get a form with its fields and actions")
def get_form(form_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"form": form_body(session, _form(session, form_id))})


@router.delete("/{form_id:id}/fields/delete", summary="Delete fields of a form",
               openapi_extra={"parameters": [{"name": "fields[]", "in": "query", "required": True, "description": "Field ids.",
                                              "schema": {"type": "array", "items": {"type": "integer"}}}]})
def delete_fields(form_id: int, request: Request, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    return _remove(form_id, request, body, "fields", user_id)


@router.delete("/{form_id:id}/actions/delete", summary="Delete submit actions of a form",
               openapi_extra={"parameters": [{"name": "actions[]", "in": "query", "required": True, "description": "Action ids.",
                                              "schema": {"type": "array", "items": {"type": "integer"}}}]})
def delete_actions(form_id: int, request: Request, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    return _remove(form_id, request, body, "actions", user_id)


@router.get("/{form_id:id}/submissions", summary="List a form's submissions, newest first")
def list_submissions(form_id: int, start: int = Query(0, ge=0, le=MAX_INT),
                     limit: int = Query(30, ge=0, le=MAX_PAGE, description=f"At most {MAX_PAGE}; 0 means the most."),
                     search: str = Query("", description="Text in the values, the IP address or the contact's e-mail.")) -> JSONResponse:
    with session_scope() as session:
        form = _form(session, form_id)
        total, rows = forms.results(session=session, form_id=form_id, search=search, start=start, limit=limit or MAX_PAGE)
        fields = forms.fields_of(session=session, form_id=form_id)
        items = [submission_body(r, form, fields) for r in rows]
    return respond({"total": str(total), "submissions": items})


@router.get("/{form_id:id}/submissions/{submission_id:id}", summary="Get a submission")
def get_submission(form_id: int, submission_id: int) -> JSONResponse:
    with session_scope() as session:
        form = _form(session, form_id)
        row = forms.submission(session=session, form_id=form_id, submission_id=submission_id)
        if row is None:
            raise ApiError(404)
        body = submission_body(row, form, forms.fields_of(session=session, form_id=form_id))
    return respond({"submission": body})


@router.get("/{form_id:id}/submissions/contact/{contact_id:id}", summary="A contact's submissions of a form")
def contact_submissions(form_id: int, contact_id: int, start: int = Query(0, ge=0, le=MAX_INT),
                        limit: int = Query(30, ge=0, le=MAX_PAGE)) -> JSONResponse:
    with session_scope() as session:
        form = _form(session, form_id)
        if contacts.read(session=session, contact_id=contact_id) is None:
            raise ApiError(404)
        total, rows = forms.contact_results(session=session, form_id=form_id, contact_id=contact_id, start=start,
                                            limit=limit or MAX_PAGE)
        fields = forms.fields_of(session=session, form_id=form_id)
        items = [submission_body(r, form, fields) for r in rows]
    return respond({"total": str(total), "submissions": items})


resource.add_standard_routes(
    router, singular="form", plural="forms", schema=docs.FORM, new_summary="Create a form with its fields and actions",
    exists=lambda s, i: s.get(Form, i) is not None,
    read_body_for=lambda s, i: form_body(s, _form(s, i)), save=save,
    read_many=lambda s, ids: {i: form_body(s, f) for i in ids if (f := s.get(Form, i)) is not None},
    delete=lambda s, ids: forms.delete_forms(session=s, form_ids=ids),
)
