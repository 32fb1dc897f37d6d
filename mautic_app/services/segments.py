"""Segments: saving them, who is in them, and keeping that up to date.

Membership is filtered members plus manual ones minus manual removals (spec/segments.md). A
rebuild is two set-based statements (add the new matches, remove those who stopped
matching), each also writing the timeline lines; contacts changed elsewhere are re-evaluated
against every segment shortly after their change commits (see :func:`update_contacts`).
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import changefeed, db
from mautic_app.domain import segments as rules
from mautic_app.domain.fields import FieldSpec, listed_values
from mautic_app.models import (
    CompanyContact,
    Contact,
    ContactDevice,
    ContactEvent,
    ContactTag,
    DoNotContact,
    Email,
    EmailClick,
    EmailLink,
    EmailStat,
    Form,
    FormSubmission,
    GroupContactScore,
    PageHit,
    PointGroup,
    Segment,
    SegmentContact,
    Tag,
    UtmTag,
)
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import contacts, stages
from mautic_app.services import fields as field_service

log = logging.getLogger(__name__)
REBUILD_TASK = "mautic.segments.rebuild"
SAMPLE_SIZE = 10
# Seconds after which the database gives up a statement: a costly regular expression on a big table
# must not hold a connection (and, for the count, a thread of the web process) for ever.
COUNT_SECONDS = 30  # the builder's live count
REBUILD_SECONDS = 900


class SegmentError(ValueError):
    def __init__(self, errors: dict[str, str], status: int = 400) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


# ------------------------------------------------------------------ the filter registry

_SYSTEM_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("date_added", "Date added", "datetime"),
    ("date_identified", "Date identified", "datetime"),
    ("date_modified", "Date modified", "datetime"),
)
_DEVICE_FIELDS = (("device_type", "Device type", "device"), ("device_brand", "Device brand", "device_brand"),
                  ("device_os", "Device OS", "device_os_name"), ("device_model", "Device model", "device_model"))
_UTM_FIELDS = tuple((f"utm_{k}", f"UTM {k}", f"utm_{k}") for k in ("campaign", "content", "medium", "source", "term"))
_HIT_FIELDS = (("hit_url", "Visited URL", "url", "url"), ("referer", "Page hit referrer", "referer", "url"),
               ("url_title", "Page hit title", "url_title", "text"), ("source", "Page hit source", "source", "text"),
               ("hit_url_date", "Visited URL date", "date_hit", "datetime"))
_DNC = (("dnc_bounced", "Bounced (e-mail)", "email", 2), ("dnc_unsubscribed", "Unsubscribed (e-mail)", "email", 1),
        ("dnc_manual_email", "Do not contact by hand (e-mail)", "email", 3), ("dnc_bounced_sms", "Bounced (text)", "sms", 2),
        ("dnc_unsubscribed_sms", "Unsubscribed (text)", "sms", 1), ("dnc_manual_sms", "Do not contact by hand (text)", "sms", 3))
_YES_NO = (("1", "Yes"), ("0", "No"))


def _options(spec: FieldSpec) -> tuple[tuple[str, str], ...]:
    """A field's values to pick from: its own list, or every country, time zone or locale."""
    listed = [o for o in (spec.properties.get("list") or []) if isinstance(o, str)] or listed_values(spec.type)
    return tuple((o, o) for o in listed)


