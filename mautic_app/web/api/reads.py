"""Read-only queries the API needs beyond what the services offer (batch look-ups for a page
of records, paged notes, event counts). Nothing here writes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app.models import (
    ContactEvent,
    ContactIpAddress,
    ContactTag,
    DoNotContact,
    FieldDefinition,
    IpAddress,
    Note,
    Stage,
    Tag,
    User,
    UtmTag,
)
from mautic_app.services import fields as field_service


def field_rows(*, session: Session, obj: str) -> list[FieldDefinition]:
    return list(session.exec(
        select(FieldDefinition).where(FieldDefinition.object == obj)
        .order_by(FieldDefinition.field_order, FieldDefinition.id)
    ).all())


def field_row(*, session: Session, obj: str, field_id: int) -> FieldDefinition | None:
    row = session.get(FieldDefinition, field_id)
    return row if row is not None and row.object == obj else None


def users_by_id(*, session: Session, ids: set[int]) -> dict[int, User]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}


def stages_by_id(*, session: Session, ids: set[int]) -> dict[int, Stage]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {s.id: s for s in session.exec(select(Stage).where(col(Stage.id).in_(ids))).all()}


def contact_relations(*, session: Session, ids: list[int]) -> dict[str, dict[int, list[Any]]]:
    """Tags, do-not-contact rows, UTM tags and IP addresses of many contacts, one query each."""
    out: dict[str, dict[int, list[Any]]] = {k: defaultdict(list) for k in ("tags", "dnc", "utm", "ips")}
    if not ids:
        return out
    for cid, tag_id, tag in session.execute(
        sa.select(ContactTag.contact_id, Tag.id, Tag.tag).join(Tag, Tag.id == ContactTag.tag_id)
        .where(col(ContactTag.contact_id).in_(ids)).order_by(Tag.tag)
    ).all():
        out["tags"][cid].append({"id": tag_id, "tag": tag})
    for row in session.exec(select(DoNotContact).where(col(DoNotContact.contact_id).in_(ids)).order_by(DoNotContact.id)).all():
        out["dnc"][row.contact_id].append(row)
    for row in session.exec(select(UtmTag).where(col(UtmTag.contact_id).in_(ids)).order_by(UtmTag.id)).all():
        out["utm"][row.contact_id].append(row)
    for cid, ip in session.execute(
        sa.select(ContactIpAddress.contact_id, IpAddress.ip_address).join(IpAddress, IpAddress.id == ContactIpAddress.ip_id)
        .where(col(ContactIpAddress.contact_id).in_(ids)).order_by(IpAddress.ip_address)
    ).all():
        out["ips"][cid].append(ip)
    return out


def notes_page(*, session: Session, contact_id: int, start: int, limit: int, descending: bool) -> tuple[list[Note], int]:
    order = col(Note.date_time).desc() if descending else col(Note.date_time).asc()
    rows = session.exec(
        select(Note).where(Note.contact_id == contact_id).order_by(order, col(Note.id)).offset(start).limit(limit)
    ).all()
    total = session.execute(sa.select(sa.func.count()).where(Note.contact_id == contact_id)).scalar() or 0
    return list(rows), total


def event_count(*, session: Session, contact_id: int, types: list[str] | None) -> int:
    q = sa.select(sa.func.count()).where(ContactEvent.contact_id == contact_id)
    if types:
        q = q.where(col(ContactEvent.event_type).in_(types))
    return session.execute(q).scalar() or 0


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
