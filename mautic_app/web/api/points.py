"""``/api/points``, ``/api/points/triggers``, ``/api/points/groups`` and a contact's plus/minus points.

Thin over ``services.points``, with Mautic's keys (``point``/``points``, ``trigger``/``triggers``,
``pointGroup``/``pointGroups``) and field names (``delta``, ``repeatable``, ``triggerExistingLeads``...).
A PATCH changes only what it sends (``properties`` merge); a PUT replaces the whole record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.domain import points as rules
from mautic_app.models import PointAction, PointGroup, PointTrigger, PointTriggerEvent
from mautic_app.services import points
from mautic_app.web.api import docs, resource
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import MAX_INT, column_name, flag, optional_id, read_body, require_object
from mautic_app.web.api.serializers import iso, respond

router = APIRouter(prefix="/points", tags=["Points"], dependencies=[Depends(api_user)])
triggers_router = APIRouter(prefix="/points/triggers", tags=["Points"], dependencies=[Depends(api_user)])
groups_router = APIRouter(prefix="/points/groups", tags=["Points"], dependencies=[Depends(api_user)])
# Mounted ahead of the contacts router: these paths are more specific than its /points/{operator}/{delta}.
contact_router = APIRouter(prefix="/contacts", tags=["Contacts"], dependencies=[Depends(api_user)])
_POSITIVE = re.compile(r"^[0-9]{1,10}$")
T = TypeVar("T")


# ---------------------------------------------------------------- shapes


def _group_ref(group_id: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    return {"id": group_id, "name": names.get(group_id, "")} if group_id else None


def action_body(action: PointAction, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": action.id, "name": action.name, "description": action.description, "type": action.type,
        "delta": action.delta, "repeatable": action.repeatable, "properties": action.properties or [],
        "isPublished": action.is_published, "publishUp": iso(action.publish_up), "publishDown": iso(action.publish_down),
        "dateAdded": iso(action.date_added), "category": None, "group": _group_ref(action.group_id, names),
    }


def event_body(event: PointTriggerEvent) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "name": event.name, "order": event.event_order,
            "properties": event.properties or []}


def trigger_body(trigger: PointTrigger, events: list[PointTriggerEvent], names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": trigger.id, "name": trigger.name, "description": trigger.description, "points": trigger.points,
        "color": trigger.color.lstrip("#"),  # Mautic's form: hex digits without the hash
        "triggerExistingLeads": trigger.trigger_existing, "isPublished": trigger.is_published,
        "publishUp": iso(trigger.publish_up), "publishDown": iso(trigger.publish_down), "dateAdded": iso(trigger.date_added),
        "category": None, "group": _group_ref(trigger.group_id, names), "events": [event_body(e) for e in events],
    }


def group_body(group: PointGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "description": group.description, "isPublished": group.is_published,
            "dateAdded": iso(group.date_added)}


def _actions(session: Session, rows: list[PointAction]) -> dict[int, dict[str, Any]]:
    names = points.group_names(session=session, ids=[r.group_id for r in rows])
    return {cast(int, r.id): action_body(r, names) for r in rows}  # stored rows have ids


def _triggers(session: Session, rows: list[PointTrigger]) -> dict[int, dict[str, Any]]:
    names = points.group_names(session=session, ids=[r.group_id for r in rows])
    ids = [cast(int, r.id) for r in rows]  # stored rows have ids
    events = points.events_of(session=session, trigger_ids=ids)
    return {i: trigger_body(r, events[i], names) for i, r in zip(ids, rows, strict=True)}


def _found(record: T | None) -> T:
    if record is None:
        raise ApiError(404)
    return record


# ---------------------------------------------------------------- reading write bodies


def _group_id(value: Any) -> int | None:
    """A group as an id or Mautic's ``{"id": n}``; null, "" or 0 means none."""
    if isinstance(value, dict):
        value = value.get("id")
    return optional_id(value, "group")


