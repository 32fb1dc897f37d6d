"""Points: the only writer of point actions, groups, triggers, their logs and contacts' group scores.

Tracking and (later) e-mail, form and asset events call :func:`score`; people and the API call
:func:`adjust`. Both end by running the triggers a contact has newly reached. Total points go
through ``services.contacts.change_points`` so the timeline and the change feed see every change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from mautic_app import changefeed
from mautic_app.db import rows_changed
from mautic_app.domain import points as rules
from mautic_app.domain import search as search_syntax
from mautic_app.models import (
    Contact,
    GroupContactScore,
    PointAction,
    PointActionLog,
    PointGroup,
    PointTrigger,
    PointTriggerEvent,
    PointTriggerLog,
)
from mautic_app.models.base import utcnow
from mautic_app.services import contacts, email_sends, segments, timeline

log = logging.getLogger(__name__)

MAX_PAGE = 200
MAX_EVENTS = 50
EXISTING_CHUNK = 500
ACTION_SORTS = {"id", "name", "type", "delta", "date_added"}
TRIGGER_SORTS = {"id", "name", "points", "date_added"}
GROUP_SORTS = {"id", "name", "date_added"}


class PointError(ValueError):
    """Field-level problems (``errors``: field → message) or a missing record (``status`` 404)."""

    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


def _insert(session: Session, model: type[SQLModel]) -> postgresql.Insert | sqlite.Insert:
    """INSERT with ON CONFLICT support on both databases we run on."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(model)


def _publish(session: Session, topic: str, ids: list[int], action: str) -> None:
    changefeed.publish_after_commit(session, topic, {"ids": ids, "action": action})


# ---------------------------------------------------------------- shared validation


def _text(errors: dict[str, str], key: str, value: Any) -> str:
    if isinstance(value, (dict, list)):
        errors[key] = "Give text, not a list or an object."
        return ""
    return "" if value is None else str(value).strip()


def _name(errors: dict[str, str], value: Any) -> str:
    name = _text(errors, "name", value)
    if "name" in errors:
        return name
    if not name:
        errors["name"] = "A name is required."
    elif len(name) > rules.MAX_NAME:
        errors["name"] = f"Keep the name under {rules.MAX_NAME} characters."
    return name


def _description(errors: dict[str, str], value: Any) -> str:
    text = _text(errors, "description", value)
    if len(text) > 65535:
        errors["description"] = "Keep the description under 65,535 characters."
    return text


def _whole(errors: dict[str, str], key: str, value: Any, *, low: int, high: int, what: str) -> int:
    try:
        return rules.parse_whole(value, low=low, high=high, what=what)
    except ValueError as exc:
        errors[key] = str(exc)
        return 0


def _window(errors: dict[str, str], up: Any, down: Any) -> tuple[datetime | None, datetime | None]:
    parsed: dict[str, datetime | None] = {}
    for key, raw in (("publish_up", up), ("publish_down", down)):
        try:
            parsed[key] = rules.parse_when(raw)
        except ValueError as exc:
            errors[key] = str(exc)
            parsed[key] = None
    start, end = parsed["publish_up"], parsed["publish_down"]
    if start and end and end <= start:
        errors["publish_down"] = "Unpublishing must come after publishing."
    return start, end


def _group(errors: dict[str, str], session: Session, group_id: Any) -> int | None:
    if group_id in (None, "", 0, "0"):
        return None
    text = str(group_id).strip()
    if not text.isdigit() or session.get(PointGroup, int(text)) is None:
        errors["group"] = "Choose an existing point group."
        return None
    return int(text)


# The three kinds of record the points pages list, search and sort alike.
_Named = type[PointGroup] | type[PointAction] | type[PointTrigger]


def _search(model: _Named, query: str) -> list[sa.ColumnElement[bool]]:
    """Free text matches names; ``ids:1,2`` picks records. Values are always bound parameters."""
    conds: list[sa.ColumnElement[bool]] = []
    for term in search_syntax.parse(query):
        cond: sa.ColumnElement[bool]
        if term.command == "ids":
            cond = col(model.id).in_([int(i) for i in term.value.split(",")][:1000])
        else:
            cond = sa.func.lower(model.name).like("%" + search_syntax.like_escape(term.value.lower()) + "%", escape="\\")
        conds.append(sa.not_(cond) if term.negate else cond)
    return conds