def filter_fields(*, session: Session) -> dict[str, rules.FilterField]:
    """Every field a filter may use, keyed as Mautic keys them; option lists come from the data."""
    out: dict[str, rules.FilterField] = {}

    def add(f: rules.FilterField) -> None:
        out[f.key] = f

    for spec in field_service.specs(session=session, obj="contact"):
        options = _options(spec)
        add(rules.FilterField(spec.alias, spec.label, "Contact", spec.type, "contact", options=options))
    for key, label, type_ in _SYSTEM_FIELDS:
        add(rules.FilterField(key, label, "Contact", type_, "contact"))
    add(rules.FilterField("owner_id", "Owner", "Contact", "id", "contact",
                          options=tuple((str(u["id"]), u["name"]) for u in contacts.owners(session=session))))
    add(rules.FilterField("stage", "Stage", "Contact", "id", "contact", column="stage_id",
                          options=tuple((str(st.id), st.name) for st in stages.list_stages(session=session))))
    tags = contacts.tag_names(session=session)
    add(rules.FilterField("tags", "Tags", "Contact", "tags", "tags", options=tuple((t, t) for t in tags)))
    add(rules.FilterField("lead_email_domain", "E-mail domain", "Contact", "text", "email_domain"))
    segs = session.execute(sa.select(col(Segment.id), col(Segment.name)).order_by(col(Segment.name))).all()
    add(rules.FilterField("leadlist", "Segment membership", "Segments", "segments", "segments", options=tuple((str(i), n) for i, n in segs)))
    for spec in field_service.specs(session=session, obj="company"):
        options = _options(spec)
        add(rules.FilterField(spec.alias, spec.label, "Company", spec.type, "company", options=options, object="company"))
    for key, label, column in _DEVICE_FIELDS:
        add(rules.FilterField(key, label, "Devices", "text", "related", column=column, object="behaviors", extra={"table": "devices"}))
    for key, label, column in _UTM_FIELDS:
        add(rules.FilterField(key, label, "UTM", "text", "related", column=column, object="behaviors", extra={"table": "utm_tags"}))
    for key, label, column, type_ in _HIT_FIELDS:
        add(rules.FilterField(key, label, "Page hits", type_, "related", column=column, object="behaviors", extra={"table": "page_hits"}))
    submitted = session.execute(sa.select(col(Form.id), col(Form.name)).order_by(col(Form.name))).all()
    add(rules.FilterField("form_submit", "Submitted form", "Forms", "id", "related", column="form_id", object="behaviors",
                          options=tuple((str(i), n) for i, n in submitted), extra={"table": "form_submissions"}))
    mails = session.execute(sa.select(col(Email.id), col(Email.name)).order_by(col(Email.name))).all()
    for key, label, table in (("lead_email_sent", "Sent e-mail", "email_sent"), ("lead_email_received", "Read e-mail", "email_read"),
                              ("email_clicked_link", "Clicked a link in e-mail", "email_clicked")):
        add(rules.FilterField(key, label, "E-mails", "id", "related", column="email_id", object="behaviors",
                              options=tuple((str(i), n) for i, n in mails), extra={"table": table}))
    add(rules.FilterField("hit_url_count", "Page hits count", "Page hits", "number", "count", object="behaviors"))
    add(rules.FilterField("sessions", "Number of sessions", "Page hits", "number", "count", object="behaviors", extra={"sessions": True}))
    for key, label, channel, reason in _DNC:
        add(rules.FilterField(key, label, "Do not contact", "boolean", "dnc", options=_YES_NO, object="behaviors",
                              extra={"channel": channel, "reason": reason}))
    for group_id, name in session.execute(sa.select(col(PointGroup.id), col(PointGroup.name)).order_by(col(PointGroup.name))).all():
        add(rules.FilterField(f"group_points_{group_id}", f"{name} points", "Points", "number", "group_points",
                              object="behaviors", extra={"group_id": group_id}))
    return out


def _tables(session: Session) -> rules.Tables:
    return rules.Tables(
        contacts=field_service.table(session=session, obj="contact"),
        companies=field_service.table(session=session, obj="company"),
        company_contacts=table_of(CompanyContact), contact_tags=table_of(ContactTag), tags=table_of(Tag),
        segment_contacts=table_of(SegmentContact), page_hits=table_of(PageHit), devices=table_of(ContactDevice),
        utm_tags=table_of(UtmTag), do_not_contact=table_of(DoNotContact), group_scores=table_of(GroupContactScore),
        form_submissions=table_of(FormSubmission), **_email_activity(),
    )


