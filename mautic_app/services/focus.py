"""Focus items: saving them, what visitors did with them (views, clicks, conversions), and which
published items the tracking script should load on a page.

Every write publishes on the change feed after it commits: ``focus`` ({"ids": [...], "action":
"saved" | "deleted" | "stat"}), so list and stats pages follow live.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import cache, changefeed, db
from mautic_app.domain import focus as rules
from mautic_app.models import ContactDevice, FocusItem, FocusStat, Form
from mautic_app.models.base import utcnow
from mautic_app.services import timeline

FocusError = rules.FocusError
TOPIC = "focus"


# ------------------------------------------------------------------ items


def get_focus(*, session: Session, focus_id: int) -> FocusItem:
    item = session.get(FocusItem, focus_id) if 0 < focus_id < 2**31 else None
    if item is None:
        raise FocusError({"id": "No such focus item."}, 404)
    return item


def current_values(item: FocusItem) -> dict[str, Any]:
    return {"name": item.name, "description": item.description, "type": item.type, "style": item.style,
            "form_id": item.form_id, "is_published": item.is_published, "properties": dict(item.properties or {})}


def save_focus(*, session: Session, focus_id: int | None = None, values: dict[str, Any], user_id: int | None = None,
               replace: bool = False, utm_tags: dict[str, str] | None = None) -> FocusItem:
    """Create or change a focus item. ``values`` may be partial (they change the stored ones) unless
    ``replace``; ``properties`` are the flat settings :mod:`mautic_app.domain.focus` checks. ``utm_tags``
    (the API's) replace the stored ones when given; a replaced item without them has none."""
    item = get_focus(session=session, focus_id=focus_id) if focus_id else None
    current = None if item is None or replace else current_values(item)
    clean = rules.clean_item(values, current=current)
    if clean["form_id"] is not None and session.get(Form, clean["form_id"]) is None:
        raise FocusError({"form_id": "That form does not exist."})
    publish: dict[str, datetime | None] = {}
    for key in ("publish_up", "publish_down"):
        if key in values:
            publish[key] = rules.parse_when(values[key])
    if item is None:
        item = FocusItem(name=clean["name"], created_by=user_id)
    up = publish.get("publish_up", None if replace else item.publish_up)
    down = publish.get("publish_down", None if replace else item.publish_down)
    if up and down and rules.as_utc(down) <= rules.as_utc(up):
        raise FocusError({"publish_down": "Unpublishing must come after publishing."})
    if clean["is_published"] and (down is None or rules.as_utc(down) > utcnow()):
        problem = rules.live_budget_error(len(clean["properties"]["show_on"]), _live_patterns(session, exclude=item.id))
        if problem:
            raise FocusError({"show_on": problem})
    for key, value in clean.items():
        setattr(item, key, value)
    item.publish_up, item.publish_down = up, down
    if utm_tags is not None or replace:
        item.utm_tags = {k: v[:191] for k, v in (utm_tags or {}).items()}
    if focus_id:
        item.date_modified = utcnow()
    session.add(item)
    session.flush()
    changefeed.publish_after_commit(session, TOPIC, {"ids": [item.id], "action": "saved"})
    return item


def delete_focus(*, session: Session, focus_id: int) -> None:
    item = get_focus(session=session, focus_id=focus_id)
    session.execute(sa.delete(FocusStat).where(col(FocusStat.focus_id) == focus_id))
    session.delete(item)
    session.flush()
    changefeed.publish_after_commit(session, TOPIC, {"ids": [focus_id], "action": "deleted"})


def list_focus(*, session: Session, search: str = "", start: int = 0, limit: int = 30,
               published_only: bool = False) -> tuple[int, list[FocusItem]]:
    q = select(FocusItem)
    if search.strip():
        term = f"%{search.strip().lower()}%"
        q = q.where(sa.or_(sa.func.lower(FocusItem.name).like(term), sa.func.lower(FocusItem.description).like(term)))
    if published_only:
        q = q.where(col(FocusItem.is_published).is_(True))
    total = session.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
    rows = session.exec(q.order_by(col(FocusItem.name), col(FocusItem.id)).offset(max(0, start)).limit(max(1, min(limit, 500)))).all()
    return total, list(rows)


def live_item(*, session: Session, focus_id: int) -> FocusItem | None:
    """The item if a site may show it now (published, inside its window), else None."""
    if not 0 < focus_id < 2**31:
        return None
    item = session.get(FocusItem, focus_id)
    if item is None or not rules.is_live(item.is_published, item.publish_up, item.publish_down, utcnow()):
        return None
    return item


def script_for(*, session: Session, focus_id: int, base: str) -> str | None:
    """The ``/focus/{id}.js`` body, or None when no site may show the item."""
    item = live_item(session=session, focus_id=focus_id)
    if item is None:
        return None
    return rules.render_script(rules.script_config(
        focus_id=cast(int, item.id), name=item.name, item_type=item.type, style=item.style, form_id=item.form_id,
        properties=item.properties or {}, base=base))


def form_choices(*, session: Session) -> list[dict[str, str]]:
    """Forms a form-type item may show (id and name)."""
    rows = session.execute(sa.select(col(Form.id), col(Form.name)).order_by(col(Form.name), col(Form.id)).limit(500)).all()
    return [{"value": str(i), "label": n} for i, n in rows]


# ------------------------------------------------------------------ what visitors did


def contact_of_device(*, session: Session, device_id: str | None) -> int | None:
    if not device_id:
        return None
    contact_id: int | None = session.execute(
        sa.select(col(ContactDevice.contact_id)).where(col(ContactDevice.tracking_id) == device_id)).scalar()
    return contact_id


def record_stat(*, session: Session, focus_id: int, stat_type: str, device_id: str | None = None,
                at: datetime | None = None) -> bool:
    """One view, click or conversion; on the contact's timeline when the device is a known one.

    Unknown items and types are ignored (False); an unknown device records an anonymous stat.
    """
    if stat_type not in rules.STAT_TYPES or not 0 < focus_id < 2**31:
        return False
    item = session.get(FocusItem, focus_id)
    if item is None:
        return False
    contact_id = contact_of_device(session=session, device_id=device_id)
    at = at or utcnow()
    session.add(FocusStat(focus_id=focus_id, type=stat_type, contact_id=contact_id, date_added=at))
    if contact_id is not None:
        timeline.log(session=session, contact_id=contact_id, event_type=f"focus_{stat_type}",
                     details={"name": item.name, "focus_id": focus_id}, at=at)
    session.flush()
    changefeed.publish_after_commit(session, TOPIC, {"ids": [focus_id], "action": "stat"})
    return True


def stat_totals(*, session: Session, focus_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """focus id → {"view": n, "click": n, "conversion": n}."""
    q = sa.select(col(FocusStat.focus_id), col(FocusStat.type), sa.func.count()).group_by(col(FocusStat.focus_id), col(FocusStat.type))
    if focus_ids is not None:
        if not focus_ids:
            return {}
        q = q.where(col(FocusStat.focus_id).in_(focus_ids))
    out: dict[int, dict[str, int]] = {}
    for focus_id, kind, n in session.execute(q).all():
        out.setdefault(focus_id, dict.fromkeys(rules.STAT_TYPES, 0))[kind] = n
    return out


def stats_per_day(*, session: Session, focus_id: int, start: date, end: date) -> dict[str, list[tuple[date, int]]]:
    """Views, clicks and conversions per UTC day from ``start`` to ``end`` (both included, zeros filled)."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    if session.get_bind().dialect.name == "sqlite":
        day = sa.func.date(FocusStat.date_added)
    else:
        day = sa.func.date(sa.func.timezone("UTC", FocusStat.date_added))
    counts: dict[tuple[str, date], int] = {}
    for kind, d, n in session.execute(
        sa.select(col(FocusStat.type), day, sa.func.count())
        .where(col(FocusStat.focus_id) == focus_id, col(FocusStat.date_added) >= lo, col(FocusStat.date_added) < hi)
        .group_by(col(FocusStat.type), day)
    ).all():
        counts[(kind, d if isinstance(d, date) else date.fromisoformat(str(d)[:10]))] = n
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return {kind: [(d, counts.get((kind, d), 0)) for d in days] for kind in rules.STAT_TYPES}


# ------------------------------------------------------------------ which items a page loads


def _live(query: Any) -> Any:
    """Published items that are not over (they may be showing now, or soon)."""
    return query.where(col(FocusItem.is_published).is_(True),
                       sa.or_(col(FocusItem.publish_down).is_(None), col(FocusItem.publish_down) > utcnow()))


def _live_patterns(session: Session, *, exclude: int | None) -> int:
    """How many page addresses the other live items use: every tracked hit is matched against them all."""
    rows = session.execute(_live(sa.select(col(FocusItem.properties))).where(col(FocusItem.id) != (exclude or 0))).scalars()
    return sum(len(props.get("show_on") or []) for props in rows if isinstance(props, dict))


def published_show_on(*, session: Session) -> rules.ShowOnIndex:
    rows = session.execute(
        _live(sa.select(col(FocusItem.id), col(FocusItem.properties), col(FocusItem.publish_up), col(FocusItem.publish_down)))).all()
    return rules.ShowOnIndex.build(
        (i, (props or {}).get("show_on") or [], up, down) for i, props, up, down in rows if isinstance(props, dict))


# The tracking route matches every hit against the live items' patterns: kept until an item is saved or
# deleted (their statistics, published on the same topic, leave it alone). No expiry is needed: the index
# holds each item's publishing window and checks it at every match.
SHOW_ON: cache.Cache[None, rules.ShowOnIndex] = cache.named("focus_show_on", topics=[f"{TOPIC}:saved,deleted"])


def cached_show_on() -> rules.ShowOnIndex:
    def load() -> rules.ShowOnIndex:
        with db.session_scope() as session:
            return published_show_on(session=session)

    return SHOW_ON.get_or_load(None, load)


def show_on_if_fresh() -> rules.ShowOnIndex | None:
    return SHOW_ON.peek(None)
