"""The campaign engine: who is in a campaign, what is due for them, and running it exactly once.

Due work lives in ``campaign_log`` (one row per event, contact and rotation, unique). A run claims a batch of due
rows and performs them in the same transaction that marks them done and schedules what follows; on PostgreSQL the
claim is ``FOR UPDATE SKIP LOCKED`` (two workers never take one row), on SQLite the transaction is the one writer.
A worker killed mid-batch rolls the whole batch back, so the next run performs it once. Effects outside the
database follow the commit: e-mails go through the send ledger (each message once), webhooks through their task.
What follows an event at once (no wait, no hour or day to keep to) runs straight after it in the same transaction,
its log rows written already done. The log is also the contact's timeline for campaign events.

Three kinds of work, all found through the due index (scheduled rows by time), never by scanning contacts:
kick-off (root events of new members are scheduled when they join), scheduled events whose time has come, and
inactivity (a decision's no-path events are scheduled as deadlines and run only if it is still waiting).
Decisions fire in real time (:func:`contacts_acted`) from tracking, forms and e-mail.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app import changefeed, clock, db
from mautic_app.domain import campaign_schedule as timing_rules
from mautic_app.domain import campaigns as rules
from mautic_app.domain import segments as segment_rules
from mautic_app.models import (
    Campaign,
    CampaignEvent,
    CampaignForm,
    CampaignLog,
    CampaignMember,
    CampaignSegment,
    Contact,
    ContactDevice,
    EmailStat,
    FormSubmission,
    SegmentContact,
)
from mautic_app.models.base import table_of
from mautic_app.settings import get_settings

log = logging.getLogger(__name__)

RUN_TASK = "mautic.campaigns.run"
WEBHOOK_TASK = "mautic.campaigns.send_webhook"
MAX_ATTEMPTS = 3  # a failing action is tried this often, an hour apart, then shown as failed
RETRY_WAIT = timedelta(hours=1)
OPEN = ("scheduled", "waiting")
TOPIC = "campaigns"


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------ the graph of a campaign


def event_of(row: CampaignEvent) -> rules.Event:
    assert row.id is not None
    return rules.Event(id=row.id, kind=row.kind, type=row.event_type, name=row.name, parent=row.parent_id,
                       path=row.decision_path, properties=dict(row.properties or {}),
                       timing=rules.timing_of(row.trigger_mode, row.trigger_interval, row.trigger_interval_unit,
                                              _naive(row.trigger_date) if row.trigger_date else None, row.trigger_hour,
                                              row.trigger_window_start, row.trigger_window_stop, row.trigger_weekdays or ()))


def graph(*, session: Session, campaign_id: int) -> rules.Graph:
    rows = session.exec(sa.select(CampaignEvent).where(col(CampaignEvent.campaign_id) == campaign_id,  # type: ignore[call-overload]
                                                       col(CampaignEvent.deleted).is_(False))).scalars().all()
    return rules.Graph.of(event_of(r) for r in rows)


@dataclass
class _Run:
    """What one transaction of the engine has looked up already."""

    session: Session
    now: datetime
    graphs: dict[int, rules.Graph] = field(default_factory=dict)
    zones: dict[int, str | None] = field(default_factory=dict)
    touched: set[int] = field(default_factory=set)  # campaigns whose counts changed
    dry: bool = False
    ran: int = 0  # log rows run: those claimed and those run straight after the event before them

    def graph(self, campaign_id: int) -> rules.Graph:
        if campaign_id not in self.graphs:
            self.graphs[campaign_id] = graph(session=self.session, campaign_id=campaign_id)
        return self.graphs[campaign_id]

    def zones_of(self, contact_ids: Iterable[int]) -> dict[int, str | None]:
        wanted = [c for c in contact_ids if c not in self.zones]
        for i in range(0, len(wanted), 1000):
            chunk = wanted[i:i + 1000]
            self.zones.update({c: None for c in chunk})
            self.zones.update(self.session.execute(sa.select(col(Contact.id), col(Contact.timezone)).where(
                db.among(self.session, col(Contact.id), chunk))).tuples().all())
        return self.zones


def default_zone() -> str:
    return "UTC"


def due_time(timing: timing_rules.Timing, reference: datetime, now: datetime, zone: str | None) -> datetime:
    return _aware(timing_rules.scheduled_at(timing, _naive(reference), _naive(now), zone, default_zone()))


# ------------------------------------------------------------------ scheduling


def _schedule(run: _Run, campaign_id: int, items: Sequence[tuple[rules.Event, int, int]], reference: datetime) -> None:
    """Insert the log rows for (event, contact, rotation): scheduled at their time, or waiting for a decision.
    A row that exists already (a second add, a replayed batch) is left as it is: that is the exactly-once rule."""
    if not items:
        return
    restricted = [c for e, c, _ in items if e.timing.restricted]
    zones = run.zones_of(restricted) if restricted else {}
    rows: list[dict[str, Any]] = []
    same_for_all: dict[Any, datetime] = {}  # an event whose time does not depend on the contact's zone: computed once
    for e, contact_id, rotation in items:
        if e.kind == rules.DECISION:
            status, when = "waiting", None
        elif e.timing.restricted:
            status, when = "scheduled", due_time(e.timing, reference, run.now, zones.get(contact_id))
        else:
            if e.id not in same_for_all:
                same_for_all[e.id] = due_time(e.timing, reference, run.now, None)
            status, when = "scheduled", same_for_all[e.id]
        rows.append({"campaign_id": campaign_id, "event_id": e.id, "contact_id": contact_id, "rotation": rotation, "status": status,
                     "trigger_date": when, "system_triggered": True, "attempts": 0, "metadata": {}, "date_added": run.now})
    t = table_of(CampaignLog)
    for i in range(0, len(rows), 2000):
        run.session.execute(db.insert(run.session, t).on_conflict_do_nothing(
            index_elements=["event_id", "contact_id", "rotation"]), rows[i:i + 2000])
    run.touched.add(campaign_id)


def _start(run: _Run, campaign_id: int, members: Sequence[tuple[int, int]]) -> None:
    """Kick-off: the root events for contacts who just joined (``(contact id, rotation)``)."""
    g = run.graph(campaign_id)
    items: list[tuple[rules.Event, int, int]] = []
    for root in g.roots():
        targets = [root, *g.no_path_of(root.id)] if root.kind == rules.DECISION else [root]
        items.extend((e, c, r) for e in targets for c, r in members)
    _schedule(run, campaign_id, items, run.now)


def _follow(run: _Run, campaign_id: int, event: rules.Event, path: str | None, done: Sequence[tuple[int, int]],
            log_ids: Sequence[int] | None = None) -> None:
    """Schedule what follows ``event`` for ``done`` (``(contact, rotation)``). Given ``log_ids`` (the log rows of
    ``done``), events whose time does not depend on the contact's zone are inserted set-based, copied from those
    rows by the database: no parameter per contact; and those due at once run at once (:func:`_run_now`)."""
    g = run.graph(campaign_id)
    nxt, waiting = rules.after_run(g, event, path)
    targets = [*waiting, *nxt]
    if not targets or not done:
        return
    if log_ids is not None and not any(e.timing.restricted for e in targets):
        now = [e for e in targets if _runs_at_once(run, g, e)]
        _schedule_from_log(run, campaign_id, [e for e in targets if e not in now], log_ids)
        for e in now:
            _run_now(run, campaign_id, e, done, log_ids)
        return
    _schedule(run, campaign_id, [(e, c, r) for e in targets for c, r in done], run.now)


def _runs_at_once(run: _Run, g: rules.Graph, e: rules.Event) -> bool:
    """An action or condition due as soon as the event before it ran (not a decision's deadline)."""
    return e.kind != rules.DECISION and g.decision_of(e) is None and not e.timing.restricted \
        and due_time(e.timing, run.now, run.now, None) <= run.now


def _run_now(run: _Run, campaign_id: int, e: rules.Event, done: Sequence[tuple[int, int]], log_ids: Sequence[int]) -> None:
    """Run an immediate event straight after the one before it, in the same transaction. Its log rows are inserted
    already done: each is written once, instead of scheduled, claimed and then marked. The unique (event, contact,
    rotation) key still decides who runs it: a row that exists already (a replayed batch) is not run again."""
    if e.kind == rules.CONDITION:
        yes = conditions_met(run, e, [c for c, _ in done])
        for path in (rules.YES, rules.NO):
            ids = [lid for (c, _), lid in zip(done, log_ids, strict=True) if (c in yes) == (path == rules.YES)]
            rows = _insert_done(run, campaign_id, e, ids, path)
            _follow(run, campaign_id, e, path, [(r.contact_id, r.rotation) for r in rows], [r.id for r in rows])
        return
    rows = _insert_done(run, campaign_id, e, log_ids, None)
    if not rows:
        return
    outcome = Outcome() if run.dry else perform(run, campaign_id, e, [r.contact_id for r in rows])
    _settle(run, campaign_id, e, rows, outcome, marked=True)


def _insert_done(run: _Run, campaign_id: int, e: rules.Event, log_ids: Sequence[int], path: str | None) -> list[LogRow]:
    """Log rows of ``e``, done now, for the contacts and rotations of the log rows ``log_ids``; returns those inserted."""
    t = table_of(CampaignLog)
    src = t.alias("ran")
    step = max(len(log_ids), 1) if run.session.get_bind().dialect.name == "postgresql" else 1000
    out: list[LogRow] = []
    for i in range(0, len(log_ids), step):
        rows = sa.select(sa.literal(campaign_id), sa.literal(e.id), src.c.contact_id, src.c.rotation, sa.literal("done"), sa.literal(path),
                         sa.literal(run.now, t.c.trigger_date.type), sa.literal(run.now, t.c.date_triggered.type), sa.true(), sa.literal(0),
                         sa.literal({}, t.c.metadata.type), sa.literal(run.now, t.c.date_added.type)
                         ).where(db.among(run.session, src.c.id, list(log_ids[i:i + step])))
        stmt = db.insert(run.session, t).from_select(["campaign_id", "event_id", "contact_id", "rotation", "status", "path", "trigger_date",
                                                    "date_triggered", "system_triggered", "attempts", "metadata", "date_added"], rows)
        out += map(LogRow._make, run.session.execute(stmt.on_conflict_do_nothing(
            index_elements=["event_id", "contact_id", "rotation"]).returning(t.c.id, t.c.contact_id, t.c.rotation, t.c.attempts)).tuples())
    run.touched.add(campaign_id)
    run.ran += len(out)
    return out


def _schedule_from_log(run: _Run, campaign_id: int, targets: Sequence[rules.Event], log_ids: Sequence[int]) -> None:
    """:func:`_schedule` for the contacts and rotations of the log rows ``log_ids``, due at the same time for all."""
    t = table_of(CampaignLog)
    src = t.alias("ran")
    step = len(log_ids) if run.session.get_bind().dialect.name == "postgresql" else 1000
    for e in targets:
        status, when = ("waiting", None) if e.kind == rules.DECISION else ("scheduled", due_time(e.timing, run.now, run.now, None))
        for i in range(0, len(log_ids), step):
            rows = sa.select(sa.literal(campaign_id), sa.literal(e.id), src.c.contact_id, src.c.rotation, sa.literal(status),
                             sa.literal(when, t.c.trigger_date.type), sa.true(), sa.literal(0), sa.literal({}, t.c.metadata.type),
                             sa.literal(run.now, t.c.date_added.type)).where(db.among(run.session, src.c.id, list(log_ids[i:i + step])))
            stmt = db.insert(run.session, t).from_select(["campaign_id", "event_id", "contact_id", "rotation", "status", "trigger_date",
                                                        "system_triggered", "attempts", "metadata", "date_added"], rows)
            run.session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id", "contact_id", "rotation"]))
    run.touched.add(campaign_id)


# ------------------------------------------------------------------ membership


def is_live(c: Campaign, now: datetime) -> bool:
    """Published, and inside its publish dates."""
    return bool(c.is_published) and (c.publish_up is None or _aware(c.publish_up) <= now) and \
        (c.publish_down is None or _aware(c.publish_down) > now)


def add_contacts(*, session: Session, campaign_id: int, contact_ids: Iterable[int], manually: bool = True,
                 now: datetime | None = None) -> int:
    """Add contacts (by hand, the API, a form or another campaign). A contact removed earlier comes back in a new
    rotation when added by hand or when the campaign allows restarts; returns how many joined."""
    run = _Run(session, now or clock.now())
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"Campaign {campaign_id} not found.")
    db.take_sqlite_write_lock(session.connection())
    ids = sorted({int(i) for i in contact_ids})
    existing = {m.contact_id: m for m in session.exec(sa.select(CampaignMember).where(  # type: ignore[call-overload]
        col(CampaignMember.campaign_id) == campaign_id, db.among(session, col(CampaignMember.contact_id), ids))).scalars()} if ids else {}
    real = set(session.execute(sa.select(col(Contact.id)).where(db.among(session, col(Contact.id), ids))).scalars()) if ids else set()
    joined: list[tuple[int, int]] = []
    new_rows = []
    for cid in ids:
        if cid not in real:
            continue
        m = existing.get(cid)
        if m is None:
            new_rows.append({"campaign_id": campaign_id, "contact_id": cid, "rotation": 1, "manually_added": manually,
                             "manually_removed": False, "removed": False, "date_added": run.now})
            joined.append((cid, 1))
        elif m.removed and (manually or (campaign.allow_restart and not m.manually_removed)):
            m.removed, m.manually_removed, m.manually_added = False, False, manually or m.manually_added
            m.rotation += 1
            m.date_added = run.now
            session.add(m)
            joined.append((cid, m.rotation))
    if new_rows:
        session.execute(db.insert(session, table_of(CampaignMember)).on_conflict_do_nothing(index_elements=["campaign_id", "contact_id"]), new_rows)
    session.flush()
    if joined and is_live(campaign, run.now):
        _start(run, campaign_id, joined)
    _announce(run, [c for c, _ in joined])
    return len(joined)