def _email_activity() -> dict[str, Any]:
    stats, clicks, links = table_of(EmailStat), table_of(EmailClick), table_of(EmailLink)
    return {
        "email_sent": sa.select(stats.c.contact_id, stats.c.email_id).where(stats.c.status.in_(("sent", "unknown"))).subquery("email_sent"),
        "email_read": sa.select(stats.c.contact_id, stats.c.email_id).where(stats.c.is_read.is_(True)).subquery("email_read"),
        "email_clicked": sa.select(clicks.c.contact_id, links.c.email_id).join(links, links.c.id == clicks.c.link_id)
        .subquery("email_clicked"),
    }


def compiler(*, session: Session, now: datetime | None = None) -> rules.Compiler:
    def filters_of(segment_id: int) -> list[rules.SegmentFilter] | None:
        raw = session.execute(sa.select(col(Segment.filters)).where(col(Segment.id) == segment_id)).scalar_one_or_none()
        return None if raw is None else rules.parse_filters(raw)

    return rules.Compiler(fields=filter_fields(session=session), tables=_tables(session),
                          dialect=session.get_bind().dialect.name, now=now or utcnow(), segment_filters=filters_of)


# ------------------------------------------------------------------ saving


def alias_of(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:150] or "segment"


def save_segment(*, session: Session, segment_id: int | None = None, values: dict[str, Any], user_id: int | None = None) -> Segment:
    """Create or change a segment; filters are checked (and compiled, so circles are refused) first."""
    segment = get_segment(session=session, segment_id=segment_id) if segment_id else Segment(name="", alias="", created_by=user_id)
    errors: dict[str, str] = {}
    name = str(values.get("name", segment.name) or "").strip()
    if not name:
        errors["name"] = "A name is required."
    elif len(name) > 191:
        errors["name"] = "Keep the name under 191 characters."
    alias = alias_of(str(values.get("alias") or "") or (segment.alias if segment_id else name))
    if session.execute(sa.select(col(Segment.id)).where(col(Segment.alias) == alias, col(Segment.id) != (segment_id or 0))).first():
        if values.get("alias"):
            errors["alias"] = "Another segment has this alias."
        else:
            alias = _free_alias(session, alias)
    filters: list[rules.SegmentFilter] = []
    if "filters" in values:
        try:
            filters = rules.parse_filters(values["filters"])
            compiler(session=session).condition(filters, segment_id=segment.id or -1)
            _runs_on_database(session, filters)
        except rules.FilterError as exc:
            errors["filters"] = f"Filter {exc.index + 1}: {exc}" if exc.index is not None else str(exc)
    if errors:
        raise SegmentError(errors)
    segment.name, segment.alias = name, alias
    for key in ("public_name", "description", "category"):
        if key in values:
            setattr(segment, key, str(values[key] or "").strip()[:191 if key != "description" else 10000])
    for key in ("is_published", "is_global", "is_preference_center"):
        if key in values:
            setattr(segment, key, bool(values[key]) if not isinstance(values[key], str) else rules.as_bool(values[key]))
    if "filters" in values:
        segment.filters = [{"glue": f.glue, "field": f.field, "operator": f.operator, "value": f.value} for f in filters]
    if segment_id:
        segment.date_modified = utcnow()
    session.add(segment)
    session.flush()
    changefeed.publish_after_commit(session, "segments", {"ids": [segment.id], "action": "saved"})
    _rebuild_after_commit(session, cast(int, segment.id))  # flushed, so it has its id
    return segment


def queue_rebuild(segment_id: int) -> None:
    """Hand a rebuild to Celery ("Rebuild now"); if the broker is down, beat's full rebuild catches up."""
    db.send_task(REBUILD_TASK, segment_id)


def _rebuild_after_commit(session: Session, segment_id: int) -> None:
    """A saved segment is rebuilt once the save commits, so the worker sees its new filters."""
    db.enqueue(session, REBUILD_TASK, segment_id)