def _page(session: Session, model: _Named, *, search: str, start: int, limit: int, order_by: str, direction: str,
          sorts: set[str], published_only: bool) -> tuple[list[Any], int]:
    conds = _search(model, search)
    if published_only:
        conds.append(col(model.is_published) == sa.true())
    column = getattr(model, order_by if order_by in sorts else "name")
    order = [column.desc(), col(model.id).desc()] if str(direction).lower() == "desc" else [column.asc(), col(model.id).asc()]
    rows = session.exec(
        select(model).where(*conds).order_by(*order).offset(max(0, int(start))).limit(max(1, min(int(limit), MAX_PAGE)))
    ).all()
    total = session.execute(sa.select(sa.func.count()).select_from(model).where(*conds)).scalar() or 0
    return list(rows), total


# ---------------------------------------------------------------- groups


def list_groups(*, session: Session, search: str = "", start: int = 0, limit: int = 30, order_by: str = "name",
                direction: str = "asc", published_only: bool = False) -> tuple[list[PointGroup], int]:
    return _page(session, PointGroup, search=search, start=start, limit=limit, order_by=order_by, direction=direction,
                 sorts=GROUP_SORTS, published_only=published_only)


def group_choices(*, session: Session) -> list[tuple[int, str]]:
    """(id, name) of every group, for pickers; groups are few (a handful of product lines or scores)."""
    return [(r.id, r.name) for r in session.execute(sa.select(col(PointGroup.id), col(PointGroup.name)).order_by(col(PointGroup.name)).limit(1000))]


def group_options(*, session: Session) -> list[dict[str, str]]:
    """Every group as a picker's ``value`` / ``label`` choices."""
    return [{"value": str(i), "label": name} for i, name in group_choices(session=session)]


def get_group(*, session: Session, group_id: int) -> PointGroup | None:
    return session.get(PointGroup, group_id)


def save_group(*, session: Session, group_id: int | None, name: Any, description: Any = "", is_published: bool = True) -> PointGroup:
    errors: dict[str, str] = {}
    clean_name = _name(errors, name)
    text = _description(errors, description)
    group = session.get(PointGroup, group_id) if group_id else PointGroup(name=clean_name)
    if group is None:
        raise PointError({"id": "This point group no longer exists."}, status=404)
    if clean_name and "name" not in errors:
        other = session.execute(
            sa.select(col(PointGroup.id)).where(sa.func.lower(col(PointGroup.name)) == clean_name.lower())
        ).scalar()
        if other is not None and other != group_id:
            errors["name"] = "Another point group has this name."
    if errors:
        raise PointError(errors)
    group.name, group.description, group.is_published = clean_name, text, bool(is_published)
    session.add(group)
    session.flush()
    _publish(session, "point_groups", [cast(int, group.id)], "saved")
    return group


def delete_groups(*, session: Session, group_ids: Iterable[int]) -> int:
    """Actions and triggers of a deleted group go back to the total score; contacts' scores in it go."""
    ids = [int(i) for i in group_ids]
    if not ids:
        return 0
    session.execute(sa.update(PointAction).where(col(PointAction.group_id).in_(ids)).values(group_id=None))
    session.execute(sa.update(PointTrigger).where(col(PointTrigger.group_id).in_(ids)).values(group_id=None))
    session.execute(sa.delete(GroupContactScore).where(col(GroupContactScore.group_id).in_(ids)))
    n = rows_changed(session.execute(sa.delete(PointGroup).where(col(PointGroup.id).in_(ids))))
    _publish(session, "point_groups", ids, "deleted")
    return n


def group_scores(*, session: Session, contact_id: int) -> list[dict[str, Any]]:
    """A contact's score in each group it has scored in, by group name."""
    rows = session.execute(
        sa.select(col(PointGroup.id), col(PointGroup.name), col(GroupContactScore.score))
        .join(GroupContactScore, col(GroupContactScore.group_id) == col(PointGroup.id))
        .where(col(GroupContactScore.contact_id) == contact_id).order_by(col(PointGroup.name))
    ).all()
    return [{"group_id": r.id, "name": r.name, "score": r.score} for r in rows]