def _properties(value: Any) -> dict[str, Any]:
    if value in (None, "", []):  # PHP clients send an empty object as []
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, "properties must be an object.", {"properties": ["Give an object of settings."]})
    return value


def _common(params: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    for key in ("name", "description", "publishUp", "publishDown"):
        if key in params:
            values[re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()] = params[key]
    if "isPublished" in params:
        values["is_published"] = flag(params["isPublished"])
    if "group" in params:
        values["group_id"] = _group_id(params["group"])
    return values


def _action_values(action: PointAction | None, params: dict[str, Any]) -> dict[str, Any]:
    """The full set of values to save: the current ones (PATCH) or defaults, overlaid with what was sent."""
    values: dict[str, Any] = {
        "name": "", "description": "", "type": "", "delta": 0, "group_id": None, "repeatable": False,
        "properties": {}, "is_published": True, "publish_up": None, "publish_down": None,
    }
    if action is not None:
        values |= {k: getattr(action, k) for k in values}
    _common(params, values)
    for key in ("type", "delta"):
        if key in params:
            values[key] = params[key]
    if "repeatable" in params:
        values["repeatable"] = flag(params["repeatable"])
    if "properties" in params:
        values["properties"] = (dict(values["properties"] or {}) if action is not None else {}) | _properties(params["properties"])
    return values


def _events(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    if isinstance(value, dict):  # keyed by id or position, as Mautic serializes them
        value = list(value.values())
    if not isinstance(value, list):
        raise ApiError(400, "events must be a list.", {"events": ["Give a list of events."]})
    return [e | {"properties": _properties(e.get("properties"))} if isinstance(e, dict) else e for e in value]


def _trigger_values(trigger: PointTrigger | None, params: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "", "description": "", "points": 0, "group_id": None, "color": rules.DEFAULT_COLOR,
        "trigger_existing": False, "is_published": True, "publish_up": None, "publish_down": None,
    }
    if trigger is not None:
        values |= {k: getattr(trigger, k) for k in values}
    _common(params, values)
    for key in ("points", "color"):
        if key in params:
            values[key] = params[key]
    if "triggerExistingLeads" in params:
        values["trigger_existing"] = flag(params["triggerExistingLeads"])
    values["events"] = _events(params["events"]) if "events" in params else (None if trigger is not None else [])
    return values


def save_action(session: Session, action_id: int | None, data: Any, method: str, _user_id: int) -> tuple[int, int]:
    params = require_object(data)
    current = points.get_action(session=session, action_id=action_id) if action_id and method == "PATCH" else None
    action = points.save_action(session=session, action_id=action_id, **_action_values(current, params))
    return cast(int, action.id), 200 if action_id else 201  # saved, so it has its id


def save_trigger(session: Session, trigger_id: int | None, data: Any, method: str, _user_id: int) -> tuple[int, int]:
    params = require_object(data)
    current = points.get_trigger(session=session, trigger_id=trigger_id) if trigger_id and method == "PATCH" else None
    trigger = points.save_trigger(session=session, trigger_id=trigger_id, **_trigger_values(current, params))
    return cast(int, trigger.id), 200 if trigger_id else 201


def save_group(session: Session, group_id: int | None, data: Any, method: str, _user_id: int) -> tuple[int, int]:
    params = require_object(data)
    current = points.get_group(session=session, group_id=group_id) if group_id and method == "PATCH" else None
    values: dict[str, Any] = {"name": current.name if current else "", "description": current.description if current else "",
              "is_published": current.is_published if current else True}
    for key in ("name", "description"):
        if key in params:
            values[key] = params[key]
    if "isPublished" in params:
        values["is_published"] = flag(params["isPublished"])
    group = points.save_group(session=session, group_id=group_id, **values)
    return cast(int, group.id), 200 if group_id else 201


# ---------------------------------------------------------------- lists


def _listing(lister: Callable[..., tuple[list[Any], int]], sorts: set[str], *, start: int, limit: int, search: str,
             order_by: str, order_dir: str, published_only: str, shape: Callable[[Session, list[Any]], dict[int, Any]],
             key: str) -> JSONResponse:
    sort = column_name(order_by) or "name"
    if sort not in sorts:
        raise ApiError(400, f"Cannot sort by {order_by}.", {"orderBy": [f"Choose one of {', '.join(sorted(sorts))}."]})
    limit = points.MAX_PAGE if limit <= 0 else min(limit, points.MAX_PAGE)
    with session_scope() as session:
        rows, total = lister(session=session, search=search, start=start, limit=limit, order_by=sort, direction=order_dir,
                             published_only=flag(published_only))
        items = shape(session, rows)
    return respond({"total": str(total), key: items})


_START = Query(0, ge=0, le=MAX_INT)
_LIMIT = Query(30, description="Records per page (at most 200; 0 means the most).")
_SEARCH = Query("", description="Text in the name, or `ids:1,2`.")
_ORDER_DIR = Query("ASC", alias="orderByDir", pattern="(?i)^(asc|desc)$")
_PUBLISHED = Query("", alias="publishedOnly", description="When true, only published records.")


@router.get("", summary="List point actions")
def list_actions(start: int = _START, limit: int = _LIMIT, search: str = _SEARCH,
                 order_by: str = Query("", alias="orderBy", description="`name`, `id`, `type`, `delta` or `dateAdded`."),
                 order_dir: str = _ORDER_DIR, published_only: str = _PUBLISHED) -> JSONResponse:
    return _listing(points.list_actions, points.ACTION_SORTS, start=start, limit=limit, search=search, order_by=order_by,
                    order_dir=order_dir, published_only=published_only, shape=_actions, key="points")


@router.get("/actions/types", summary="Kinds of point action that can be created")
def action_types() -> JSONResponse:
    return respond({"pointActionTypes": rules.labels(rules.ACTION_TYPES)})


@router.get("/{point_id:id}", summary="Get a point action")
def get_action(point_id: int) -> JSONResponse:
    with session_scope() as session:
        action = _found(points.get_action(session=session, action_id=point_id))
        return respond({"point": _actions(session, [action])[point_id]})


@triggers_router.get("", summary="List point triggers")
def list_triggers(start: int = _START, limit: int = _LIMIT, search: str = _SEARCH,
                  order_by: str = Query("", alias="orderBy", description="`name`, `id`, `points` or `dateAdded`."),
                  order_dir: str = _ORDER_DIR, published_only: str = _PUBLISHED) -> JSONResponse:
    return _listing(points.list_triggers, points.TRIGGER_SORTS, start=start, limit=limit, search=search, order_by=order_by,
                    order_dir=order_dir, published_only=published_only, shape=_triggers, key="triggers")


@triggers_router.get("/events/types", summary="Kinds of trigger event that can be created")
def event_types() -> JSONResponse:
    return respond({"eventTypes": rules.labels(rules.TRIGGER_EVENT_TYPES)})


@triggers_router.get("/{trigger_id:id}", summary="Get a point trigger and its events")
def get_trigger(trigger_id: int) -> JSONResponse:
    with session_scope() as session:
        trigger = _found(points.get_trigger(session=session, trigger_id=trigger_id))
        return respond({"trigger": _triggers(session, [trigger])[trigger_id]})


@groups_router.get("", summary="List point groups")
def list_groups(start: int = _START, limit: int = _LIMIT, search: str = _SEARCH,
                order_by: str = Query("", alias="orderBy", description="`name`, `id` or `dateAdded`."),
                order_dir: str = _ORDER_DIR, published_only: str = _PUBLISHED) -> JSONResponse:
    return _listing(points.list_groups, points.GROUP_SORTS, start=start, limit=limit, search=search, order_by=order_by,
                    order_dir=order_dir, published_only=published_only,
                    shape=_shape_groups, key="pointGroups")


@groups_router.get("/{group_id:id}", summary="Get a point group")
def get_group(group_id: int) -> JSONResponse:
    with session_scope() as session:
        return respond({"pointGroup": group_body(_found(points.get_group(session=session, group_id=group_id)))})


def _by_ids(getter: Callable[[Session, int], Any],
            shape: Callable[[Session, list[Any]], dict[int, Any]]) -> Callable[[Session, list[int]], dict[int, Any]]:
    def read_many(session: Session, ids: list[int]) -> dict[int, Any]:
        return shape(session, [r for i in ids if (r := getter(session, i)) is not None])

    return read_many


def _get_action(s: Session, i: int) -> PointAction | None:
    return points.get_action(session=s, action_id=i)


def _get_trigger(s: Session, i: int) -> PointTrigger | None:
    return points.get_trigger(session=s, trigger_id=i)


def _get_group(s: Session, i: int) -> PointGroup | None:
    return points.get_group(session=s, group_id=i)


def _shape_groups(_s: Session, rows: list[PointGroup]) -> dict[int, Any]:
    return {cast(int, r.id): group_body(r) for r in rows}


resource.add_standard_routes(
    triggers_router, singular="trigger", plural="triggers", schema=docs.POINT_TRIGGER, new_summary="Create a point trigger",
    exists=lambda s, i: _get_trigger(s, i) is not None,
    read_body_for=lambda s, i: _triggers(s, [_found(_get_trigger(s, i))])[i], save=save_trigger,
    read_many=_by_ids(_get_trigger, _triggers), delete=lambda s, ids: points.delete_triggers(session=s, trigger_ids=ids),
)
resource.add_standard_routes(
    groups_router, singular="pointGroup", plural="pointGroups", schema=docs.POINT_GROUP, new_summary="Create a point group",
    exists=lambda s, i: _get_group(s, i) is not None,
    read_body_for=lambda s, i: group_body(_found(_get_group(s, i))), save=save_group,
    read_many=_by_ids(_get_group, _shape_groups), delete=lambda s, ids: points.delete_groups(session=s, group_ids=ids),
)
resource.add_standard_routes(
    router, singular="point", plural="points", schema=docs.POINT_ACTION, new_summary="Create a point action",
    exists=lambda s, i: _get_action(s, i) is not None,
    read_body_for=lambda s, i: _actions(s, [_found(_get_action(s, i))])[i], save=save_action,
    read_many=_by_ids(_get_action, _actions), delete=lambda s, ids: points.delete_actions(session=s, action_ids=ids),
)
ROUTERS = (router, triggers_router, groups_router)


# ---------------------------------------------------------------- a contact's points


def _positive(delta: str) -> int:
    if not _POSITIVE.match(delta) or not 0 < int(delta) <= MAX_INT:
        raise ApiError(400, "The number of points must be a positive whole number.", {"delta": ["Give a positive whole number."]})
    return int(delta)


def _change(contact_id: int, amount: int, body: Any, user_id: int) -> JSONResponse:
    params = body if isinstance(body, dict) else {}
    reason = " / ".join(str(params[k]).strip() for k in ("eventName", "actionName") if params.get(k)) or "API"
    with session_scope() as session:
        points.adjust(session=session, contact_id=contact_id, delta=amount, reason=reason, user_id=user_id)
    return respond({"success": 1})


@contact_router.post("/{contact_id:id}/points/plus/{delta}", summary="Add points to a contact (runs point triggers)",
                     openapi_extra=docs.body(docs.POINTS))
def add_points(contact_id: int, delta: str, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    return _change(contact_id, _positive(delta), body, user_id)


@contact_router.post("/{contact_id:id}/points/minus/{delta}", summary="Take points from a contact (runs point triggers)",
                     openapi_extra=docs.body(docs.POINTS))
def subtract_points(contact_id: int, delta: str, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
    return _change(contact_id, -_positive(delta), body, user_id)
