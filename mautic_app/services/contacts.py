"""Contacts: the only writer of the contacts table and of what hangs off it.

Values travel as ``{alias: value}`` dicts checked against the field registry, so core and
custom fields take the same path. Every write logs a timeline event and, once committed,
tells the change feed.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from mautic_app import changefeed, db
from mautic_app.db import among, rows_changed, take_sqlite_write_lock
from mautic_app.domain import search as search_syntax
from mautic_app.domain.fields import FieldSpec, FieldValueError, is_anonymous, normalize_value
from mautic_app.models import (
    CampaignLog,
    Company,
    CompanyContact,
    Contact,
    ContactDevice,
    ContactEvent,
    ContactIpAddress,
    ContactTag,
    DoNotContact,
    EmailStat,
    FocusStat,
    FormSubmission,
    GroupContactScore,
    IpAddress,
    MergeRecord,
    Note,
    PageHit,
    PointActionLog,
    PointTriggerLog,
    Segment,
    SegmentContact,
    Stage,
    Tag,
    User,
    UtmTag,
)
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import bulk, companies, stages, timeline
from mautic_app.services import fields as field_service

DNC_REASONS = {1: "Unsubscribed", 2: "Bounced", 3: "Manual"}
NOTE_TYPES = ("general", "email", "call", "meeting")
POINT_OPERATIONS = ("plus", "minus", "times", "divide", "set")
SYSTEM_SORTS = {"id", "date_added", "date_modified", "last_active", "points", "date_identified"}
MAX_PAGE = 200
UI_COUNT_CAP = 100_000


class ContactError(ValueError):
    """Field-level problems (``errors``) or a missing contact (``status`` 404)."""

    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


def _missing(contact_id: int) -> ContactError:
    return ContactError({"id": f"Contact {contact_id} not found."}, status=404)


# ---------------------------------------------------------------- values


def clean_values(
    *, session: Session, values: dict[str, Any], creating: bool, public_only: bool = False,
    overwrite_with_blank: bool = False, check_required: bool = False,
) -> dict[str, Any]:
    """Validate submitted values against the field registry; unknown keys are ignored.

    Blank values are dropped unless ``overwrite_with_blank``; the literal ``NULL`` always clears.
    """
    specs = field_service.spec_map(session=session, obj="contact")
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for alias, raw in values.items():
        spec = specs.get(alias)
        if spec is None or (public_only and not spec.is_publicly_updatable):
            continue
        if isinstance(raw, str) and raw.strip() == "NULL":
            clean[alias] = None
            continue
        try:
            value = normalize_value(spec, raw)
        except FieldValueError as exc:
            errors[alias] = str(exc)
            continue
        if value is None and not overwrite_with_blank:
            continue
        if alias == "points" and value is None:
            value = 0
        clean[alias] = value
    if check_required:
        for spec in specs.values():
            if spec.is_required and clean.get(spec.alias) in (None, "") and (creating or spec.alias in values):
                errors[spec.alias] = f"{spec.label} is required."
    if errors:
        raise ContactError(errors)
    return clean


def default_values(specs: dict[str, FieldSpec]) -> dict[str, Any]:
    """The fields' default values a new contact starts with (fixed fields have none; a default that no
    longer passes its field's checks is left out)."""
    out = {}
    for spec in specs.values():
        if spec.default_value not in (None, "") and not spec.is_fixed:
            try:
                out[spec.alias] = normalize_value(spec, spec.default_value)
            except FieldValueError:
                continue
    return out


def find_existing(*, session: Session, values: dict[str, Any]) -> int | None:
    """A contact sharing any unique identifier value (OR across identifiers), oldest first."""
    specs = field_service.specs(session=session, obj="contact")
    t = field_service.table(session=session)
    conds = []
    for spec in specs:
        if spec.is_unique_identifier and values.get(spec.alias) not in (None, ""):
            v = values[spec.alias]
            if isinstance(v, str):
                conds.append(sa.func.lower(t.c[spec.alias]) == v.lower())
            else:
                conds.append(t.c[spec.alias] == v)
    if not conds:
        return None
    return session.execute(sa.select(t.c.id).where(sa.or_(*conds)).order_by(t.c.id).limit(1)).scalar()


def claim_identifiers(*, session: Session, values: dict[str, Any]) -> None:
    """Make this transaction the only one that may look up and then create a contact with these unique
    identifier values, until it ends: without it two requests with one new e-mail both find nobody and
    both create a contact. Call it before :func:`find_existing` when a miss leads to a create.

    PostgreSQL: one transaction-scoped advisory lock per identifier value (in a fixed order, so two
    callers never wait on each other crosswise). SQLite: its one write lock, taken now rather than at
    the first write, so the lookup that follows already sees every committed contact. Identifiers
    cannot be a unique index: which fields identify a contact is a setting, and duplicates may exist.
    """
    keys = sorted({
        f"mautic:contact:{spec.alias}:{str(values[spec.alias]).strip().lower()}"
        for spec in field_service.specs(session=session, obj="contact")
        if spec.is_unique_identifier and values.get(spec.alias) not in (None, "")
    })
    if not keys:
        return
    if session.get_bind().dialect.name == "postgresql":
        for key in keys:
            session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})
    else:
        take_sqlite_write_lock(session.connection())