# ---------------------------------------------------------------- actions


def list_actions(*, session: Session, search: str = "", start: int = 0, limit: int = 30, order_by: str = "name",
                 direction: str = "asc", published_only: bool = False) -> tuple[list[PointAction], int]:
    return _page(session, PointAction, search=search, start=start, limit=limit, order_by=order_by, direction=direction,
                 sorts=ACTION_SORTS, published_only=published_only)


def get_action(*, session: Session, action_id: int) -> PointAction | None:
    return session.get(PointAction, action_id)


def save_action(
    *, session: Session, action_id: int | None, name: Any, type: Any, delta: Any, description: Any = "",
    group_id: Any = None, repeatable: bool = False, properties: dict[str, Any] | None = None, is_published: bool = True,
    publish_up: Any = None, publish_down: Any = None,
) -> PointAction:
    """Create (``action_id`` None) or replace a point action; raises PointError with every problem at once."""
    errors: dict[str, str] = {}
    clean_name = _name(errors, name)
    text = _description(errors, description)
    points = _whole(errors, "delta", delta, low=-rules.MAX_DELTA, high=rules.MAX_DELTA, what="The points change")
    group = _group(errors, session, group_id)
    up, down = _window(errors, publish_up, publish_down)
    kind, props = None, {}
    try:
        kind = rules.action_type(type)
        props = rules.validate_properties(kind, properties if isinstance(properties, dict) else {})
    except rules.PointRuleError as exc:
        errors |= exc.errors
    if properties is not None and not isinstance(properties, dict):
        errors["properties"] = "Properties are an object of settings."
    action = session.get(PointAction, action_id) if action_id else PointAction(name=clean_name, type=str(type))
    if action is None:
        raise PointError({"id": "This point action no longer exists."}, status=404)
    if errors or kind is None:
        raise PointError(errors)
    action.name, action.description, action.type, action.delta = clean_name, text, kind.key, points
    action.group_id, action.repeatable, action.properties = group, bool(repeatable), props
    action.is_published, action.publish_up, action.publish_down = bool(is_published), up, down
    session.add(action)
    session.flush()
    _publish(session, "point_actions", [cast(int, action.id)], "saved")
    return action


def delete_actions(*, session: Session, action_ids: Iterable[int]) -> int:
    ids = [int(i) for i in action_ids]
    if not ids:
        return 0
    session.execute(sa.delete(PointActionLog).where(col(PointActionLog.action_id).in_(ids)))
    n = rows_changed(session.execute(sa.delete(PointAction).where(col(PointAction.id).in_(ids))))
    _publish(session, "point_actions", ids, "deleted")
    return n


# ---------------------------------------------------------------- triggers


def list_triggers(*, session: Session, search: str = "", start: int = 0, limit: int = 30, order_by: str = "name",
                  direction: str = "asc", published_only: bool = False) -> tuple[list[PointTrigger], int]:
    return _page(session, PointTrigger, search=search, start=start, limit=limit, order_by=order_by, direction=direction,
                 sorts=TRIGGER_SORTS, published_only=published_only)


def get_trigger(*, session: Session, trigger_id: int) -> PointTrigger | None:
    return session.get(PointTrigger, trigger_id)


def events_of(*, session: Session, trigger_ids: Iterable[int]) -> dict[int, list[PointTriggerEvent]]:
    """The events of many triggers in one query, each trigger's in order."""
    ids = list(trigger_ids)
    out: dict[int, list[PointTriggerEvent]] = {i: [] for i in ids}
    if ids:
        for event in session.exec(
            select(PointTriggerEvent).where(col(PointTriggerEvent.trigger_id).in_(ids))
            .order_by(col(PointTriggerEvent.event_order), col(PointTriggerEvent.id))
        ).all():
            out[event.trigger_id].append(event)
    return out


MAUTIC_SEGMENT_KEYS = {"addToLists": "add_to_segments", "removeFromLists": "remove_from_segments"}