def remove_contacts(*, session: Session, campaign_id: int, contact_ids: Iterable[int], manually: bool = True,
                    now: datetime | None = None) -> int:
    """Take contacts out: pending events are cancelled; a manual removal is not undone by their segments."""
    run = _Run(session, now or clock.now())
    db.take_sqlite_write_lock(session.connection())
    ids = sorted({int(i) for i in contact_ids})
    if not ids:
        return 0
    m = table_of(CampaignMember)
    out = session.execute(sa.update(m).where(m.c.campaign_id == campaign_id, db.among(session, m.c.contact_id, ids), m.c.removed.is_(False))
                          .values(removed=True, manually_removed=manually, date_last_exited=run.now).returning(m.c.contact_id)).scalars().all()
    if manually:  # already out, now also kept out
        session.execute(sa.update(m).where(m.c.campaign_id == campaign_id, db.among(session, m.c.contact_id, ids)).values(manually_removed=True))
    _cancel_pending(session, campaign_id, list(out))
    run.touched.add(campaign_id)
    _announce(run, list(out))
    return len(out)


def _cancel_pending(session: Session, campaign_id: int, contact_ids: list[int]) -> None:
    t = table_of(CampaignLog)
    for i in range(0, len(contact_ids), 1000):
        session.execute(sa.update(t).where(t.c.campaign_id == campaign_id, t.c.contact_id.in_(contact_ids[i:i + 1000]), t.c.status.in_(OPEN))
                        .values(status="cancelled"))