# ---------------------------------------------------------------- reads


def read(*, session: Session, contact_id: int) -> dict[str, Any] | None:
    t = field_service.table(session=session)
    row = session.execute(sa.select(t).where(t.c.id == contact_id)).mappings().first()
    return dict(row) if row else None


def read_many(*, session: Session, ids: list[int], columns: Iterable[str] | None = None) -> dict[int, dict[str, Any]]:
    """Contacts' values by id: every column, or the id and those of ``columns`` that exist."""
    if not ids:
        return {}
    t = field_service.table(session=session)
    selected = [t] if columns is None else [t.c.id, *(t.c[c] for c in sorted(set(columns)) if c in t.c and c != "id")]
    rows = session.execute(sa.select(*selected).where(among(session, t.c.id, ids))).mappings().all()
    return {r["id"]: dict(r) for r in rows}


def resolve_merged_id(*, session: Session, contact_id: int) -> int | None:
    """A merged-away id leads to the contact that absorbed it."""
    return session.exec(select(col(MergeRecord.contact_id)).where(col(MergeRecord.merged_id) == contact_id)).first()


def tags_of(*, session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(
            sa.select(col(ContactTag.contact_id), col(Tag.tag)).join(Tag, col(Tag.id) == col(ContactTag.tag_id))
            .where(col(ContactTag.contact_id).in_(ids)).order_by(col(Tag.tag))
        ).all()
        for cid, tag in rows:
            out[cid].append(tag)
    return out


def details(*, session: Session, contact_id: int) -> dict[str, Any]:
    """Everything the detail page and the API show besides field values."""
    owner_id, stage_id = session.execute(
        sa.select(col(Contact.owner_id), col(Contact.stage_id)).where(col(Contact.id) == contact_id)
    ).one()
    owner = session.get(User, owner_id) if owner_id else None
    stage = session.get(Stage, stage_id) if stage_id else None
    companies = session.execute(
        sa.select(col(Company.id), col(Company.companyname), col(CompanyContact.is_primary), col(Company.score))
        .join(CompanyContact, col(CompanyContact.company_id) == col(Company.id))
        .where(col(CompanyContact.contact_id) == contact_id).order_by(col(CompanyContact.is_primary).desc(), col(Company.companyname))
    ).all()
    ips = session.execute(
        sa.select(col(IpAddress.id), col(IpAddress.ip_address)).join(ContactIpAddress, col(ContactIpAddress.ip_id) == col(IpAddress.id))
        .where(col(ContactIpAddress.contact_id) == contact_id).order_by(col(IpAddress.ip_address))
    ).all()
    return {
        "owner": {"id": owner.id, "username": owner.username, "name": owner.display_name} if owner else None,
        "stage": {"id": stage.id, "name": stage.name, "weight": stage.weight} if stage else None,
        "tags": tags_of(session=session, ids=[contact_id])[contact_id],
        "companies": [{"id": c.id, "name": c.companyname, "is_primary": bool(c.is_primary), "score": c.score} for c in companies],
        "ip_addresses": [{"id": i.id, "ip": i.ip_address} for i in ips],
        "do_not_contact": [
            {"id": d.id, "channel": d.channel, "reason": d.reason, "reason_label": DNC_REASONS.get(d.reason, ""),
             "comments": d.comments, "channel_id": d.channel_id, "date_added": d.date_added}
            for d in session.exec(select(DoNotContact).where(col(DoNotContact.contact_id) == contact_id)).all()
        ],
        "utm_tags": list(session.exec(select(UtmTag).where(col(UtmTag.contact_id) == contact_id).order_by(col(UtmTag.id).desc())).all()),
        "notes": list(session.exec(select(Note).where(col(Note.contact_id) == contact_id).order_by(col(Note.date_time).desc())).all()),
    }


# ---------------------------------------------------------------- list and search


@dataclass
class ContactPage:
    rows: list[dict[str, Any]]
    total: int
    total_capped: bool


def search_condition(*, session: Session, t: sa.TableClause, query: str, user_id: int | None) -> sa.ColumnElement[bool] | None:
    """Turn Mautic's search syntax into one SQL condition; values are always bound parameters."""
    conds = []
    for term in search_syntax.parse(query):
        cond = _term_condition(t, term, user_id)
        conds.append(sa.not_(cond) if term.negate else cond)
    return sa.and_(*conds) if conds else None


def _prefix(column: sa.ColumnElement[Any] | Mapped[Any], value: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(column).like(search_syntax.like_escape(value.lower()) + "%", escape="\\")


def _contains(column: sa.ColumnElement[Any] | Mapped[Any], value: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(column).like("%" + search_syntax.like_escape(value.lower()) + "%", escape="\\")


def _term_condition(t: sa.TableClause, term: search_syntax.Term, user_id: int | None) -> sa.ColumnElement[bool]:
    v = term.value
    if term.command is None:
        return sa.or_(*(_contains(t.c[a], v) for a in search_syntax.FREE_TEXT_FIELDS if a in t.c))
    if term.command == "email":
        return _prefix(t.c.email, v)
    if term.command == "name":
        return sa.or_(_prefix(t.c.firstname, v), _prefix(t.c.lastname, v))
    if term.command == "tag":
        return sa.exists(
            sa.select(1).select_from(ContactTag).join(Tag, col(Tag.id) == col(ContactTag.tag_id))
            .where(col(ContactTag.contact_id) == t.c.id, sa.func.lower(col(Tag.tag)) == v.lower())
        )
    if term.command == "company":
        return sa.or_(
            _prefix(t.c.company, v),
            sa.exists(
                sa.select(1).select_from(CompanyContact).join(Company, col(Company.id) == col(CompanyContact.company_id))
                .where(col(CompanyContact.contact_id) == t.c.id, _prefix(col(Company.companyname), v))
            ),
        )
    if term.command == "owner":
        owners = sa.select(col(User.id)).where(
            sa.or_(sa.func.lower(col(User.username)) == v.lower(), _prefix(col(User.first_name), v), _prefix(col(User.last_name), v))
        )
        return t.c.owner_id.in_(owners)
    if term.command == "stage":
        return t.c.stage_id.in_(sa.select(col(Stage.id)).where(sa.func.lower(col(Stage.name)) == v.lower()))
    if term.command == "segment":  # by alias, as Mautic; members now (filtered or added, not removed)
        return sa.exists().where(col(SegmentContact.contact_id) == t.c.id, col(SegmentContact.manually_removed).is_(False),
                                 col(SegmentContact.segment_id) == sa.select(col(Segment.id)).where(col(Segment.alias) == v.lower()).scalar_subquery())
    if term.command == "ids":
        return t.c.id.in_([int(i) for i in v.split(",")][:1000])
    if term.command == "import_id":  # created or updated by that import: its timeline line says so
        return t.c.id.in_(sa.select(col(ContactEvent.contact_id)).where(
            col(ContactEvent.event_type) == "imported", col(ContactEvent.details)["import_id"].as_integer() == int(v)))
    if term.command == "is":
        if v == "anonymous":
            return t.c.is_identified == sa.false()
        if v == "identified":
            return t.c.is_identified == sa.true()
        if v == "mine":
            return t.c.owner_id == (user_id or -1)
        return t.c.owner_id.is_(None)
    raise search_syntax.SearchError(f"Unknown search command {term.command}.")


def sortable_columns(*, session: Session) -> set[str]:
    return SYSTEM_SORTS | {s.alias for s in field_service.specs(session=session, obj="contact")}


def list_contacts(
    *, session: Session, search: str = "", order_by: str = "last_active", direction: str = "desc",
    start: int = 0, limit: int = 30, user_id: int | None = None, count_cap: int | None = UI_COUNT_CAP,
) -> ContactPage:
    """One page of contacts plus a total (exact up to ``count_cap``, so counting never dominates)."""
    t = field_service.table(session=session)
    where = search_condition(session=session, t=t, query=search, user_id=user_id)
    if order_by not in sortable_columns(session=session):
        order_by = "last_active"
    descending = str(direction).lower() == "desc"
    sort_col = t.c[order_by]
    order = [sort_col.desc().nulls_last(), t.c.id.desc()] if descending else [sort_col.asc().nulls_last(), t.c.id.asc()]
    limit = max(1, min(int(limit), MAX_PAGE))
    total_expr = _count_query(t, where, count_cap).scalar_subquery().label("_total")
    q = sa.select(t, total_expr)
    if where is not None:
        q = q.where(where)
    # One round trip: the total rides along as an uncorrelated subquery PostgreSQL and SQLite
    # evaluate once. Core execution, since the ORM layer adds nothing for a plain row read.
    rows = [dict(r) for r in session.connection().execute(q.order_by(*order).offset(max(0, int(start))).limit(limit)).mappings()]
    if rows:
        n = rows[0]["_total"]
        for r in rows:
            del r["_total"]
    else:
        n = session.connection().execute(sa.select(total_expr)).scalar() or 0
    capped = count_cap is not None and n > count_cap
    return ContactPage(rows=rows, total=min(n, count_cap) if capped else n, total_capped=capped)


def _count_query(t: sa.TableClause, where: sa.ColumnElement[bool] | None, cap: int | None) -> sa.Select[int]:
    inner = sa.select(t.c.id)
    if where is not None:
        inner = inner.where(where)
    if cap is not None:
        inner = inner.limit(cap + 1)
    return sa.select(sa.func.count()).select_from(inner.subquery())


# ---------------------------------------------------------------- writes


def _touch(session: Session, ids: list[int], action: str) -> None:
    changefeed.publish_after_commit(session, "contacts", {"ids": ids, "action": action})


def create(
    *, session: Session, values: dict[str, Any], user_id: int | None = None, source: str = "manual",
    owner_id: int | None = None, stage_id: int | None = None, tags: list[str] | None = None,
    ip: str | None = None, check_required: bool = True, merge_existing: bool = False,
    overwrite_with_blank: bool = False,
) -> tuple[int, bool]:
    """Create a contact; returns (id, created). With ``merge_existing`` an identifier match updates instead."""
    clean = clean_values(session=session, values=values, creating=True, check_required=check_required,
                         overwrite_with_blank=overwrite_with_blank)
    if merge_existing:
        claim_identifiers(session=session, values=clean)
    if merge_existing and (existing := find_existing(session=session, values=clean)):
        update(session=session, contact_id=existing, values=clean, user_id=user_id, source=source,
               overwrite_with_blank=overwrite_with_blank, already_clean=True)
        if tags:
            modify_tags(session=session, contact_ids=[existing], tags=tags, user_id=user_id)
        if owner_id:
            set_owner(session=session, contact_ids=[existing], owner_id=owner_id, user_id=user_id)
        return existing, False
    specs = field_service.spec_map(session=session)
    now = utcnow()
    data = default_values(specs) | clean
    identified = not is_anonymous(data)
    data |= {
        "owner_id": owner_id, "stage_id": stage_id, "created_by": user_id, "modified_by": user_id,
        "date_added": now, "is_identified": identified, "date_identified": now if identified else None,
        "points": data.get("points") or 0, "preferred_profile_image": "gravatar",
    }
    data.setdefault("last_active", now)
    t = field_service.table(session=session)
    contact_id = session.execute(sa.insert(t).values(**data).returning(t.c.id)).scalar_one()
    timeline.log(session=session, contact_id=contact_id, event_type="api_added" if source == "api" else "created",
                 user_id=user_id, details={"source": source})
    if identified:
        timeline.log(session=session, contact_id=contact_id, event_type="identified", user_id=user_id)
    if tags:
        modify_tags(session=session, contact_ids=[contact_id], tags=tags, user_id=user_id, log_event=False)
    if ip:
        add_ip(session=session, contact_id=contact_id, ip=ip)
    if data.get("company"):
        _link_company_by_name(session=session, contact_id=contact_id, name=data["company"])
    _touch(session, [contact_id], "created")
    return contact_id, True


def update(
    *, session: Session, contact_id: int, values: dict[str, Any], user_id: int | None = None,
    overwrite_with_blank: bool = False, source: str = "manual", already_clean: bool = False,
    check_required: bool = False, public_only: bool = False,
) -> dict[str, Any]:
    """Apply changed values; returns {alias: (old, new)} of what really changed."""
    current = read(session=session, contact_id=contact_id)
    if current is None:
        raise _missing(contact_id)
    clean = values if already_clean else clean_values(
        session=session, values=values, creating=False, overwrite_with_blank=overwrite_with_blank,
        check_required=check_required, public_only=public_only,
    )
    changed = {a: (current.get(a), v) for a, v in clean.items() if differs(current.get(a), v)}
    if not changed:
        return {}
    merged = {**current, **{a: new for a, (_, new) in changed.items()}}
    identified = not is_anonymous(merged)
    row: dict[str, Any] = {a: new for a, (_, new) in changed.items()}
    row |= {"date_modified": utcnow(), "modified_by": user_id, "is_identified": identified}
    if identified and not current.get("is_identified"):
        row["date_identified"] = utcnow()
        timeline.log(session=session, contact_id=contact_id, event_type="identified", user_id=user_id)
    t = field_service.table(session=session)
    session.execute(sa.update(t).where(t.c.id == contact_id).values(**row))
    if "points" in changed:
        timeline.log(session=session, contact_id=contact_id, event_type="points", user_id=user_id,
                     details={"old": changed["points"][0] or 0, "new": changed["points"][1], "reason": source})
    field_changes = {a: [jsonable(o), jsonable(n)] for a, (o, n) in changed.items() if a != "points"}
    if field_changes:
        timeline.log(session=session, contact_id=contact_id, event_type="updated", user_id=user_id,
                     details={"fields": field_changes, "source": source})
    if "company" in changed and changed["company"][1]:
        _link_company_by_name(session=session, contact_id=contact_id, name=changed["company"][1])
    _touch(session, [contact_id], "updated")
    return changed


def differs(old: Any, new: Any) -> bool:
    """Whether a new value is a change: times within a second and equal numbers are not."""
    if isinstance(old, datetime) and isinstance(new, datetime):
        return abs((old - new).total_seconds()) >= 1
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool):
        return float(old) != float(new)
    return bool(old != new)


def jsonable(v: Any) -> Any:
    """A value as the timeline's "updated" line keeps it (times as ISO text)."""
    return v.isoformat() if hasattr(v, "isoformat") else v


def delete(*, session: Session, contact_ids: list[int]) -> int:
    ids = [int(i) for i in contact_ids]
    if not ids:
        return 0
    # Children first: SQLite only cascades when foreign keys are on, and bulk deletes skip the ORM.
    for model in (ContactEvent, ContactTag, Note, DoNotContact, ContactIpAddress, UtmTag, CompanyContact, MergeRecord):
        session.execute(sa.delete(model).where(col(model.contact_id).in_(ids)))
    n = rows_changed(session.execute(sa.delete(Contact).where(col(Contact.id).in_(ids))))
    _touch(session, ids, "deleted")
    return n


def tag_names(*, session: Session, limit: int = 1000) -> list[str]:
    """Tags in use, in order: what tag boxes suggest and the segment builder's tag filter offers."""
    return list(session.execute(sa.select(col(Tag.tag)).order_by(col(Tag.tag)).limit(limit)).scalars().all())


def tag_ids(*, session: Session, names: list[str]) -> dict[str, int]:
    """Ids of tags by name, creating unknown ones."""
    names = list(dict.fromkeys(n.strip()[:191] for n in names if n and n.strip()))
    if not names:
        return {}
    found = dict(session.execute(sa.select(col(Tag.tag), col(Tag.id)).where(col(Tag.tag).in_(names))).all())
    for name in names:
        if name not in found:
            tag = Tag(tag=name)
            session.add(tag)
            session.flush()
            found[name] = tag.id
    return found


def parse_tag_changes(tags: list[str] | str) -> tuple[list[str], list[str]]:
    """Mautic's tag list: ``name`` adds, ``-name`` removes; a string may be comma or pipe separated."""
    if isinstance(tags, str):
        tags = [p for chunk in tags.split("|") for p in chunk.split(",")]
    add: list[str] = []
    remove: list[str] = []
    for raw in tags:
        name = str(raw).strip()
        if not name:
            continue
        (remove if name.startswith("-") else add).append(name.lstrip("-").strip())
    return [a for a in add if a], [r for r in remove if r]


def modify_tags(
    *, session: Session, contact_ids: list[int], tags: list[str] | str, user_id: int | None = None,
    log_event: bool = True,
) -> None:
    add, remove = parse_tag_changes(tags)
    ids = [int(i) for i in contact_ids]
    if not ids or not (add or remove):
        return
    if add:
        tag_map = tag_ids(session=session, names=add)
        session.flush()  # contacts pending in the session are tagged too
        ct, people, tag_t = table_of(ContactTag), table_of(Contact), table_of(Tag)
        step = len(ids) if session.get_bind().dialect.name == "postgresql" else 1000  # one array parameter there
        for i in range(0, len(ids), step):  # set-based: the pairs not there yet, chosen by the database
            pairs = sa.select(people.c.id, tag_t.c.id).select_from(people.join(tag_t, sa.true())).where(among(session, people.c.id, ids[i:i + step]), tag_t.c.id.in_(list(tag_map.values())))
            session.execute(db.insert(session, ct).from_select(["contact_id", "tag_id"], pairs).on_conflict_do_nothing())
    if remove:
        remove_ids = session.execute(sa.select(col(Tag.id)).where(col(Tag.tag).in_(remove))).scalars().all()
        if remove_ids:
            session.execute(sa.delete(ContactTag).where(col(ContactTag.contact_id).in_(ids), col(ContactTag.tag_id).in_(remove_ids)))
    if log_event:
        details = {"added": add, "removed": remove}
        bulk.log_events(session=session, events=[{"contact_id": c, "event_type": "tags", "user_id": user_id, "details": details}
                                                 for c in ids])
    _touch(session, ids, "tags")


def set_owner(*, session: Session, contact_ids: list[int], owner_id: int | None, user_id: int | None = None) -> None:
    owner = session.get(User, owner_id) if owner_id else None
    if owner_id and owner is None:
        raise ContactError({"owner": "Choose an existing user."})
    ids = [int(i) for i in contact_ids]
    old = dict(session.execute(sa.select(col(Contact.id), col(Contact.owner_id)).where(col(Contact.id).in_(ids))).all())
    names = {u.id: u.display_name for u in session.exec(select(User).where(col(User.id).in_([o for o in old.values() if o]))).all()}
    session.execute(sa.update(Contact).where(col(Contact.id).in_(ids)).values(owner_id=owner_id, date_modified=utcnow()))
    for cid, prev in old.items():
        if prev != owner_id:
            timeline.log(session=session, contact_id=cid, event_type="owner", user_id=user_id,
                         details={"from": names.get(prev), "to": owner.display_name if owner else None})
    _touch(session, ids, "owner")


def set_stage(*, session: Session, contact_ids: list[int], stage_id: int | None, user_id: int | None = None) -> None:
    stage = session.get(Stage, stage_id) if stage_id else None
    if stage_id and stage is None:
        raise ContactError({"stage": "Choose an existing stage."})
    ids = [int(i) for i in contact_ids]
    old = dict(session.execute(sa.select(col(Contact.id), col(Contact.stage_id)).where(col(Contact.id).in_(ids))).all())
    names = dict(session.execute(sa.select(col(Stage.id), col(Stage.name)).where(col(Stage.id).in_([s for s in old.values() if s]))).all())
    session.execute(sa.update(Contact).where(col(Contact.id).in_(ids)).values(stage_id=stage_id, date_modified=utcnow()))
    for cid, prev in old.items():
        if prev != stage_id:
            timeline.log(session=session, contact_id=cid, event_type="stage", user_id=user_id,
                         details={"from": names.get(prev), "to": stage.name if stage else None})
    _touch(session, ids, "stage")


def change_points(
    *, session: Session, contact_id: int, operation: str, amount: float, reason: str = "manual", user_id: int | None = None,
) -> int:
    if operation not in POINT_OPERATIONS:
        raise ContactError({"operation": f"Use one of {', '.join(POINT_OPERATIONS)}."})
    # Locked until commit: a page hit and an API call scoring the same contact at once both count.
    current = session.execute(sa.select(col(Contact.points)).where(col(Contact.id) == contact_id).with_for_update()).scalar()
    if current is None:
        raise _missing(contact_id)
    if operation == "divide" and amount == 0:
        raise ContactError({"points": "Cannot divide by zero."})
    new = {
        "plus": current + amount, "minus": current - amount, "times": current * amount,
        "divide": current / amount if amount else current, "set": amount,
    }[operation]
    new = int(round(new))
    if new != current:
        session.execute(sa.update(Contact).where(col(Contact.id) == contact_id).values(points=new, date_modified=utcnow()))
        timeline.log(session=session, contact_id=contact_id, event_type="points", user_id=user_id,
                     details={"old": current, "new": new, "delta": new - current, "reason": reason})
        _touch(session, [contact_id], "points")
    return new


def add_note(*, session: Session, contact_id: int, text: str, type: str = "general", date_time: datetime | None = None,
             user_id: int | None = None) -> Note:
    if session.get(Contact, contact_id) is None:
        raise _missing(contact_id)
    text = (text or "").strip()
    errors = {}
    if not text:
        errors["text"] = "Write the note."
    elif len(text) > 65535:
        errors["text"] = "Keep the note under 65,535 characters."
    if type not in NOTE_TYPES:
        errors["type"] = f"Use one of {', '.join(NOTE_TYPES)}."
    if errors:
        raise ContactError(errors)
    note = Note(contact_id=contact_id, text=text, type=type, date_time=date_time or utcnow(), created_by=user_id)
    session.add(note)
    session.flush()
    timeline.log(session=session, contact_id=contact_id, event_type="note", user_id=user_id,
                 details={"note_id": note.id, "type": type, "text": text[:500]})
    _touch(session, [contact_id], "note")
    return note


def delete_note(*, session: Session, note_id: int) -> None:
    note = session.get(Note, note_id)
    if note is not None:
        session.delete(note)
        _touch(session, [note.contact_id], "note")


def add_dnc(
    *, session: Session, contact_id: int, channel: str = "email", reason: int = 3, comments: str = "",
    channel_id: int | None = None, force: bool = False, user_id: int | None = None,
) -> DoNotContact:
    """Mark a channel do-not-contact. An unsubscribe is kept unless ``force``."""
    if session.get(Contact, contact_id) is None:
        raise _missing(contact_id)
    if reason not in DNC_REASONS:
        raise ContactError({"reason": "Reason must be 1 (unsubscribed), 2 (bounced) or 3 (manual)."})
    channel = (channel or "email").strip().lower()[:32]
    row = session.exec(select(DoNotContact).where(col(DoNotContact.contact_id) == contact_id, col(DoNotContact.channel) == channel)).first()
    if row is not None:
        if row.reason == 1 and reason != 1 and not force:
            return row
        row.reason, row.comments, row.channel_id = reason, (comments or "")[:1000], channel_id
    else:
        row = DoNotContact(contact_id=contact_id, channel=channel, reason=reason, comments=(comments or "")[:1000], channel_id=channel_id)
    session.add(row)
    session.flush()
    timeline.log(session=session, contact_id=contact_id, event_type="dnc", user_id=user_id,
                 details={"added": True, "channel": channel, "reason": reason, "reason_label": DNC_REASONS[reason], "comments": comments})
    _touch(session, [contact_id], "dnc")
    return row


def remove_dnc(*, session: Session, contact_id: int, channel: str = "email", user_id: int | None = None) -> bool:
    if session.get(Contact, contact_id) is None:
        raise _missing(contact_id)
    channel = (channel or "email").strip().lower()
    n = rows_changed(session.execute(
        sa.delete(DoNotContact).where(col(DoNotContact.contact_id) == contact_id, col(DoNotContact.channel) == channel)))
    if n:
        timeline.log(session=session, contact_id=contact_id, event_type="dnc", user_id=user_id, details={"added": False, "channel": channel})
        _touch(session, [contact_id], "dnc")
    return bool(n)


def add_ip(*, session: Session, contact_id: int, ip: str) -> None:
    try:
        ip = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return
    if bulk.link_ips(session=session, pairs=[(contact_id, ip)]):
        timeline.log(session=session, contact_id=contact_id, event_type="ip_added", details={"ip": ip})


UTM_KEYS = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")


def add_utm(*, session: Session, contact_id: int, data: dict[str, Any], user_id: int | None = None) -> UtmTag:
    if session.get(Contact, contact_id) is None:
        raise _missing(contact_id)
    query = data.get("query")
    row = UtmTag(
        contact_id=contact_id,
        query=query if isinstance(query, dict) else {},
        referer=str(data.get("referer") or "")[:2048] or None,
        remote_host=str(data.get("remotehost") or data.get("remote_host") or "")[:191] or None,
        url=str(data.get("url") or "")[:2048] or None,
        user_agent=str(data.get("useragent") or data.get("user_agent") or "")[:1024] or None,
    )
    for k in UTM_KEYS:
        setattr(row, k, str(data[k])[:191] if data.get(k) not in (None, "") else None)
    if all(getattr(row, k) is None for k in UTM_KEYS):
        raise ContactError({"utm": "Give at least one utm_ value."})
    session.add(row)
    session.flush()
    timeline.log(session=session, contact_id=contact_id, event_type="utm", user_id=user_id,
                 details={k: getattr(row, k) for k in UTM_KEYS})
    _touch(session, [contact_id], "utm")
    return row


def remove_utm(*, session: Session, contact_id: int, utm_id: int) -> bool:
    n = rows_changed(session.execute(sa.delete(UtmTag).where(col(UtmTag.id) == utm_id, col(UtmTag.contact_id) == contact_id)))
    if n:
        _touch(session, [contact_id], "utm")
    return bool(n)


def _link_company_by_name(*, session: Session, contact_id: int, name: str) -> None:
    """Typing a company name on a contact links (and if needed creates) that company."""
    company_id = companies.find_or_create(session=session, name=name)
    companies.link_contact(session=session, company_id=company_id, contact_id=contact_id, sync_field=False)


# ---------------------------------------------------------------- merge


def merge(*, session: Session, winner_id: int, loser_id: int, user_id: int | None = None) -> int:
    """Fold ``loser`` into ``winner`` as spec/contacts.md says; returns the winner's id."""
    if winner_id == loser_id:
        raise ContactError({"id": "Choose two different contacts."})
    winner, loser = read(session=session, contact_id=winner_id), read(session=session, contact_id=loser_id)
    if winner is None:
        raise _missing(winner_id)
    if loser is None:
        raise _missing(loser_id)
    specs = field_service.spec_map(session=session)
    newer_is_loser = (loser.get("date_modified") or loser["date_added"]) > (winner.get("date_modified") or winner["date_added"])
    values: dict[str, Any] = {}
    for alias in specs:
        if alias == "points":
            continue
        w, lv = winner.get(alias), loser.get(alias)
        if lv in (None, ""):
            continue
        if w in (None, "") or newer_is_loser:
            values[alias] = lv
    last_active = max([d for d in (winner.get("last_active"), loser.get("last_active")) if d], default=None)
    t = field_service.table(session=session)
    row = {a: v for a, v in values.items() if differs(winner.get(a), v)}
    row |= {
        "points": (winner.get("points") or 0) + (loser.get("points") or 0),
        "last_active": last_active,
        "owner_id": winner.get("owner_id") or loser.get("owner_id"),
        "stage_id": winner.get("stage_id") or loser.get("stage_id"),
        "date_modified": utcnow(),
        "modified_by": user_id,
    }
    row["is_identified"] = not is_anonymous({**winner, **row})
    session.execute(sa.update(t).where(t.c.id == winner_id).values(**row))
    # Tags, IPs and segments are united (the winner's own segment rows win); history, notes, UTM tags,
    # DNC and company links move over.
    united: tuple[tuple[type[ContactTag | ContactIpAddress | CompanyContact | SegmentContact], str], ...] = (
        (ContactTag, "tag_id"), (ContactIpAddress, "ip_id"), (CompanyContact, "company_id"), (SegmentContact, "segment_id"))
    for link, key in united:
        _unite(session, link, key, winner_id, loser_id)
    have_channels = set(session.execute(sa.select(col(DoNotContact.channel)).where(col(DoNotContact.contact_id) == winner_id)).scalars())
    session.execute(sa.delete(DoNotContact).where(col(DoNotContact.contact_id) == loser_id, col(DoNotContact.channel).in_(have_channels)))
    moved: tuple[type[DoNotContact | Note | UtmTag | ContactEvent | ContactDevice | PageHit | FormSubmission | FocusStat], ...] = (
        DoNotContact, Note, UtmTag, ContactEvent, ContactDevice, PageHit, FormSubmission, FocusStat)
    for model in moved:
        session.execute(sa.update(model).where(col(model.contact_id) == loser_id).values(contact_id=winner_id))
    _merge_points(session, winner_id, loser_id)
    _move_history(session, winner_id, loser_id)
    session.execute(sa.update(MergeRecord).where(col(MergeRecord.contact_id) == loser_id).values(contact_id=winner_id))
    name = " ".join(filter(None, [loser.get("firstname"), loser.get("lastname")])) or loser.get("email") or f"#{loser_id}"
    session.add(MergeRecord(contact_id=winner_id, merged_id=loser_id, name=name[:191]))
    session.execute(sa.delete(Contact).where(col(Contact.id) == loser_id))
    if not winner.get("public_id") and loser.get("public_id"):
        # The visitor's browser keeps the id it was given: it now names the winner.
        session.execute(sa.update(t).where(t.c.id == winner_id).values(public_id=loser["public_id"]))
    timeline.log(session=session, contact_id=winner_id, event_type="merged", user_id=user_id,
                 details={"merged_id": loser_id, "name": name, "points_added": loser.get("points") or 0})
    _touch(session, [winner_id, loser_id], "merged")
    return winner_id


def _move_history(session: Session, winner_id: int, loser_id: int) -> None:
    """The loser's sent e-mails and campaign history join the winner's timeline, as Mautic moves them; a message of
    a broadcast both were sent, or a campaign event both ran, stays the winner's own. Pending campaign work is
    not moved: it leaves with the loser's campaign membership."""
    s, lg = table_of(EmailStat), table_of(CampaignLog)
    mine_s, mine_l = s.alias("mine"), lg.alias("mine")
    session.execute(sa.update(s).where(s.c.contact_id == loser_id, ~sa.exists().where(
        mine_s.c.contact_id == winner_id, mine_s.c.send_id == s.c.send_id)).values(contact_id=winner_id))
    session.execute(sa.update(lg).where(lg.c.contact_id == loser_id, lg.c.status.in_(("done", "failed")), ~sa.exists().where(
        mine_l.c.contact_id == winner_id, mine_l.c.event_id == lg.c.event_id, mine_l.c.rotation == lg.c.rotation)).values(contact_id=winner_id))


def _merge_points(session: Session, winner_id: int, loser_id: int) -> None:
    """Group scores add up; once-only actions and trigger events that fired for either stay fired."""
    for score in session.execute(sa.select(GroupContactScore).where(col(GroupContactScore.contact_id) == loser_id)).scalars().all():
        updated = rows_changed(session.execute(
            sa.update(GroupContactScore).where(col(GroupContactScore.contact_id) == winner_id, col(GroupContactScore.group_id) == score.group_id)
            .values(score=col(GroupContactScore.score) + score.score)
        ))
        if not updated:
            session.execute(sa.insert(GroupContactScore).values(group_id=score.group_id, contact_id=winner_id, score=score.score))
    session.execute(sa.delete(GroupContactScore).where(col(GroupContactScore.contact_id) == loser_id))
    logs: tuple[tuple[type[PointActionLog | PointTriggerLog], str], ...] = ((PointActionLog, "action_id"), (PointTriggerLog, "event_id"))
    for log, key in logs:
        _unite(session, log, key, winner_id, loser_id)


def _unite(session: Session, model: type[ContactTag | ContactIpAddress | CompanyContact | SegmentContact | PointActionLog | PointTriggerLog],
           key: str, winner_id: int, loser_id: int) -> None:
    """Rows naming the loser move to the winner, except where the winner has one for the same ``key`` already."""
    other = col(getattr(model, key))
    have = set(session.execute(sa.select(other).where(col(model.contact_id) == winner_id)).scalars())
    session.execute(sa.delete(model).where(col(model.contact_id) == loser_id, other.in_(have)))
    session.execute(sa.update(model).where(col(model.contact_id) == loser_id).values(contact_id=winner_id))


def owners(*, session: Session) -> list[dict[str, Any]]:
    return [
        {"id": u.id, "username": u.username, "firstName": u.first_name, "lastName": u.last_name, "name": u.display_name}
        for u in session.exec(select(User).where(col(User.is_active) == True).order_by(col(User.username))).all()  # noqa: E712
    ]


def owner_options(*, session: Session) -> list[dict[str, str]]:
    """The users a contact or company can be given to, as a picker's ``value`` / ``label`` choices."""
    return [{"value": str(u["id"]), "label": u["name"] or u["username"]} for u in owners(session=session)]


def stage_options(*, session: Session) -> list[dict[str, str]]:
    """The stages a contact can be put in, as a picker's ``value`` / ``label`` choices."""
    return [{"value": str(s.id), "label": s.name} for s in stages.list_stages(session=session)]


def contact_relations(*, session: Session, ids: list[int]) -> dict[str, dict[int, list[Any]]]:
    """Tags, do-not-contact rows, UTM tags and IP addresses of many contacts, one query each."""
    out: dict[str, dict[int, list[Any]]] = {k: defaultdict(list) for k in ("tags", "dnc", "utm", "ips")}
    if not ids:
        return out
    for cid, tag_id, tag in session.execute(
        sa.select(col(ContactTag.contact_id), col(Tag.id), col(Tag.tag)).join(Tag, col(Tag.id) == col(ContactTag.tag_id))
        .where(col(ContactTag.contact_id).in_(ids)).order_by(col(Tag.tag))
    ).all():
        out["tags"][cid].append({"id": tag_id, "tag": tag})
    for dnc in session.exec(select(DoNotContact).where(col(DoNotContact.contact_id).in_(ids)).order_by(col(DoNotContact.id))).all():
        out["dnc"][dnc.contact_id].append(dnc)
    for utm in session.exec(select(UtmTag).where(col(UtmTag.contact_id).in_(ids)).order_by(col(UtmTag.id))).all():
        out["utm"][utm.contact_id].append(utm)
    for cid, ip in session.execute(
        sa.select(col(ContactIpAddress.contact_id), col(IpAddress.ip_address)).join(IpAddress, col(IpAddress.id) == col(ContactIpAddress.ip_id))
        .where(col(ContactIpAddress.contact_id).in_(ids)).order_by(col(IpAddress.ip_address))
    ).all():
        out["ips"][cid].append(ip)
    return out


def notes_page(*, session: Session, contact_id: int, start: int, limit: int, descending: bool) -> tuple[list[Note], int]:
    order = col(Note.date_time).desc() if descending else col(Note.date_time).asc()
    rows = session.exec(
        select(Note).where(col(Note.contact_id) == contact_id).order_by(order, col(Note.id)).offset(start).limit(limit)
    ).all()
    total = session.execute(sa.select(sa.func.count()).where(col(Note.contact_id) == contact_id)).scalar() or 0
    return list(rows), total


def duplicate_of(*, session: Session, contact_id: int, values: dict[str, Any]) -> int | None:
    """Another contact sharing a unique identifier value with ``values`` (Mautic merges it on edit)."""
    t = field_service.table(session=session)
    conds = []
    for spec in field_service.specs(session=session, obj="contact"):
        value = values.get(spec.alias)
        if spec.is_unique_identifier and value not in (None, ""):
            conds.append(sa.func.lower(t.c[spec.alias]) == value.lower() if isinstance(value, str) else t.c[spec.alias] == value)
    if not conds:
        return None
    return session.execute(
        sa.select(t.c.id).where(sa.or_(*conds), t.c.id != contact_id).order_by(t.c.id).limit(1)
    ).scalar()