def _check_segments(session: Session, properties: dict[str, Any]) -> None:
    """A "modify segments" event names segments that exist."""
    for key in ("add_to_segments", "remove_from_segments"):
        found = set(segments.existing_ids(session=session, ids=properties.get(key) or []))
        missing = [i for i in properties.get(key) or [] if i not in found]
        if missing:
            raise rules.PointRuleError({key: "No segment has the id " + ", ".join(map(str, missing)) + "."})


def _clean_events(session: Session, errors: dict[str, str], raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors["events"] = "Events are a list."
        return []
    if len(raw) > MAX_EVENTS:
        errors["events"] = f"A trigger has at most {MAX_EVENTS} events."
        return []
    clean = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors[f"events.{i}"] = "Each event is an object with a type and properties."
            continue
        event_id = item.get("id")
        entry: dict[str, Any] = {"id": int(str(event_id)) if str(event_id or "").isdigit() else None}
        try:
            kind = rules.trigger_event_type(item.get("type"))
            props = item.get("properties")
            if props is not None and not isinstance(props, dict):
                raise rules.PointRuleError({"properties": "Properties are an object of settings."})
            if kind.key == "segments.modify" and props:  # Mautic's names for the two lists
                props = {MAUTIC_SEGMENT_KEYS.get(k, k): v for k, v in props.items()}
            entry["type"], entry["properties"] = kind.key, rules.validate_properties(kind, props)
            if kind.key == "segments.modify":
                _check_segments(session, entry["properties"])
        except rules.PointRuleError as exc:
            errors |= {f"events.{i}.{k}": v for k, v in exc.errors.items()}
            continue
        name = str(item.get("name") or "").strip()
        if len(name) > rules.MAX_NAME:
            errors[f"events.{i}.name"] = f"Keep the name under {rules.MAX_NAME} characters."
        entry["name"] = name or kind.label
        clean.append(entry)
    return clean


def save_trigger(
    *, session: Session, trigger_id: int | None, name: Any, points: Any, description: Any = "", group_id: Any = None,
    color: Any = rules.DEFAULT_COLOR, trigger_existing: bool = False, is_published: bool = True, publish_up: Any = None,
    publish_down: Any = None, events: list[dict[str, Any]] | None = None,
) -> PointTrigger:
    """Create or replace a trigger; ``events`` (None keeps the current ones) replace its events in order.

    An event keeps its id (and so whom it already fired for) when the list names it. With
    ``trigger_existing`` the events then run for contacts already at the threshold.
    """
    errors: dict[str, str] = {}
    clean_name = _name(errors, name)
    text = _description(errors, description)
    threshold = _whole(errors, "points", points, low=-rules.MAX_THRESHOLD, high=rules.MAX_THRESHOLD, what="Minimum points")
    group = _group(errors, session, group_id)
    up, down = _window(errors, publish_up, publish_down)
    hex_color = rules.DEFAULT_COLOR
    try:
        hex_color = rules.normalize_color(color)
    except ValueError as exc:
        errors["color"] = str(exc)
    clean_events = _clean_events(session, errors, events) if events is not None else None
    trigger = session.get(PointTrigger, trigger_id) if trigger_id else PointTrigger(name=clean_name)
    if trigger is None:
        raise PointError({"id": "This trigger no longer exists."}, status=404)
    if errors:
        raise PointError(errors)
    trigger.name, trigger.description, trigger.points, trigger.group_id = clean_name, text, threshold, group
    trigger.color, trigger.trigger_existing, trigger.is_published = hex_color, bool(trigger_existing), bool(is_published)
    trigger.publish_up, trigger.publish_down = up, down
    session.add(trigger)
    session.flush()
    trigger_id = cast(int, trigger.id)  # flushed, so it has its id
    if clean_events is not None:
        _replace_events(session, trigger_id, clean_events)
    _publish(session, "point_triggers", [trigger_id], "saved")
    if trigger.trigger_existing:
        apply_trigger_to_existing(session=session, trigger_id=trigger_id)
    return trigger


def _replace_events(session: Session, trigger_id: int, events: list[dict[str, Any]]) -> None:
    current = {e.id: e for e in events_of(session=session, trigger_ids=[trigger_id])[trigger_id]}
    kept: set[int] = set()
    for order, item in enumerate(events, start=1):
        event = current.get(item["id"]) if item["id"] else None
        if event is None or event.id in kept:
            event = PointTriggerEvent(trigger_id=trigger_id, type=item["type"])
        event.type, event.name, event.properties, event.event_order = item["type"], item["name"], item["properties"], order
        session.add(event)
        session.flush()
        kept.add(cast(int, event.id))
    gone = [i for i in current if i not in kept]
    if gone:
        session.execute(sa.delete(PointTriggerLog).where(col(PointTriggerLog.event_id).in_(gone)))
        session.execute(sa.delete(PointTriggerEvent).where(col(PointTriggerEvent.id).in_(gone)))


def delete_triggers(*, session: Session, trigger_ids: Iterable[int]) -> int:
    ids = [int(i) for i in trigger_ids]
    if not ids:
        return 0
    event_ids = sa.select(col(PointTriggerEvent.id)).where(col(PointTriggerEvent.trigger_id).in_(ids))
    session.execute(sa.delete(PointTriggerLog).where(col(PointTriggerLog.event_id).in_(event_ids)))
    session.execute(sa.delete(PointTriggerEvent).where(col(PointTriggerEvent.trigger_id).in_(ids)))
    n = rows_changed(session.execute(sa.delete(PointTrigger).where(col(PointTrigger.id).in_(ids))))
    _publish(session, "point_triggers", ids, "deleted")
    return n


# ---------------------------------------------------------------- scoring


def has_actions(*, session: Session, action_type: str) -> bool:
    """Whether any published point action scores ``action_type`` (a writer of many events skips scoring when none does)."""
    return session.exec(select(PointAction.id).where(PointAction.type == action_type, PointAction.is_published == sa.true()).limit(1)).first() is not None


def has_triggers(*, session: Session) -> bool:
    """Whether any published point trigger exists (a writer of many score changes skips checking them when none does)."""
    return session.exec(select(PointTrigger.id).where(PointTrigger.is_published == sa.true()).limit(1)).first() is not None


def score(*, session: Session, contact_id: int, action_type: str, context: dict[str, Any], at: datetime | None = None) -> int:
    """Apply every live action of ``action_type`` that matches ``context``; returns the change to total points.

    Runs inside the caller's transaction with one query when nothing matches. Once-only actions
    score a contact once (a concurrent second attempt loses at the log's primary key); then
    newly reached triggers run.
    """
    at = at or utcnow()
    candidates = [
        a for a in session.exec(select(PointAction).where(PointAction.type == action_type, PointAction.is_published == sa.true()))
        if rules.is_live(is_published=True, publish_up=a.publish_up, publish_down=a.publish_down, at=at) and rules.matches(a, context)
    ]
    if not candidates:
        return 0
    if _total(session, contact_id) is None:
        raise contacts.ContactError({"id": f"Contact {contact_id} not found."}, status=404)
    once = [a.id for a in candidates if not a.repeatable]
    first_time: set[int] = set()
    if once:
        first_time = set(session.execute(
            _insert(session, PointActionLog).values([{"action_id": i, "contact_id": contact_id, "times": 1, "date_fired": at} for i in once])
            .on_conflict_do_nothing(index_elements=["action_id", "contact_id"]).returning(col(PointActionLog.action_id))
        ).scalars())
    repeat = [a.id for a in candidates if a.repeatable]
    if repeat:
        stmt = _insert(session, PointActionLog).values(
            [{"action_id": i, "contact_id": contact_id, "times": 1, "date_fired": at} for i in repeat])
        session.execute(stmt.on_conflict_do_update(
            index_elements=["action_id", "contact_id"],
            set_={"times": PointActionLog.times + 1, "date_fired": stmt.excluded.date_fired},
        ))
    applied = [a for a in candidates if rules.scores_now(repeatable=a.repeatable, scored_before=a.id not in first_time)]
    if not applied:
        return 0
    change = 0
    for action in applied:
        if action.group_id is not None:
            _change_group(session, contact_id, action.group_id, action.delta, reason=action.name, at=at)
        elif action.delta:
            contacts.change_points(session=session, contact_id=contact_id, operation="plus", amount=action.delta, reason=action.name)
            change += action.delta
    run_triggers(session=session, contact_id=contact_id, at=at)
    return change


def adjust(*, session: Session, contact_id: int, delta: int, reason: str, group_id: int | None = None,
           user_id: int | None = None) -> int:
    """Add (or, negative, take away) points by hand or through the API, then run triggers; returns the new score.

    With ``group_id`` the contact's score in that group changes instead of its total.
    """
    if _total(session, contact_id) is None:
        raise contacts.ContactError({"id": f"Contact {contact_id} not found."}, status=404)
    errors: dict[str, str] = {}
    amount = _whole(errors, "delta", delta, low=-rules.MAX_DELTA, high=rules.MAX_DELTA, what="The points change")
    group = _group(errors, session, group_id)
    if errors:
        raise PointError(errors)
    reason = (str(reason or "").strip() or "Manual")[: rules.MAX_NAME]
    if group is not None:
        new = _change_group(session, contact_id, group, amount, reason=reason, at=utcnow(), user_id=user_id)
    else:
        new = contacts.change_points(session=session, contact_id=contact_id, operation="plus", amount=amount, reason=reason,
                                     user_id=user_id)
    run_triggers(session=session, contact_id=contact_id)
    return new


def _total(session: Session, contact_id: int) -> int | None:
    return session.execute(sa.select(col(Contact.points)).where(col(Contact.id) == contact_id)).scalar()


def _change_group(session: Session, contact_id: int, group_id: int, delta: int, *, reason: str, at: datetime,
                  user_id: int | None = None) -> int:
    """Add ``delta`` to the contact's score in a group (atomically, starting from 0); log it on the timeline."""
    stmt = _insert(session, GroupContactScore).values(group_id=group_id, contact_id=contact_id, score=delta)
    new: int = session.execute(stmt.on_conflict_do_update(
        index_elements=["group_id", "contact_id"], set_={"score": col(GroupContactScore.score) + delta},
    ).returning(col(GroupContactScore.score))).scalar_one()
    name = session.execute(sa.select(col(PointGroup.name)).where(col(PointGroup.id) == group_id)).scalar()
    timeline.log(session=session, contact_id=contact_id, event_type="group_points", user_id=user_id, at=at,
                 details={"group_id": group_id, "group": name, "old": new - delta, "new": new, "delta": delta, "reason": reason})
    changefeed.publish_after_commit(session, "contacts", {"ids": [contact_id], "action": "points"})
    return new


# ---------------------------------------------------------------- triggers firing


def run_triggers(*, session: Session, contact_id: int, at: datetime | None = None) -> list[int]:
    """Run each live trigger event the contact has reached and not yet had; returns the events' ids.

    Every event runs once per contact: the log's primary key decides, even between two
    transactions racing for the same contact.
    """
    at = at or utcnow()
    fired = sa.exists().where(col(PointTriggerLog.event_id) == col(PointTriggerEvent.id), col(PointTriggerLog.contact_id) == contact_id)
    rows = [
        r for r in session.execute(
            sa.select(col(PointTriggerEvent.id), col(PointTriggerEvent.type), col(PointTriggerEvent.properties), col(PointTrigger.points),
                      col(PointTrigger.group_id), col(PointTrigger.publish_up), col(PointTrigger.publish_down))
            .join(PointTrigger, col(PointTrigger.id) == col(PointTriggerEvent.trigger_id))
            .where(col(PointTrigger.is_published) == sa.true(), ~fired)
            .order_by(col(PointTrigger.points), col(PointTrigger.id), col(PointTriggerEvent.event_order), col(PointTriggerEvent.id))
        )
        if rules.is_live(is_published=True, publish_up=r.publish_up, publish_down=r.publish_down, at=at)
    ]
    if not rows:
        return []
    total = _total(session, contact_id) or 0
    scores = dict(session.execute(
        sa.select(col(GroupContactScore.group_id), col(GroupContactScore.score)).where(col(GroupContactScore.contact_id) == contact_id)
    ).all())
    due = [r for r in rows if _runnable(r.type)
           and rules.threshold_reached(points=r.points, group_id=r.group_id, total=total, group_scores=scores)]
    if not due:
        return []
    won = set(session.execute(
        _insert(session, PointTriggerLog).values([{"event_id": r.id, "contact_id": contact_id, "date_fired": at} for r in due])
        .on_conflict_do_nothing(index_elements=["event_id", "contact_id"]).returning(col(PointTriggerLog.event_id))
    ).scalars())
    for row in due:
        if row.id in won:
            _run_event(session, row.type, row.properties or {}, [contact_id])
    return [r.id for r in due if r.id in won]


def _runnable(event_type: str) -> bool:
    kind = rules.TRIGGER_EVENT_TYPES.get(event_type)
    return kind is not None and kind.available


def _run_event(session: Session, event_type: str, properties: dict[str, Any], contact_ids: list[int]) -> None:
    if event_type == "tags.modify":
        contacts.modify_tags(session=session, contact_ids=contact_ids, tags=rules.tag_changes(properties))
    elif event_type == "segments.modify":  # by hand: the contact stays in (or out) whatever the filters say
        segments.change_by_hand(session=session, contact_ids=contact_ids, add=properties.get("add_to_segments") or [],
                                remove=properties.get("remove_from_segments") or [])
    elif event_type == "email.send":
        for email_id in properties.get("emails") or []:
            for contact_id in contact_ids:
                try:
                    email_sends.send_to_contact(session=session, email_id=int(email_id), contact_id=contact_id, source="point_trigger")
                except email_sends.SendError as exc:  # deleted or unpublished since: the other events still run
                    log.warning("point trigger could not send e-mail %s to %s: %s", email_id, contact_id, exc)


def apply_trigger_to_existing(*, session: Session, trigger_id: int) -> int:
    """Run a trigger's events for every contact already at its threshold who has not had them.

    Set-based: contacts are chosen by one query per chunk, logged in bulk and changed in bulk.
    Returns how many (contact, event) pairs ran.
    """
    trigger = session.get(PointTrigger, trigger_id)
    now = utcnow()
    if trigger is None or not rules.is_live(is_published=trigger.is_published, publish_up=trigger.publish_up,
                                            publish_down=trigger.publish_down, at=now):
        return 0
    ran = 0
    for event in events_of(session=session, trigger_ids=[trigger_id])[trigger_id]:
        if not _runnable(event.type):
            continue
        after = 0
        while True:
            ids = _reached_without(session, trigger, cast(int, event.id), after)
            if not ids:
                break
            session.execute(sa.insert(PointTriggerLog), [{"event_id": event.id, "contact_id": c, "date_fired": now} for c in ids])
            _run_event(session, event.type, event.properties or {}, ids)
            ran += len(ids)
            after = ids[-1]
    return ran


def _reached_without(session: Session, trigger: PointTrigger, event_id: int, after: int) -> list[int]:
    """The next chunk of contact ids (above ``after``) at the trigger's threshold without this event."""
    fired = sa.exists().where(col(PointTriggerLog.event_id) == event_id, col(PointTriggerLog.contact_id) == col(Contact.id))
    if trigger.group_id is None:
        q = sa.select(col(Contact.id)).where(col(Contact.points) >= trigger.points)
    else:
        q = sa.select(col(Contact.id)).join(GroupContactScore, sa.and_(
            col(GroupContactScore.contact_id) == col(Contact.id), col(GroupContactScore.group_id) == trigger.group_id,
        )).where(col(GroupContactScore.score) >= trigger.points)
    return list(session.execute(q.where(col(Contact.id) > after, ~fired).order_by(col(Contact.id)).limit(EXISTING_CHUNK)).scalars())


def trigger_counts(*, session: Session, trigger_ids: list[int]) -> dict[int, int]:
    """How many contacts each trigger has fired for (any of its events)."""
    if not trigger_ids:
        return {}
    return dict(session.execute(
        sa.select(col(PointTriggerEvent.trigger_id), sa.func.count(sa.distinct(col(PointTriggerLog.contact_id))))
        .join(PointTriggerLog, col(PointTriggerLog.event_id) == col(PointTriggerEvent.id))
        .where(col(PointTriggerEvent.trigger_id).in_(trigger_ids)).group_by(col(PointTriggerEvent.trigger_id))
    ).all())


def group_names(*, session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(col(PointGroup.id), col(PointGroup.name)).where(col(PointGroup.id).in_(wanted))).all())
