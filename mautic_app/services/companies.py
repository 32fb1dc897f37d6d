"""Companies and their links to contacts. The first link a contact gets is its primary company,
whose name is copied into the contact's ``company`` field."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import changefeed
from mautic_app.db import rows_changed
from mautic_app.domain import search as search_syntax
from mautic_app.domain.fields import FieldValueError, normalize_value
from mautic_app.models import Company, CompanyContact, Contact
from mautic_app.models.base import utcnow
from mautic_app.services import fields as field_service
from mautic_app.services import timeline

MAX_PAGE = 200


class CompanyError(ValueError):
    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


def _touch(session: Session, ids: list[int], action: str) -> None:
    changefeed.publish_after_commit(session, "companies", {"ids": ids, "action": action})


def clean_values(*, session: Session, values: dict[str, Any], creating: bool, overwrite_with_blank: bool = False) -> dict[str, Any]:
    specs = field_service.spec_map(session=session, obj="company")
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for alias, raw in values.items():
        spec = specs.get(alias)
        if spec is None:
            continue
        try:
            value = normalize_value(spec, raw)
        except FieldValueError as exc:
            errors[alias] = str(exc)
            continue
        if value is None and not overwrite_with_blank:
            continue
        clean[alias] = value
    for spec in specs.values():
        if spec.is_required and (creating or spec.alias in values) and clean.get(spec.alias) in (None, ""):
            errors[spec.alias] = f"{spec.label} is required."
    if errors:
        raise CompanyError(errors)
    return clean


def read(*, session: Session, company_id: int) -> dict[str, Any] | None:
    t = field_service.table(session=session, obj="company")
    row = session.execute(sa.select(t).where(t.c.id == company_id)).mappings().first()
    return dict(row) if row else None


def find_by_name(*, session: Session, name: str) -> int | None:
    return session.execute(
        sa.select(col(Company.id)).where(sa.func.lower(col(Company.companyname)) == name.strip().lower()).order_by(col(Company.id)).limit(1)
    ).scalar()


def find_or_create(*, session: Session, name: str, user_id: int | None = None) -> int:
    existing = find_by_name(session=session, name=name)
    if existing:
        return existing
    return create(session=session, values={"companyname": name}, user_id=user_id)


def create(*, session: Session, values: dict[str, Any], user_id: int | None = None, owner_id: int | None = None) -> int:
    clean = clean_values(session=session, values=values, creating=True)
    if find_by_name(session=session, name=clean["companyname"]):
        raise CompanyError({"companyname": "A company with this name already exists."}, status=409)
    t = field_service.table(session=session, obj="company")
    company_id: int = session.execute(
        sa.insert(t).values(**clean, owner_id=owner_id, created_by=user_id, date_added=utcnow(), score=0).returning(t.c.id)
    ).scalar_one()
    _touch(session, [company_id], "created")
    return company_id


def update(*, session: Session, company_id: int, values: dict[str, Any], overwrite_with_blank: bool = False,
           owner_id: int | None | bool = False, score: int | None = None) -> dict[str, Any]:
    current = read(session=session, company_id=company_id)
    if current is None:
        raise CompanyError({"id": f"Company {company_id} not found."}, status=404)
    clean = clean_values(session=session, values=values, creating=False, overwrite_with_blank=overwrite_with_blank)
    if "companyname" in clean:
        other = find_by_name(session=session, name=clean["companyname"])
        if other and other != company_id:
            raise CompanyError({"companyname": "A company with this name already exists."}, status=409)
    changed = {a: v for a, v in clean.items() if current.get(a) != v}
    row: dict[str, Any] = dict(changed)
    if owner_id is not False:
        row["owner_id"] = owner_id
    if score is not None:
        row["score"] = int(score)
    if row:
        row["date_modified"] = utcnow()
        t = field_service.table(session=session, obj="company")
        session.execute(sa.update(t).where(t.c.id == company_id).values(**row))
        if "companyname" in changed:
            primary_ids = session.execute(
                sa.select(col(CompanyContact.contact_id)).where(col(CompanyContact.company_id) == company_id, col(CompanyContact.is_primary) == sa.true())
            ).scalars().all()
            if primary_ids:
                session.execute(sa.update(Contact).where(col(Contact.id).in_(primary_ids)).values(company=changed["companyname"]))
                changefeed.publish_after_commit(session, "contacts", {"ids": list(primary_ids), "action": "company"})
        _touch(session, [company_id], "updated")
    return changed


def delete(*, session: Session, company_ids: list[int]) -> int:
    ids = [int(i) for i in company_ids]
    if not ids:
        return 0
    contact_ids = session.execute(sa.select(col(CompanyContact.contact_id)).where(col(CompanyContact.company_id).in_(ids))).scalars().all()
    session.execute(sa.delete(CompanyContact).where(col(CompanyContact.company_id).in_(ids)))
    n = rows_changed(session.execute(sa.delete(Company).where(col(Company.id).in_(ids))))
    for contact_id in set(contact_ids):
        _refresh_primary(session, contact_id)
    _touch(session, ids, "deleted")
    return n


def _refresh_primary(session: Session, contact_id: int) -> None:
    """Keep one primary link per contact and the contact's company field in step with it."""
    links = session.execute(
        sa.select(col(CompanyContact.company_id), col(CompanyContact.is_primary), col(Company.companyname))
        .join(Company, col(Company.id) == col(CompanyContact.company_id))
        .where(col(CompanyContact.contact_id) == contact_id).order_by(col(CompanyContact.date_added), col(CompanyContact.company_id))
    ).all()
    primary = next((link for link in links if link.is_primary), links[0] if links else None)
    if primary is not None and not primary.is_primary:
        session.execute(sa.update(CompanyContact).where(col(CompanyContact.contact_id) == contact_id, col(CompanyContact.company_id) == primary.company_id).values(is_primary=True))
    name = primary.companyname if primary is not None else None
    session.execute(sa.update(Contact).where(col(Contact.id) == contact_id).values(company=name))
    changefeed.publish_after_commit(session, "contacts", {"ids": [contact_id], "action": "company"})


