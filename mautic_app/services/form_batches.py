"""The writer of queued form submissions: a batch at a time, set-based, as the hit writer is.

Storing one submission through the general services costs about 36 statements (contact, company
link, IP, timeline, points, tags...), which capped the writer near 60 submissions a second. Here a
run of submissions shares each statement: contacts are looked up and created together, then the
submissions, timeline lines, IP links and each action are written in one statement per kind.

A submission whose visitor must be merged or replaced (an identifier found on another contact, or
one that contradicts the visitor's) goes through :func:`services.forms.submit` on its own, in
order, so the rules of spec/components.md hold exactly as for a direct post.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app import changefeed
from mautic_app.db import among, enqueue, get_engine, refresh_statistics, session_scope
from mautic_app.domain import forms as rules
from mautic_app.domain.fields import FieldValueError, normalize_value
from mautic_app.models import (
    Company,
    CompanyContact,
    Contact,
    ContactDevice,
    FormSubmission,
    PointAction,
)
from mautic_app.models.base import utcnow
from mautic_app.services import bulk, campaign_engine, companies, contacts, points, segments
from mautic_app.services import fields as field_service
from mautic_app.services.forms import (
    ACTION_HANDLERS,
    REPOST_TASK,
    FormSnapshot,
    Posted,
    Submitted,
    _ActionContext,
    actions_of,
    discard_uploads,
    snapshot,
    submit,
)

log = logging.getLogger(__name__)
STATS_TABLES = ("contacts", "companies", "company_contacts", "contact_tags", "contact_ip_addresses", "contact_events", "form_submissions")


@dataclass
class _Item:
    form: FormSnapshot
    posted: Posted
    values: dict[str, Any]  # for the results
    contact: dict[str, Any]  # clean contact values
    visitor: int | None = None
    target: int | None = None  # an existing contact
    new_key: int | None = None  # or the index of a contact this run creates
    contact_id: int = 0

    def contact_ref(self) -> tuple[str, int]:
        """("new", key) for a contact this run creates, ("old", id) for an existing one."""
        if self.new_key is not None:
            return ("new", self.new_key)
        assert self.target is not None, "a submission in a run names a new contact or an existing one"
        return ("old", self.target)


@dataclass
class _Run:
    """Consecutive simple submissions, written together."""

    items: list[_Item] = field(default_factory=list)


def record_queued(*, items: list[dict[str, Any]], batch: Any = None) -> dict[str, str]:
    """The queued writer: store checked submissions in one transaction (see :func:`record`);
    returns device id → public id for the tracking routes' cache.

    ``batch`` (a ``queues.redis_queue.Batch``) is claimed first in that transaction: when an earlier writer already
    committed these submissions (and was killed before it took them off the queue) nothing is written.
    """
    refresh_statistics(get_engine(), STATS_TABLES)
    with session_scope() as session:
        if batch is not None and not batch.claim(session):
            return {}
        try:
            with session.begin_nested():
                updates, reposts = record(session=session, items=items)
        except sa.exc.OperationalError:
            raise  # the database is busy or gone: nothing is stored, and the writer's callers are told so
        except Exception:  # noqa: BLE001  (one bad submission must not hold up the queue behind it)
            log.exception("form submission batch of %s failed; writing them one by one", len(items))
            updates, reposts = {}, []
            for item in items:
                try:
                    with session.begin_nested():
                        one_updates, one_reposts = record(session=session, items=[item])
                except sa.exc.OperationalError:
                    raise
                except Exception:  # noqa: BLE001
                    log.exception("queued submission dropped: form %s", item.get("form_id"))
                    if isinstance(item.get("form_id"), int):
                        discard_uploads(item["form_id"], item.get("values") or {})
                    continue
                updates |= one_updates
                reposts += one_reposts
        for submission_id in reposts:
            enqueue(session, REPOST_TASK, submission_id)
        session.commit()
    return updates


def record(*, session: Session, items: list[dict[str, Any]]) -> tuple[dict[str, str], list[int]]:
    """Store queued submissions; returns (device id → public id for the tracking cache, submissions to re-post)."""
    specs = field_service.spec_map(session=session)
    identifiers = [s.alias for s in specs.values() if s.is_unique_identifier]
    forms: dict[int, FormSnapshot | None] = {}
    prepared: list[_Item] = []
    for raw in items:
        form_id = raw.get("form_id")
        if not isinstance(form_id, int):
            continue
        if form_id not in forms:
            forms[form_id] = snapshot(session=session, form_id=form_id)
        form = forms[form_id]
        if form is None:
            log.warning("queued submission for deleted form %s dropped", form_id)
            discard_uploads(form_id, raw.get("values") or {})
            continue
        posted = Posted(values=raw.get("values") or {}, ip=raw.get("ip"), device_id=raw.get("device"),
                        referer=raw.get("referer"), page_url=raw.get("page_url"), user_agent=raw.get("ua"))
        checked = rules.check_post(form.fields, posted.values, hidden={f.alias for f in form.fields})
        discard_uploads(form_id, posted.values, keep=checked.values)  # the form changed since the post was checked
        clean = {}
        for alias, value in checked.contact.items():
            spec = specs.get(alias)
            if spec is None:
                continue
            try:
                value = normalize_value(spec, value)
            except FieldValueError:
                continue  # kept in the results, left off the contact: the visitor was told it was received
            if value is not None:
                clean[alias] = value
        prepared.append(_Item(form, posted, checked.values, clean))
    _visitors(session, prepared)
    updates: dict[str, str] = {}
    reposts: list[int] = []
    run = _Run()
    found = _lookup(session, prepared, identifiers)
    rows = contacts.read_many(session=session, ids=sorted({i.visitor for i in prepared if i.visitor} | set(found.values())))
    pending: dict[tuple[str, str], tuple[str, int]] = {}  # identifier in this run → ("new", key) or ("old", id)
    for index, item in enumerate(prepared):
        match = _match(item, identifiers, found, pending)
        simple = item.form.in_kiosk_mode or item.visitor is None or match in (None, ("old", item.visitor))
        if simple and item.visitor is not None and match is None and not item.form.in_kiosk_mode:
            simple = not _conflicts(identifiers, rows.get(item.visitor, {}), item.contact)
        if not simple:
            _flush(session, run, reposts, found, identifiers)
            run = _Run()
            pending.clear()
            outcome = _alone(session, item)
            if outcome is not None:
                contact_id = outcome.contact_id
                assert contact_id is not None, "a post checked already is never refused"
                reposts += [outcome.repost["submission_id"]] if outcome.repost else []
                if item.posted.device_id and outcome.public_id:
                    updates[item.posted.device_id] = outcome.public_id
                # A contact created or merged here may be named by later submissions of this run.
                found.update({(a, str(item.contact[a]).lower()): contact_id for a in identifiers if item.contact.get(a)})
                rows.update(contacts.read_many(session=session, ids=[contact_id]))
            _visitors(session, prepared[index + 1:])  # a merge may have moved this browser to another contact
            continue
        if match is not None and match[0] == "new":
            item.new_key = match[1]
        elif match is not None:
            item.target = match[1]
        elif not item.form.in_kiosk_mode and item.visitor is not None:
            item.target = item.visitor
        else:
            item.new_key = len(run.items)
        if item.target is not None:  # later submissions of the run see this one's values, as if stored
            rows[item.target] = {**rows.get(item.target, {}), **item.contact}
        for alias in identifiers:
            if item.contact.get(alias):
                key = (alias, str(item.contact[alias]).lower())
                pending[key] = item.contact_ref()
        run.items.append(item)
    _flush(session, run, reposts, found, identifiers)
    return updates, reposts


def _flush(session: Session, run: _Run, reposts: list[int], found: dict[tuple[str, str], int], identifiers: list[str]) -> None:
    """Write a run; the contacts it created or named are then found like any stored contact."""
    _write_run(session, run, reposts)
    for item in run.items:
        for alias in identifiers:
            if item.contact.get(alias) not in (None, ""):
                found.setdefault((alias, str(item.contact[alias]).lower()), item.contact_id)


def _visitors(session: Session, items: list[_Item]) -> None:
    devices = {i.posted.device_id for i in items if i.posted.device_id and not i.form.in_kiosk_mode}
    if not devices:
        return
    owners = dict(session.execute(sa.select(col(ContactDevice.tracking_id), col(ContactDevice.contact_id))
                                  .where(col(ContactDevice.tracking_id).in_(devices))).tuples().all())
    for item in items:
        if not item.form.in_kiosk_mode:
            item.visitor = owners.get(item.posted.device_id)


def _lookup(session: Session, items: list[_Item], identifiers: list[str]) -> dict[tuple[str, str], int]:
    """Existing contacts by identifier value (lower-cased), the oldest for each."""
    t = field_service.table(session=session)
    out: dict[tuple[str, str], int] = {}
    for alias in identifiers:
        wanted = sorted({str(i.contact[alias]).lower() for i in items if i.contact.get(alias) not in (None, "")})
        for start in range(0, len(wanted), 500):
            column = sa.func.lower(t.c[alias])
            for value, contact_id in session.execute(
                    sa.select(column, sa.func.min(t.c.id)).where(among(session, column, wanted[start:start + 500])).group_by(column)):
                out[(alias, value)] = contact_id
    return out


def _match(item: _Item, identifiers: list[str], found: dict[tuple[str, str], int],
           pending: dict[tuple[str, str], tuple[str, int]]) -> tuple[str, int] | None:
    """The contact the submitted identifiers name (this run's first), as ("old", id) or ("new", key)."""
    olds: list[int] = []
    news: list[int] = []
    for alias in identifiers:
        if item.contact.get(alias) in (None, ""):
            continue
        key = (alias, str(item.contact[alias]).lower())
        if key in pending:
            (news if pending[key][0] == "new" else olds).append(pending[key][1])
        elif key in found:
            olds.append(found[key])
    if olds:
        return ("old", min(olds))
    return ("new", news[0]) if news else None


def _conflicts(identifiers: list[str], a: dict[str, Any], b: dict[str, Any]) -> bool:
    for alias in identifiers:
        x, y = a.get(alias), b.get(alias)
        if x not in (None, "") and y not in (None, "") and str(x).strip().lower() != str(y).strip().lower():
            return True
    return False


def _alone(session: Session, item: _Item) -> Submitted | None:
    try:
        with session.begin_nested():
            return submit(session=session, form=item.form, posted=item.posted, checked_already=True)
    except Exception:  # noqa: BLE001  (one broken submission must not lose the batch)
        log.exception("queued submission for form %s dropped", item.form.id)
        discard_uploads(item.form.id, item.posted.values)
        return None


def _write_run(session: Session, run: _Run, reposts: list[int]) -> None:
    if not run.items:
        return
    t = field_service.table(session=session)
    now = utcnow()
    events: list[bulk.Event] = []
    # New contacts: one per key, with the values of every submission that named it, in order.
    new_values: dict[int, dict[str, Any]] = {}
    for item in run.items:
        if item.new_key is not None:
            new_values.setdefault(item.new_key, {}).update(item.contact)
    created: dict[int, int] = {}
    if new_values:
        defaults = contacts.default_values(field_service.spec_map(session=session))
        ids = bulk.new_contacts(session=session, source="form", events=events, rows=[
            defaults | values | {"date_added": now, "last_active": now} for values in new_values.values()])
        created = dict(zip(new_values, ids, strict=True))
    for item in run.items:
        kind, ref = item.contact_ref()
        item.contact_id = created[ref] if kind == "new" else ref
    named = _update_existing(session, run, events)
    named |= {created[i.new_key]: i.contact["company"] for i in run.items if i.new_key is not None and i.contact.get("company")}
    _link_companies(session, t, named, events)
    _ips(session, run, events)
    subs = list(session.execute(sa.insert(FormSubmission).returning(col(FormSubmission.id), sort_by_parameter_order=True), [
        {"form_id": i.form.id, "contact_id": i.contact_id, "ip_address": None if i.form.in_kiosk_mode else i.posted.ip,
         "tracking_id": None if i.form.in_kiosk_mode else i.posted.device_id,
         "referer": rules.web_url(i.posted.referer) if i.posted.referer else None,
         "page_url": rules.web_url(i.posted.page_url) if i.posted.page_url else None, "values": i.values, "date_submitted": now}
        for i in run.items]).scalars())
    events += [{"contact_id": i.contact_id, "event_type": "form_submitted",
                "details": {"name": i.form.name, "form_id": i.form.id, "submission_id": s}} for i, s in zip(run.items, subs, strict=True)]
    _points_actions(session, run)
    campaign_engine.forms_submitted(session=session, submissions=[(i.form.id, i.contact_id, sub) for i, sub in zip(run.items, subs, strict=True)])
    _actions(session, run, subs, reposts, events)
    bulk.log_events(session=session, events=events)
    by_form: dict[int, list[int]] = defaultdict(list)
    for item, s in zip(run.items, subs, strict=True):
        by_form[item.form.id].append(s)
    for form_id, ids in by_form.items():
        changefeed.publish_after_commit(session, "form_submissions", {"form_id": form_id, "ids": ids})
    changefeed.publish_after_commit(session, "contacts", {"ids": sorted({i.contact_id for i in run.items}), "action": "form"})


def _update_existing(session: Session, run: _Run, events: list[bulk.Event]) -> dict[int, str]:
    """Submitted values on contacts that exist, a statement per set of changed columns; returns the
    contacts given a new company name."""
    wanted: dict[int, dict[str, Any]] = {}
    for item in run.items:
        if item.target is not None and item.contact:
            wanted.setdefault(item.target, {}).update(item.contact)
    if not wanted:
        return {}
    current = contacts.read_many(session=session, ids=list(wanted))
    changes = {contact_id: {a: v for a, v in values.items() if contacts.differs(current[contact_id].get(a), v)}
               for contact_id, values in wanted.items() if contact_id in current}
    identified = set(bulk.update_contacts(session=session, changes=changes, current=current))
    named: dict[int, str] = {}
    for contact_id, changed in changes.items():
        if not changed:
            continue
        if contact_id in identified:
            events.append({"contact_id": contact_id, "event_type": "identified", "details": {}})
        old = current[contact_id]
        events.append({"contact_id": contact_id, "event_type": "updated", "details": {
            "fields": {a: [contacts.jsonable(old.get(a)), contacts.jsonable(v)] for a, v in changed.items()}, "source": "form"}})
        if changed.get("company"):
            named[contact_id] = changed["company"]
    return named


def _link_companies(session: Session, t: sa.TableClause, named: dict[int, Any], events: list[bulk.Event]) -> None:
    """Contacts given a company name are linked to it (created when needed), as contacts.create and
    update do one at a time: a contact's first company becomes its primary one and names its company field."""
    if not named:
        return
    names = {c: str(n)[:191] for c, n in named.items()}
    wanted = {n.strip().lower(): n for n in names.values()}
    lowered = sa.func.lower(col(Company.companyname))
    ids: dict[str, int] = dict(session.execute(
        sa.select(lowered, sa.func.min(col(Company.id))).where(lowered.in_(wanted)).group_by(lowered)).tuples().all())
    for key, name in wanted.items():
        if key not in ids:
            ids[key] = companies.create(session=session, values={"companyname": name})
    stored = dict(session.execute(
        sa.select(col(Company.id), col(Company.companyname)).where(col(Company.id).in_(set(ids.values())))).tuples().all())
    links = session.execute(sa.select(col(CompanyContact.contact_id), col(CompanyContact.company_id), col(CompanyContact.is_primary))
                            .where(col(CompanyContact.contact_id).in_(names))).tuples().all()
    linked = {(c, company) for c, company, _ in links}
    has_primary = {c for c, _, primary in links if primary}
    now = utcnow()
    new_links: list[tuple[int, int, bool, datetime]] = []  # company, contact, primary, added
    for contact_id, name in names.items():
        company_id = ids[name.strip().lower()]
        if (contact_id, company_id) in linked:
            if contact_id not in has_primary:  # an old link and no primary one: put the contact in step
                companies._refresh_primary(session, contact_id)
            continue
        new_links.append((company_id, contact_id, contact_id not in has_primary, now))
        events.append({"contact_id": contact_id, "event_type": "company",
                       "details": {"added": True, "company_id": company_id, "name": stored[company_id]}})
    if not new_links:
        return
    bulk.insert_rows(session=session, table=CompanyContact, columns=("company_id", "contact_id", "is_primary", "date_added"),
                     rows=new_links)
    bulk.update_rows(session=session, table=t, changes={  # the company's own spelling
        contact_id: {"company": stored[company_id]} for company_id, contact_id, primary, _ in new_links
        if primary and stored[company_id] != names[contact_id]})
    changefeed.publish_after_commit(session, "companies", {"ids": sorted({company_id for company_id, *_ in new_links}),
                                                           "action": "contacts"})


def _ips(session: Session, run: _Run, events: list[bulk.Event]) -> None:
    pairs = set()
    for item in run.items:
        if item.posted.ip and not item.form.in_kiosk_mode:
            try:
                pairs.add((item.contact_id, str(ipaddress.ip_address(str(item.posted.ip).strip()))))
            except ValueError:
                continue
    new = bulk.link_ips(session=session, pairs=sorted(pairs))
    events += [{"contact_id": c, "event_type": "ip_added", "details": {"ip": ip}} for c, ip in new]


def _points_actions(session: Session, run: _Run) -> None:
    """The ``form.submit`` point actions: one look per run, and scoring only when some are live."""
    if not session.execute(sa.select(sa.exists().where(col(PointAction.type) == "form.submit",
                                                       col(PointAction.is_published).is_(True)))).scalar():
        return
    for item in run.items:
        points.score(session=session, contact_id=item.contact_id, action_type="form.submit", context={"form_id": item.form.id})


def _actions(session: Session, run: _Run, subs: list[int], reposts: list[int], events: list[bulk.Event]) -> None:
    by_form: dict[int, list[tuple[_Item, int]]] = defaultdict(list)
    for item, s in zip(run.items, subs, strict=True):
        by_form[item.form.id].append((item, s))
    for form_id, entries in by_form.items():
        form = entries[0][0].form
        for action in actions_of(session=session, form_id=form_id):
            props = dict(action.properties or {})
            contact_ids = [item.contact_id for item, _ in entries]
            unique = sorted(set(contact_ids))
            if action.type == "lead.pointschange":
                _add_points(session, Counter(contact_ids), int(props.get("points") or 0), f"form: {form.name}", events)
            elif action.type == "lead.changetags":
                changes = list(props.get("add_tags") or []) + [f"-{tag}" for tag in props.get("remove_tags") or []]
                if changes:
                    contacts.modify_tags(session=session, contact_ids=unique, tags=changes)
            elif action.type == "lead.changelist":
                segments.change_by_hand(session=session, contact_ids=unique, add=props.get("addToLists") or [],
                                        remove=props.get("removeFromLists") or [])
            elif (handler := ACTION_HANDLERS.get(action.type)) is not None:
                for item, s in entries:
                    outcome = Submitted(submission_id=s, contact_id=item.contact_id)
                    try:
                        with session.begin_nested():
                            # forms._ActionContext names a FormSubmission; its handlers read only its id, which this
                            # reference to a row written in bulk carries. Widen that field in services.forms, then drop this.
                            context = _ActionContext(form, _SubmissionRef(s),  # type: ignore[arg-type]
                                                     item.contact_id, item.posted, outcome)
                            handler(session, context, props)
                    except Exception:  # noqa: BLE001  (one broken action must not lose the submissions)
                        log.exception("form %s action %s failed", form_id, action.type)
                    if outcome.repost:
                        reposts.append(outcome.repost["submission_id"])


@dataclass
class _SubmissionRef:
    id: int


def _add_points(session: Session, times: Counter[int], delta: int, reason: str, events: list[bulk.Event]) -> None:
    """Each contact gains ``delta`` per submission of this run, one statement per distinct total."""
    if not delta:
        return
    by_total: dict[int, list[int]] = defaultdict(list)
    for contact_id, n in times.items():
        by_total[delta * n].append(contact_id)
    for total, ids in by_total.items():
        for contact_id, new in session.execute(sa.update(Contact).where(col(Contact.id).in_(ids))
                                               .values(points=col(Contact.points) + total, date_modified=utcnow())
                                               .returning(col(Contact.id), col(Contact.points))).tuples().all():
            start = new - total
            events += [{"contact_id": contact_id, "event_type": "points",  # one line per submission, as one by one
                        "details": {"old": start + delta * k, "new": start + delta * (k + 1), "delta": delta, "reason": reason}}
                       for k in range(times[contact_id])]