def _free_alias(session: Session, alias: str) -> str:
    taken = set(session.execute(sa.select(col(Segment.alias)).where(col(Segment.alias).like(f"{alias}%"))).scalars())
    n = 2
    while f"{alias}-{n}" in taken:
        n += 1
    return f"{alias}-{n}"


def get_segment(*, session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise SegmentError({"id": "No such segment."}, 404)
    return segment


def delete_segment(*, session: Session, segment_id: int) -> None:
    segment = get_segment(session=session, segment_id=segment_id)
    users = segments_using(session=session, segment_id=segment_id)
    if users:
        raise SegmentError({"id": "Other segments use this one in their filters: " + ", ".join(users[:5])}, 409)
    session.execute(sa.delete(SegmentContact).where(col(SegmentContact.segment_id) == segment_id))
    session.delete(segment)
    changefeed.publish_after_commit(session, "segments", {"ids": [segment_id], "action": "deleted"})


def segments_using(*, session: Session, segment_id: int) -> list[str]:
    """Names of the segments whose filters refer to this one (it cannot be deleted while they do)."""
    return [s.name for s in session.exec(select(Segment).where(Segment.id != segment_id).order_by(Segment.name)).all()
            if any(f.get("field") == "leadlist" and segment_id in _ids(f.get("value")) for f in s.filters or [])]


def _ids(value: Any) -> set[int]:
    out = set()
    for v in rules.value_list(value):
        try:
            out.add(int(v))
        except (TypeError, ValueError):
            pass
    return out


def list_segments(*, session: Session, search: str = "", start: int = 0, limit: int = 30) -> tuple[int, list[Segment]]:
    q = select(Segment)
    if search.strip():
        term = f"%{search.strip().lower()}%"
        q = q.where(sa.or_(sa.func.lower(Segment.name).like(term), sa.func.lower(Segment.alias).like(term)))
    total = session.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
    rows = session.exec(q.order_by(col(Segment.name), col(Segment.id)).offset(max(0, start)).limit(max(1, min(limit, 500)))).all()
    return total, list(rows)


def published_ids(*, session: Session) -> list[int]:
    return list(session.execute(sa.select(col(Segment.id)).where(col(Segment.is_published).is_(True)).order_by(col(Segment.id))).scalars())


# ------------------------------------------------------------------ who is in


def _runs_on_database(session: Session, filters: list[rules.SegmentFilter]) -> None:
    """PostgreSQL runs its own regular-expression engine: a pattern RE2 accepts but it refuses is
    refused here, with the filter's number, rather than failing every rebuild."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for i, f in enumerate(filters):
        if f.operator in ("regexp", "!regexp"):
            try:
                with session.begin_nested():
                    session.execute(sa.select(sa.literal("").regexp_match(str(f.value), flags="i")))
            except sa.exc.DBAPIError as exc:
                reason = str(exc.orig).splitlines()[0].removeprefix("invalid regular expression: ")
                raise rules.FilterError(f"The database cannot run this regular expression: {reason}.", i) from None


@contextmanager
def _time_limit(session: Session, seconds: float) -> Iterator[None]:
    """Statements in the block are cancelled after ``seconds``: PostgreSQL's statement timeout (put back
    after the block), SQLite's progress handler (it looks at the clock every hundred steps)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        deadline = time.monotonic() + seconds
        raw = connection.connection.driver_connection
        assert raw is not None  # a checked-out connection has its driver's
        raw.set_progress_handler(lambda: time.monotonic() > deadline, 100)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)
        return
    before = session.execute(sa.text("SELECT current_setting('statement_timeout')")).scalar_one()
    session.execute(sa.text("SELECT set_config('statement_timeout', :v, true)"), {"v": f"{max(1, round(seconds * 1000))}ms"})
    yield  # on an error the transaction is rolled back, and the setting with it
    session.execute(sa.text("SELECT set_config('statement_timeout', :v, true)"), {"v": before})