def sync_members(*, session: Session, campaign_id: int, now: datetime | None = None) -> dict[str, int]:
    """Follow the source segments: their members join (in one statement), contacts in none of them leave unless
    added by hand. Contacts removed by hand stay out. Only a live campaign takes members in."""
    run = _Run(session, now or clock.now())
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or not is_live(campaign, run.now):
        return {"joined": 0, "left": 0}
    db.take_sqlite_write_lock(session.connection())
    m, sc, src = table_of(CampaignMember), table_of(SegmentContact), table_of(CampaignSegment)
    sources = sa.and_(sc.c.segment_id.in_(sa.select(src.c.segment_id).where(src.c.campaign_id == campaign_id)),
                      sc.c.manually_removed.is_(False))  # a row removed by hand stays as a marker, not a member
    in_sources = sa.select(sc.c.contact_id).where(sources)
    joining = sa.select(sa.literal(campaign_id), sc.c.contact_id, sa.literal(1), sa.false(), sa.false(), sa.false(),
                        sa.literal(run.now, m.c.date_added.type)).distinct().where(
        sources, ~sa.exists().where(m.c.campaign_id == campaign_id, m.c.contact_id == sc.c.contact_id))
    # Two syncs at once (a publish and a segment change) each add a member once: the second finds it there.
    joined = len(session.execute(db.insert(session, m).from_select(
        ["campaign_id", "contact_id", "rotation", "manually_added", "manually_removed", "removed", "date_added"], joining)
        .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id"]).returning(m.c.contact_id)).all())
    back: list[tuple[int, int]] = []
    if campaign.allow_restart:  # left a source earlier and is back: a new rotation
        back = [(r.contact_id, r.rotation) for r in session.execute(
            sa.update(m).where(m.c.campaign_id == campaign_id, m.c.removed.is_(True), m.c.manually_removed.is_(False),
                               m.c.contact_id.in_(in_sources))
            .values(removed=False, rotation=m.c.rotation + 1, date_added=run.now).returning(m.c.contact_id, m.c.rotation))]
    left = session.execute(sa.update(m).where(m.c.campaign_id == campaign_id, m.c.removed.is_(False), m.c.manually_added.is_(False),
                                              m.c.contact_id.not_in(in_sources))
                           .values(removed=True, date_last_exited=run.now).returning(m.c.contact_id)).scalars().all()
    _cancel_pending(session, campaign_id, list(left))
    if joined:
        _start_joined_at(run, campaign_id)
    if back:
        _start(run, campaign_id, back)
    # Members added (by hand, the API) while the campaign was not live yet start now.
    t = table_of(CampaignLog)
    waiting_to_start = [(r.contact_id, r.rotation) for r in session.execute(sa.select(m.c.contact_id, m.c.rotation).where(
        m.c.campaign_id == campaign_id, m.c.removed.is_(False), m.c.date_added != run.now,
        ~sa.exists().where(t.c.campaign_id == campaign_id, t.c.contact_id == m.c.contact_id, t.c.rotation == m.c.rotation)))]
    if waiting_to_start and run.graph(campaign_id).roots():
        _start(run, campaign_id, waiting_to_start)
        joined += len(waiting_to_start)
    if joined or back or left:
        run.touched.add(campaign_id)
        _announce(run, [])
    return {"joined": joined + len(back), "left": len(left)}


def _start_joined_at(run: _Run, campaign_id: int) -> None:
    """Kick-off for everyone who joined at ``run.now``: set-based when the root events' times do not depend on
    the contact's time zone, else per contact."""
    g = run.graph(campaign_id)
    m, t = table_of(CampaignMember), table_of(CampaignLog)
    roots = [e for r in g.roots() for e in ([r, *g.no_path_of(r.id)] if r.kind == rules.DECISION else [r])]
    joined = sa.select(m.c.contact_id, m.c.rotation).where(m.c.campaign_id == campaign_id, m.c.date_added == run.now, m.c.removed.is_(False))
    if any(e.timing.restricted for e in roots):
        members = [(r.contact_id, r.rotation) for r in run.session.execute(joined)]
        _start(run, campaign_id, members)
        return
    for e in roots:
        status, when = ("waiting", None) if e.kind == rules.DECISION else ("scheduled", due_time(e.timing, run.now, run.now, None))
        rows = sa.select(sa.literal(campaign_id), sa.literal(e.id), m.c.contact_id, m.c.rotation, sa.literal(status),
                         sa.literal(when, t.c.trigger_date.type), sa.true(), sa.literal(0), sa.literal({}, t.c.metadata.type),
                         sa.literal(run.now, t.c.date_added.type)).where(
            m.c.campaign_id == campaign_id, m.c.date_added == run.now, m.c.removed.is_(False))
        stmt = db.insert(run.session, t).from_select(["campaign_id", "event_id", "contact_id", "rotation", "status", "trigger_date",
                                                    "system_triggered", "attempts", "metadata", "date_added"], rows)
        run.session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id", "contact_id", "rotation"]))


def campaigns_of_segment(*, session: Session, segment_id: int) -> list[int]:
    return list(session.execute(sa.select(col(CampaignSegment.campaign_id)).where(col(CampaignSegment.segment_id) == segment_id)).scalars())


def forms_submitted(*, session: Session, submissions: Sequence[tuple[int, int, int | None]]) -> None:
    """Forms were submitted (``(form id, contact id, submission id)``): campaigns with the form as a source take
    the contact in, and waiting "submits form" decisions fire. Two small queries when no campaign uses forms."""
    if not submissions:
        return
    forms = sorted({f for f, _, _ in submissions})
    sources: dict[int, list[int]] = defaultdict(list)
    for campaign_id, form_id in session.execute(sa.select(col(CampaignForm.campaign_id), col(CampaignForm.form_id))
                                                .where(col(CampaignForm.form_id).in_(forms))).tuples():
        sources[campaign_id].append(form_id)
    now = clock.now()
    for campaign_id, form_ids in sorted(sources.items()):
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None and is_live(campaign, now):
            add_contacts(session=session, campaign_id=campaign_id, contact_ids=[c for f, c, _ in submissions if f in form_ids], manually=False)
    contacts_acted(session=session, actions=[("form.submit", c, {"form_id": f, "submission_id": s}) for f, c, s in submissions])


# ------------------------------------------------------------------ decisions, in real time


def contacts_acted(*, session: Session, actions: Sequence[tuple[str, int, dict[str, Any]]]) -> int:
    """Contacts did something (``(signal, contact id, data)``: ``email.open`` with ``stat_id``, ``email.click``
    with ``stat_id`` and ``url``, ``form.submit`` with ``form_id``, ``page.pagehit`` with ``url``, ``referer`` and
    the device): the decisions waiting for it take their yes path. One indexed query for the whole group."""
    if not actions:
        return 0
    signals = {s for s, _, _ in actions}
    types = [t for t, sigs in rules.DECISION_SIGNALS.items() if signals & set(sigs)]
    ids = sorted({c for _, c, _ in actions})
    t, ev = table_of(CampaignLog), table_of(CampaignEvent)
    waiting = session.execute(sa.select(t.c.id, t.c.campaign_id, t.c.event_id, t.c.contact_id, t.c.rotation).join(ev, ev.c.id == t.c.event_id)
                              .where(db.among(session, t.c.contact_id, ids), t.c.status == "waiting", ev.c.event_type.in_(types))).all()
    if not waiting:
        return 0
    stat_ids = {int(d["stat_id"]) for s, _, d in actions if s.startswith("email.") and d.get("stat_id")}
    sources = dict(session.execute(sa.select(col(EmailStat.id), col(EmailStat.source_id)).where(
        col(EmailStat.id).in_(stat_ids), col(EmailStat.source) == "campaign")).tuples().all()) if stat_ids else {}
    devices = {}
    wanted = {d["device_id"] for _, _, d in actions if d.get("device_id")}
    if wanted and "page.devicehit" in types:
        devices = {r.id: {"device_type": r.device, "device_brand": r.device_brand, "device_os": r.device_os_name}
                   for r in session.execute(sa.select(ContactDevice).where(col(ContactDevice.id).in_(wanted))).scalars()}
    run = _Run(session, clock.now())
    by_contact: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for signal, contact_id, data in actions:
        if signal.startswith("email.") and data.get("stat_id"):
            data = {**data, "event_id": sources.get(int(data["stat_id"]))}
        if data.get("device_id") in devices:
            data = {**data, **devices[data["device_id"]]}
        by_contact[contact_id].append((signal, data))
    fired: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)  # (campaign, decision) -> [(contact, rotation)]
    taken: list[int] = []
    for row in waiting:
        campaign = session.get(Campaign, row.campaign_id)
        if campaign is None or not is_live(campaign, run.now):
            continue
        decision = run.graph(row.campaign_id).events.get(row.event_id)
        if decision is None:
            continue
        sigs = rules.DECISION_SIGNALS.get(decision.type, ())
        if any(s in sigs and rules.decision_matches(decision, d) for s, d in by_contact[row.contact_id]):
            fired[(row.campaign_id, row.event_id)].append((row.contact_id, row.rotation))
            taken.append(row.id)
    if not taken:
        return 0
    db.take_sqlite_write_lock(session.connection())
    # Only rows still waiting now: of two writers that see one decision at once, one takes it.
    won = set(session.execute(sa.update(t).where(t.c.id.in_(taken), t.c.status == "waiting").values(
        status="done", path=rules.YES, date_triggered=run.now, system_triggered=False).returning(t.c.contact_id, t.c.event_id)).tuples())
    for (campaign_id, decision_id), members in fired.items():
        members = [(c, r) for c, r in members if (c, decision_id) in won]
        if not members:
            continue
        decision = run.graph(campaign_id).events[decision_id]
        no_ids = [e.id for e in run.graph(campaign_id).no_path_of(decision_id)]
        for c, r in members:
            if no_ids:
                session.execute(sa.update(t).where(t.c.event_id.in_(no_ids), t.c.contact_id == c, t.c.rotation == r, t.c.status == "scheduled")
                                .values(status="cancelled"))
        _follow(run, campaign_id, decision, rules.YES, members)
    _announce(run, ids)
    db.enqueue(session, RUN_TASK)
    return len(won)


# ------------------------------------------------------------------ running what is due


class LogRow(NamedTuple):
    """A log row being run (a plain tuple: batches hold thousands)."""

    id: int
    contact_id: int
    rotation: int
    attempts: int


@dataclass
class Outcome:
    """What an action did for a batch: contacts it failed for (with why), contacts it stopped (removed from the
    campaign, deleted), and notes to keep in the log."""

    failed: dict[int, str] = field(default_factory=dict)
    stopped: set[int] = field(default_factory=set)
    skipped: dict[int, str] = field(default_factory=dict)  # done, but nothing to do (already in the stage, ...)


def run_due(*, limit: int | None = None, now: datetime | None = None, seconds: float = 10.0) -> int:
    """Run due events in transactions of up to ``limit`` rows until nothing is due or ``seconds`` have passed;
    returns how many rows ran (the task queues itself again when the time ran out with work left)."""
    started, total = time.monotonic(), 0
    limit = limit or get_settings().campaign_batch_size
    refresh_log_statistics()
    while True:
        with db.session_scope() as session:
            n = run_batch(session=session, limit=limit, now=now)
        total += n
        if n == 0:
            return total
        if time.monotonic() - started > seconds:
            return -total  # negative: more may be due (what ran scheduled what follows it)


def refresh_log_statistics() -> None:
    """ANALYZE the log (PostgreSQL, on a connection of its own, outside any transaction) once a tenth of it changed.

    The log is a queue: rows go from scheduled to done by the hundred thousand within minutes, faster than autovacuum
    looks. With statistics taken when nothing was scheduled, PostgreSQL claims each batch by fetching and sorting every
    scheduled row (45-70 ms a batch with 100,000 due, growing with the dead index entries) instead of reading the first
    ones off the due index (a few ms)."""
    engine = db.get_engine()
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        stale = conn.execute(sa.text(
            "SELECT 1 FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = 'campaign_log' "
            "AND (c.reltuples < 0 OR s.n_mod_since_analyze > greatest(0.1 * c.reltuples, 1000))")).first()
        if stale:
            conn.execute(sa.text("ANALYZE campaign_log"))


def run_batch(*, session: Session, limit: int = 500, now: datetime | None = None, dry: bool = False) -> int:
    """Claim up to ``limit`` due rows of live campaigns and run them, in the caller's transaction."""
    run = _Run(session, now or clock.now(), dry=dry)
    db.take_sqlite_write_lock(session.connection())
    live = [c.id for c in session.exec(sa.select(Campaign).where(col(Campaign.is_published).is_(True))).scalars()  # type: ignore[call-overload]
            if is_live(c, run.now)]
    if live and session.get_bind().dialect.name == "postgresql":
        # The log has no foreign key to its campaign: this batch holds its campaigns instead (a share lock, as a foreign
        # key check would take per row), so a campaign deleted meanwhile waits for it, or is gone from it.
        c = table_of(Campaign)
        live = list(session.execute(sa.select(c.c.id).where(c.c.id.in_(live)).order_by(c.c.id).with_for_update(key_share=True)).scalars())
    if not live:
        return 0
    t = table_of(CampaignLog)
    # Compared to the minute: an event due at 09:20:45 runs at 09:20:30.
    horizon = run.now.replace(second=59, microsecond=999999)
    # "scheduled" is written out, not bound: the planners use the partial due index only for a predicate they can read.
    # SQLite (no statistics) would rather read the whole campaign by its campaign index: "+ 0" keeps it off that one.
    postgres = session.get_bind().dialect.name == "postgresql"
    q = sa.select(t.c.id, t.c.campaign_id, t.c.event_id, t.c.contact_id, t.c.rotation, t.c.attempts).where(
        t.c.status == sa.literal_column("'scheduled'"), t.c.trigger_date <= horizon,
        (t.c.campaign_id if postgres else t.c.campaign_id + 0).in_(live)).order_by(t.c.trigger_date).limit(limit)
    if postgres:
        q = q.with_for_update(skip_locked=True)
    rows = session.execute(q).tuples().all()
    by_event: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for log_id, campaign_id, event_id, contact_id, rotation, attempts in rows:
        by_event[(campaign_id, event_id)].append(LogRow(log_id, contact_id, rotation, attempts))
    run.ran += len(rows)
    for (campaign_id, event_id), group in by_event.items():
        _run_event(run, campaign_id, event_id, group)
    _announce(run, [])
    return run.ran


def _mark(run: _Run, ids: Sequence[int], **values: Any) -> None:
    """Set ``values`` on the log rows ``ids``: one statement with one array parameter on PostgreSQL."""
    t = table_of(CampaignLog)
    step = max(len(ids), 1) if run.session.get_bind().dialect.name == "postgresql" else 1000
    for i in range(0, len(ids), step):
        run.session.execute(sa.update(t).where(db.among(run.session, t.c.id, list(ids[i:i + step]))).values(**values))


def _run_event(run: _Run, campaign_id: int, event_id: int, group: list[Any]) -> None:
    g = run.graph(campaign_id)
    event = g.events.get(event_id)
    run.touched.add(campaign_id)
    if event is None:  # deleted from the canvas since it was scheduled
        _mark(run, [r.id for r in group], status="cancelled")
        return
    decision = g.decision_of(event)
    if decision is not None:
        group = _still_waiting(run, decision, group)
        if not group:
            return
    contact_ids = [r.contact_id for r in group]
    if event.kind == rules.CONDITION:
        yes = conditions_met(run, event, contact_ids)
        for path in (rules.YES, rules.NO):
            chosen = [r for r in group if (r.contact_id in yes) == (path == rules.YES)]
            _mark(run, [r.id for r in chosen], status="done", path=path, date_triggered=run.now)
            _follow(run, campaign_id, event, path, [(r.contact_id, r.rotation) for r in chosen], [r.id for r in chosen])
        return
    if event.kind == rules.DECISION:  # a decision is never run by the scheduler; a stray row just waits
        _mark(run, [r.id for r in group], status="waiting", trigger_date=None)
        return
    outcome = Outcome() if run.dry else perform(run, campaign_id, event, contact_ids)
    _settle(run, campaign_id, event, group, outcome, marked=False)


def _settle(run: _Run, campaign_id: int, event: rules.Event, group: Sequence[Any], outcome: Outcome, *, marked: bool) -> None:
    """Record an action's outcome on its log rows (``marked``: they say done already) and follow it."""
    if not (outcome.failed or outcome.skipped or outcome.stopped):  # the usual case, without a look at each row
        if not marked:
            _mark(run, [r.id for r in group], status="done", date_triggered=run.now)
        _follow(run, campaign_id, event, None, [(r.contact_id, r.rotation) for r in group], [r.id for r in group])
        return
    done = [r for r in group if r.contact_id not in outcome.failed]
    if not marked:
        _mark(run, [r.id for r in done if r.contact_id not in outcome.skipped], status="done", date_triggered=run.now)
    skipped: dict[str, list[int]] = defaultdict(list)  # one statement per reason (a few), not per contact
    for r in done:
        if r.contact_id in outcome.skipped:
            skipped[outcome.skipped[r.contact_id][:500]].append(r.id)
    for why, ids in skipped.items():
        _mark(run, ids, status="done", date_triggered=run.now, metadata={"skipped": why})
    for r in group:
        if r.contact_id in outcome.failed:
            why = outcome.failed[r.contact_id][:500]
            if r.attempts + 1 < MAX_ATTEMPTS:
                _mark(run, [r.id], status="scheduled", date_triggered=None, attempts=r.attempts + 1,
                      trigger_date=_aware(timing_rules.next_retry(_naive(run.now), RETRY_WAIT)), metadata={"error": why})
            else:
                _mark(run, [r.id], status="failed", attempts=r.attempts + 1, date_triggered=run.now, metadata={"error": why})
    going_on = [r for r in group if r.contact_id not in outcome.failed and r.contact_id not in outcome.stopped]
    _follow(run, campaign_id, event, None, [(r.contact_id, r.rotation) for r in going_on], [r.id for r in going_on])


def _still_waiting(run: _Run, decision: rules.Event, group: list[Any]) -> list[Any]:
    """A no-path event runs only for contacts whose decision is still waiting; that decision is taken "no" now."""
    t = table_of(CampaignLog)
    keys = {(r.contact_id, r.rotation) for r in group}
    waiting = {(r.contact_id, r.rotation): r.id for r in run.session.execute(
        sa.select(t.c.id, t.c.contact_id, t.c.rotation).where(t.c.event_id == decision.id, t.c.status.in_(("waiting", "done")),
                                                               sa.or_(t.c.path.is_(None), t.c.path != rules.YES),
                                                               db.among(run.session, t.c.contact_id, sorted({c for c, _ in keys}))))
        if (r.contact_id, r.rotation) in keys}
    gone = [r.id for r in group if (r.contact_id, r.rotation) not in waiting]
    _mark(run, gone, status="cancelled")
    _mark(run, list(waiting.values()), status="done", path=rules.NO, date_triggered=run.now)
    return [r for r in group if (r.contact_id, r.rotation) in waiting]


def _announce(run: _Run, contact_ids: list[int]) -> None:
    if run.dry:
        return
    for campaign_id in run.touched:
        changefeed.publish_after_commit(run.session, f"campaign:{campaign_id}", {"action": "progress"})
    if run.touched:
        changefeed.publish_after_commit(run.session, TOPIC, {"ids": sorted(run.touched), "action": "progress"})
    if contact_ids:
        changefeed.publish_after_commit(run.session, "contacts", {"ids": contact_ids[:1000], "action": "campaigns"})


# ------------------------------------------------------------------ conditions


def conditions_met(run: _Run, event: rules.Event, contact_ids: list[int]) -> set[int]:
    """The contacts among ``contact_ids`` for whom the condition holds now."""
    session = run.session
    filters = rules.condition_filters(event)
    if filters is not None:
        from mautic_app.services import segments as segment_service  # segments import campaigns (membership follows them)
        comp = segment_service.compiler(session=session, now=run.now)
        try:
            cond = comp.condition(segment_rules.parse_filters(filters))
        except segment_rules.FilterError as exc:
            log.warning("condition %s cannot be checked: %s", event.id, exc)
            return set()
        c = comp.t.contacts
        out: set[int] = set()
        step = max(len(contact_ids), 1) if session.get_bind().dialect.name == "postgresql" else 1000  # one array parameter there
        for i in range(0, len(contact_ids), step):
            out |= set(session.execute(sa.select(c.c.id).where(db.among(session, c.c.id, contact_ids[i:i + step]), cond)).scalars())
        return out
    p = event.properties
    if event.type == "lead.campaigns":
        m = table_of(CampaignMember)
        wanted = [run_campaign for run_campaign in rules.ids_of(p.get("campaigns"))]
        inside = set(session.execute(sa.select(m.c.contact_id).where(m.c.campaign_id.in_(wanted), m.c.removed.is_(False),
                                                                     m.c.contact_id.in_(contact_ids))).scalars())
        return set(contact_ids) - inside if str(p.get("status") or "in") == "notin" else inside
    if event.type == "email.validate.address":
        rows = session.execute(sa.select(col(Contact.id), col(Contact.email)).where(col(Contact.id).in_(contact_ids))).tuples()
        return {cid for cid, email in rows if rules.valid_email(email)}
    if event.type == "form.field_value":
        return _form_field_matches(session, p, contact_ids)
    return set()


def _form_field_matches(session: Session, p: dict[str, Any], contact_ids: list[int]) -> set[int]:
    """Contacts whose latest submission of the form has the field matching (Mautic reads the latest one)."""
    form_id = rules.ids_of(p.get("form"))
    alias, operator, wanted = str(p.get("field") or ""), str(p.get("operator") or "="), p.get("value")
    if not form_id or not alias:
        return set()
    s = table_of(FormSubmission)
    latest: dict[int, dict[str, Any]] = {}
    for row in session.execute(sa.select(s.c.contact_id, s.c["values"]).where(s.c.form_id == form_id[0], s.c.contact_id.in_(contact_ids))
                               .order_by(s.c.date_submitted)):
        latest[row.contact_id] = row[1] or {}
    return {cid for cid, values in latest.items() if rules.value_matches(values.get(alias), operator, wanted)}


# ------------------------------------------------------------------ actions


def perform(run: _Run, campaign_id: int, event: rules.Event, contact_ids: list[int]) -> Outcome:
    """Do an action for a batch of contacts, in the run's transaction (so it is undone with the batch if the
    worker dies); effects outside the database are handed to after-commit work."""
    from mautic_app.services import campaign_actions  # the actions reach into every other area's services
    handler = campaign_actions.HANDLERS.get(event.type)
    if handler is None:
        return Outcome(failed={c: f"No handler for {event.type}." for c in contact_ids})
    try:
        with run.session.begin_nested():
            return handler(run.session, campaign_id, event, contact_ids, run.now)
    except campaign_actions.ActionError as exc:
        return Outcome(failed={c: str(exc) for c in contact_ids})
    except Exception as exc:  # noqa: BLE001  (one broken event must not stop the others; it shows as failed)
        log.exception("campaign %s event %s failed", campaign_id, event.id)
        return Outcome(failed={c: f"{type(exc).__name__}: {exc}" for c in contact_ids})


def jump(*, session: Session, campaign_id: int, target: rules.Event, members: Sequence[tuple[int, int]], now: datetime) -> None:
    """Jump to event: (re)schedule ``target`` for these contacts now, whether it ran for them before or not."""
    t = table_of(CampaignLog)
    run = _Run(session, now)
    for c, r in members:
        when = due_time(target.timing, now, now, run.zones_of([c]).get(c) if target.timing.restricted else None)
        updated = session.execute(sa.update(t).where(t.c.event_id == target.id, t.c.contact_id == c, t.c.rotation == r)
                                  .values(status="waiting" if target.kind == rules.DECISION else "scheduled", path=None,
                                          trigger_date=None if target.kind == rules.DECISION else when, attempts=0))
        if not db.rows_changed(updated):
            _schedule(run, campaign_id, [(target, c, r)], now)