def link_contact(*, session: Session, company_id: int, contact_id: int, user_id: int | None = None, sync_field: bool = True,
                 make_primary: bool = False) -> bool:
    company = session.get(Company, company_id)
    if company is None:
        raise CompanyError({"company": f"Company {company_id} not found."}, status=404)
    if session.get(Contact, contact_id) is None:
        raise CompanyError({"contact": f"Contact {contact_id} not found."}, status=404)
    exists = session.exec(select(CompanyContact).where(CompanyContact.company_id == company_id, CompanyContact.contact_id == contact_id)).first()
    has_primary = session.execute(
        sa.select(1).where(col(CompanyContact.contact_id) == contact_id, col(CompanyContact.is_primary) == sa.true())
    ).first()
    if make_primary and has_primary:
        session.execute(sa.update(CompanyContact).where(col(CompanyContact.contact_id) == contact_id).values(is_primary=False))
        has_primary = None
    if exists is None:
        session.add(CompanyContact(company_id=company_id, contact_id=contact_id, is_primary=not has_primary, date_added=utcnow()))
        timeline.log(session=session, contact_id=contact_id, event_type="company", user_id=user_id,
                     details={"added": True, "company_id": company_id, "name": company.companyname})
    elif make_primary:
        exists.is_primary = True
        session.add(exists)
    session.flush()
    if sync_field or make_primary or not has_primary:
        _refresh_primary(session, contact_id)
    _touch(session, [company_id], "contacts")
    return exists is None


def unlink_contact(*, session: Session, company_id: int, contact_id: int, user_id: int | None = None) -> bool:
    company = session.get(Company, company_id)
    n = rows_changed(session.execute(
        sa.delete(CompanyContact).where(col(CompanyContact.company_id) == company_id, col(CompanyContact.contact_id) == contact_id)))
    if n:
        timeline.log(session=session, contact_id=contact_id, event_type="company", user_id=user_id,
                     details={"added": False, "company_id": company_id, "name": company.companyname if company else ""})
        _refresh_primary(session, contact_id)
        _touch(session, [company_id], "contacts")
    return bool(n)


def list_companies(*, session: Session, search: str = "", order_by: str = "companyname", direction: str = "asc",
                   start: int = 0, limit: int = 30) -> tuple[list[dict[str, Any]], int]:
    t = field_service.table(session=session, obj="company")
    q = sa.select(t)
    count_q = sa.select(sa.func.count()).select_from(t)
    text = (search or "").strip()
    if text:
        terms = search_syntax.parse(text)
        conds: list[sa.ColumnElement[bool]] = []
        for term in terms:
            v = search_syntax.like_escape(term.value.lower())
            cond: sa.ColumnElement[bool]
            if term.command == "ids":
                cond = t.c.id.in_([int(i) for i in term.value.split(",")])
            else:
                cond = sa.or_(
                    sa.func.lower(t.c.companyname).like("%" + v + "%", escape="\\"),
                    sa.func.lower(t.c.companyemail).like("%" + v + "%", escape="\\"),
                    sa.func.lower(t.c.companycity).like("%" + v + "%", escape="\\"),
                )
            conds.append(sa.not_(cond) if term.negate else cond)
        q = q.where(*conds)
        count_q = count_q.where(*conds)
    allowed = {"id", "score", "date_added"} | {s.alias for s in field_service.specs(session=session, obj="company")}
    sort_col = t.c[order_by if order_by in allowed else "companyname"]
    descending = str(direction).lower() == "desc"
    q = q.order_by(sort_col.desc().nulls_last() if descending else sort_col.asc().nulls_last(), t.c.id)
    rows = [dict(r) for r in session.execute(q.offset(max(0, int(start))).limit(max(1, min(int(limit), MAX_PAGE)))).mappings()]
    counts = contact_counts(session=session, ids=[r["id"] for r in rows])
    for r in rows:
        r["contact_count"] = counts.get(r["id"], 0)
    return rows, session.execute(count_q).scalar() or 0


def contact_counts(*, session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(session.execute(
        sa.select(col(CompanyContact.company_id), sa.func.count()).where(col(CompanyContact.company_id).in_(ids)).group_by(col(CompanyContact.company_id))
    ).all())


def contacts_of(*, session: Session, company_id: int, start: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    rows = session.execute(
        sa.select(col(Contact.id), col(Contact.firstname), col(Contact.lastname), col(Contact.email), col(Contact.points), col(CompanyContact.is_primary))
        .join(CompanyContact, col(CompanyContact.contact_id) == col(Contact.id))
        .where(col(CompanyContact.company_id) == company_id).order_by(col(Contact.id)).offset(start).limit(limit)
    ).mappings().all()
    total = session.execute(sa.select(sa.func.count()).select_from(CompanyContact).where(col(CompanyContact.company_id) == company_id)).scalar() or 0
    return [dict(r) for r in rows], total


def companies_of(*, session: Session, contact_id: int) -> list[dict[str, Any]]:
    t = field_service.table(session=session, obj="company")
    rows = session.execute(
        sa.select(t, col(CompanyContact.is_primary), col(CompanyContact.date_added).label("date_associated"))
        .join(CompanyContact, col(CompanyContact.company_id) == t.c.id).where(col(CompanyContact.contact_id) == contact_id)
    ).mappings().all()
    return [dict(r) for r in rows]