def _timed_out(exc: sa.exc.DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "57014" or str(exc.orig) == "interrupted"  # PostgreSQL, SQLite


def preview(*, session: Session, filters: Any, segment_id: int | None = None, sample: int = SAMPLE_SIZE) -> dict[str, Any]:
    """How many contacts the filters match now, and a few of them: the builder's live count."""
    parsed = rules.parse_filters(filters)
    comp = compiler(session=session)
    cond = comp.condition(parsed, segment_id=segment_id if segment_id else -1)
    _runs_on_database(session, parsed)
    c = comp.t.contacts
    # One pass: the window count sees every match before the limit keeps the newest few.
    try:
        with _time_limit(session, COUNT_SECONDS):
            rows = session.execute(
                sa.select(c.c.id, c.c.firstname, c.c.lastname, c.c.email, sa.func.count().over().label("total"))
                .where(cond).order_by(c.c.id.desc()).limit(max(1, sample))).all()
    except sa.exc.OperationalError as exc:
        if not _timed_out(exc):
            raise
        raise rules.FilterError(f"Counting took longer than {COUNT_SECONDS} seconds: narrow the filters.") from None
    total = rows[0].total if rows else 0
    return {"total": int(total), "sample": [
        {"id": r.id, "name": f"{r.firstname or ''} {r.lastname or ''}".strip() or r.email or f"Anonymous #{r.id}", "email": r.email or ""}
        for r in rows[:sample]]}


def rebuild(*, session: Session, segment_id: int) -> dict[str, Any]:
    """Bring the segment's filtered members up to date: add new matches, remove those who stopped
    matching (manual additions and removals stay as they are). Two statements, whatever the size."""
    segment = get_segment(session=session, segment_id=segment_id)
    started = time.perf_counter()
    now = utcnow()
    comp = compiler(session=session, now=now)
    cond = comp.condition(rules.parse_filters(segment.filters), segment_id=segment_id)
    with _time_limit(session, REBUILD_SECONDS):
        added, removed = _sync(session, segment, comp.t.contacts, cond, now)
    _refresh_count(session, segment)
    segment.last_built = now
    segment.build_seconds = round(time.perf_counter() - started, 3)
    session.add(segment)
    session.flush()
    if added or removed:
        changefeed.publish_after_commit(session, "segments", {"ids": [segment_id], "action": "rebuilt"})
    return {"added": added, "removed": removed, "total": segment.member_count, "seconds": segment.build_seconds}


def _sync(session: Session, segment: Segment, c: Any, cond: sa.ColumnElement[bool], now: datetime,
          among: list[int] | None = None) -> tuple[int, int]:
    """Add the contacts ``cond`` matches that are not in yet, remove the filtered members it no
    longer matches (rows added or removed by hand stay); only ``among`` these contacts if given."""
    m = table_of(SegmentContact)
    is_member = sa.exists().where(m.c.segment_id == segment.id, m.c.contact_id == c.c.id)
    joining = sa.select(c.c.id).where(cond, ~is_member, *([c.c.id.in_(among)] if among is not None else []))
    stays = sa.exists().where(c.c.id == m.c.contact_id, cond)
    leaving = sa.and_(m.c.segment_id == segment.id, m.c.manually_added.is_(False), m.c.manually_removed.is_(False), ~stays,
                      *([m.c.contact_id.in_(among)] if among is not None else []))
    return _add_rows(session, segment, joining, now), _remove_rows(session, segment, leaving, now)


def _event_values(segment: Segment, action: str, by: str, now: datetime) -> dict[str, Any]:
    return {"event_type": "segment", "occurred_at": now, "user_id": None,
            "details": {"segment_id": segment.id, "name": segment.name, "action": action, "by": by}}


def _add_rows(session: Session, segment: Segment, joining: sa.Select[int], now: datetime) -> int:
    """Insert memberships for the contacts ``joining`` selects, with an "added" line on each timeline."""
    m, e = table_of(SegmentContact), table_of(ContactEvent)
    ids = joining.subquery("joining")
    rows = sa.select(sa.literal(segment.id).label("segment_id"), ids.c.id.label("contact_id"), sa.literal(now, m.c.date_added.type),
                     sa.false(), sa.false())
    event = _event_values(segment, "added", "filter", now)
    if session.get_bind().dialect.name == "postgresql":
        # One pass: the inserted rows feed the timeline lines (a data-modifying CTE).
        inserted = sa.insert(m).from_select(["segment_id", "contact_id", "date_added", "manually_added", "manually_removed"], rows) \
            .returning(m.c.contact_id).cte("inserted")
        lines = sa.insert(e).from_select(["contact_id", *_EVENT_KEYS], sa.select(inserted.c.contact_id, *_event_columns(event))) \
            .returning(e.c.id).cte("lines")
        added: int = session.execute(sa.select(sa.func.count()).select_from(inserted).add_cte(lines)).scalar_one()
        return added
    session.execute(sa.insert(e).from_select(["contact_id", *_EVENT_KEYS], sa.select(ids.c.id, *_event_columns(event))))
    result = session.execute(sa.insert(m).from_select(["segment_id", "contact_id", "date_added", "manually_added", "manually_removed"], rows))
    return db.rows_changed(result)


def _remove_rows(session: Session, segment: Segment, leaving: sa.ColumnElement[bool], now: datetime) -> int:
    m, e = table_of(SegmentContact), table_of(ContactEvent)
    event = _event_values(segment, "removed", "filter", now)
    if session.get_bind().dialect.name == "postgresql":
        deleted = sa.delete(m).where(leaving).returning(m.c.contact_id).cte("deleted")
        lines = sa.insert(e).from_select(["contact_id", *_EVENT_KEYS], sa.select(deleted.c.contact_id, *_event_columns(event))) \
            .returning(e.c.id).cte("lines")
        removed: int = session.execute(sa.select(sa.func.count()).select_from(deleted).add_cte(lines)).scalar_one()
        return removed
    session.execute(sa.insert(e).from_select(["contact_id", *_EVENT_KEYS], sa.select(m.c.contact_id, *_event_columns(event)).where(leaving)))
    return db.rows_changed(session.execute(sa.delete(m).where(leaving)))


_EVENT_KEYS = ("event_type", "occurred_at", "user_id", "details")


def _event_columns(event: dict[str, Any]) -> list[Any]:
    e = table_of(ContactEvent)
    return [sa.literal(event[k], e.c[k].type).label(k) if k != "user_id" else sa.null().label(k) for k in _EVENT_KEYS]


def _refresh_count(session: Session, segment: Segment) -> None:
    m = table_of(SegmentContact)
    segment.member_count = int(session.execute(
        sa.select(sa.func.count()).select_from(m).where(m.c.segment_id == segment.id, m.c.manually_removed.is_(False))).scalar_one())


def add_contacts(*, session: Session, segment_id: int, contact_ids: list[int], user_id: int | None = None) -> int:
    """Add by hand: the contacts stay members whatever the filters say, until removed by hand."""
    return _set_manual(session, segment_id, contact_ids, add=True, user_id=user_id)


def remove_contacts(*, session: Session, segment_id: int, contact_ids: list[int], user_id: int | None = None) -> int:
    """Remove by hand: the filters will not add the contacts back."""
    return _set_manual(session, segment_id, contact_ids, add=False, user_id=user_id)


def change_by_hand(*, session: Session, contact_ids: list[int], add: Sequence[Any] = (), remove: Sequence[Any] = ()) -> None:
    """Add to and remove from segments by hand for an automated rule (a form action, a point
    trigger); a segment deleted since the rule was saved is skipped."""
    for ids, change in ((add, add_contacts), (remove, remove_contacts)):
        for segment_id in sorted(existing_ids(session=session, ids=ids)):  # one lock order for concurrent writers
            change(session=session, segment_id=segment_id, contact_ids=contact_ids)


def existing_ids(*, session: Session, ids: Sequence[Any]) -> list[int]:
    """Those of ``ids`` that are segments, in the order given."""
    wanted = [int(i) for i in ids if str(i).isdigit()]
    found = set(session.execute(sa.select(col(Segment.id)).where(col(Segment.id).in_(wanted))).scalars()) if wanted else set()
    return [i for i in dict.fromkeys(wanted) if i in found]


def _set_manual(session: Session, segment_id: int, contact_ids: list[int], *, add: bool, user_id: int | None) -> int:
    segment = get_segment(session=session, segment_id=segment_id)
    ids = sorted(existing_contacts(session=session, contact_ids=contact_ids))
    if not ids:
        return 0
    rows = {r.contact_id: r for r in session.exec(
        select(SegmentContact).where(SegmentContact.segment_id == segment_id, col(SegmentContact.contact_id).in_(ids))).all()}
    now, changed = utcnow(), []
    for cid in ids:
        row = rows.get(cid)
        was_member = row is not None and not row.manually_removed
        if row is None:
            row = SegmentContact(segment_id=segment_id, contact_id=cid, date_added=now)
        row.manually_added, row.manually_removed = add, not add
        if add and not was_member:
            row.date_added = now
        session.add(row)
        if was_member != add:
            changed.append(cid)
    session.flush()
    for cid in changed:
        session.add(ContactEvent(contact_id=cid, **_event_values(segment, "added" if add else "removed", "manual", now) | {"user_id": user_id}))
    _refresh_count(session, segment)
    session.add(segment)
    session.flush()
    if changed:
        changefeed.publish_after_commit(session, "segments", {"ids": [segment_id], "action": "members"})
        changefeed.publish_after_commit(session, "contacts", {"ids": changed, "action": "segments"})
    return len(changed)


def contact_exists(*, session: Session, contact_id: int) -> bool:
    return session.execute(sa.select(col(Contact.id)).where(col(Contact.id) == contact_id)).first() is not None


def existing_contacts(*, session: Session, contact_ids: list[int]) -> set[int]:
    return set(session.execute(sa.select(col(Contact.id)).where(col(Contact.id).in_(set(contact_ids)))).scalars()) if contact_ids else set()


def memberships(*, session: Session, contact_id: int) -> list[tuple[Segment, datetime, bool]]:
    """The segments a contact is in now, with when it joined and whether by hand."""
    return [tuple(r) for r in session.execute(
        sa.select(Segment, col(SegmentContact.date_added), col(SegmentContact.manually_added))
        .join(SegmentContact, col(SegmentContact.segment_id) == Segment.id)
        .where(col(SegmentContact.contact_id) == contact_id, col(SegmentContact.manually_removed).is_(False))
        .order_by(Segment.name)).all()]


def update_contacts(*, session: Session, contact_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Re-evaluate the given contacts against every published segment with filters (they changed
    elsewhere: an edit, an import, a page hit). Returns segment id → (added, removed)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    segments = [s for s in session.exec(select(Segment).where(col(Segment.is_published).is_(True))).all() if s.filters]
    if not segments:
        return {}
    now = utcnow()
    comp = compiler(session=session, now=now)
    out = {}
    for segment in segments:
        filters = rules.parse_filters(segment.filters)
        if not filters:
            continue
        try:
            cond = comp.condition(filters, segment_id=segment.id)
        except rules.FilterError:
            continue  # a segment broken by a deleted field or segment: its own page says so
        added, removed = _sync(session, segment, comp.t.contacts, cond, now, among=ids)
        if added or removed:
            segment.member_count += added - removed
            session.add(segment)
            out[cast(int, segment.id)] = (added, removed)
    if out:
        session.flush()
        changefeed.publish_after_commit(session, "segments", {"ids": sorted(out), "action": "members"})
        # Not "contacts": that topic re-evaluates segments; open contact pages follow this one too.
        changefeed.publish_after_commit(session, "segment_members", {"ids": ids[:1000]})
    return out
