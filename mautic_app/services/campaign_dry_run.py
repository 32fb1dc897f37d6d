"""The dry run: a campaign run over its real audience on a simulated clock, with no side effects.

What it shares with the engine (``services.campaign_engine``), so the forecast and a real run decide alike:

- who takes part: the engine's membership rules (``sync_members``): current members, contacts of the source
  segments who would join, members removed earlier coming back only when restarts are allowed, never those
  removed by hand; members who already started go on from their rows in the event log (pending events, waiting
  decisions), the others start at the root events, as ``_start`` does;
- what follows an event: ``domain.campaigns.after_run`` (conditions' and decisions' paths, a decision's no-path
  events scheduled as deadlines with it), and one row per event and contact, so an event never runs twice for a
  contact except through "jump to event", as the log's unique key does;
- when: ``campaign_engine.due_time`` (``domain.campaign_schedule.scheduled_at``), in each contact's time zone when
  the timing is restricted to hours or weekdays;
- a no-path event runs only for contacts whose decision is still waiting, and takes it "no" (``_still_waiting``);
- conditions: the engine's own ``conditions_met`` against the real data, at the simulated time (relative dates);
- "remove from this campaign" and "delete contact" stop everything after them, "jump to event" schedules its
  target again.

Actions are counted, never performed, and nothing is written: every statement the dry run sends goes through a
guard that refuses writes (:func:`read_only`), nothing is queued and nothing waits for a commit. Contacts move in
sets that share an event and a due time, so 100,000 contacts take a second or two. An event's ``reach`` counts each
contact once (a jump back runs an event again for a contact, as the engine does, without counting it twice).

Decisions need a guess at what people will do: an "opens e-mail" or "clicks a link" decision takes the e-mail's
real open or click rate so far (none sent yet: nobody acts), chosen per contact by a hash of the contact and the
decision (:func:`expected_to_act`), so the forecast is stable; who acts does so at a moment spread over the
decision's wait (earlier more likely). Other decisions (forms, page visits, devices) are forecast as nobody acting.

A Celery task (``tasks.campaign_dry_runs``) runs it in the background for large audiences and keeps the result
for a day where the web process can read it (:func:`stored`): in Redis when the app has one, else as a JSON file
in the data folder (the one the server-less broker already shares between web and worker).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import os
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app import clock, db
from mautic_app.domain import campaigns as rules
from mautic_app.models import Campaign, CampaignForm, CampaignLog, CampaignMember, CampaignSegment, Contact, Email, SegmentContact
from mautic_app.models.base import table_of
from mautic_app.services import campaign_engine
from mautic_app.settings import get_settings

TASK = "mautic.campaigns.dry_run"
SAMPLES = 5
MAX_DAYS = 366
MAX_STEPS = 100_000  # groups simulated; only a campaign that keeps jumping back comes near it
ACT_SLOTS = 48  # who acts on a decision does so at one of this many moments spread over its wait
DEFAULT_WAIT = timedelta(days=1)  # the wait of a decision with no "no" path, over which its actors are spread
KEEP_RESULT = timedelta(days=1)
PROGRESS_SECONDS = 0.5
DAY = timedelta(days=1)

Progress = Callable[[float], None]


class DryRunWrote(RuntimeError):
    """The dry run tried to write: a bug, refused before it reached the database."""


# ------------------------------------------------------------------ read only


_WRITES = re.compile(r"^\s*(insert|update|delete|merge|upsert|replace|create|drop|alter|truncate|vacuum|reindex|lock|grant)\b"
                     r"|\bfor\s+(no\s+key\s+)?(update|share)\b|\binsert\s+into\b|\bdelete\s+from\b", re.IGNORECASE)


@contextmanager
def read_only(session: Session) -> Iterator[None]:
    """Inside: any statement on ``session``'s connection that would write or lock rows raises
    :class:`DryRunWrote` before it is sent, and the session does not flush what its caller left pending."""

    def guard(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _WRITES.search(statement):
            raise DryRunWrote(f"The dry run must not write: {statement[:200]}")

    conn = session.connection()
    sa.event.listen(conn, "before_cursor_execute", guard)
    try:
        with session.no_autoflush:
            yield
    finally:
        sa.event.remove(conn, "before_cursor_execute", guard)


# ------------------------------------------------------------------ who takes part


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Audience:
    """Who the simulation starts at the root events (``fresh``) and who goes on from the event log (``started``)."""

    def __init__(self, fresh: set[int], started: set[int]) -> None:
        self.fresh, self.started = fresh, started

    @property
    def everyone(self) -> set[int]:
        return self.fresh | self.started


def _current_rows(campaign_id: int, *columns: Any) -> sa.Select[Any]:
    """The event log's rows of the campaign's members in their current rotation."""
    m, t = table_of(CampaignMember), table_of(CampaignLog)
    return sa.select(*columns).select_from(t).join(m, sa.and_(m.c.campaign_id == t.c.campaign_id, m.c.contact_id == t.c.contact_id,
                                                               m.c.rotation == t.c.rotation)).where(t.c.campaign_id == campaign_id,
                                                                                                    m.c.removed.is_(False))


def _audience(session: Session, campaign_id: int, allow_restart: bool) -> _Audience:
    """``sync_members``'s rules, read only: members stay unless they are in no source and were not added by hand;
    source contacts not yet members join; members removed earlier (not by hand) come back when restarts are allowed."""
    m, sc, src, t = table_of(CampaignMember), table_of(SegmentContact), table_of(CampaignSegment), table_of(CampaignLog)
    in_sources = set(session.execute(sa.select(sc.c.contact_id).distinct().where(
        sc.c.segment_id.in_(sa.select(src.c.segment_id).where(src.c.campaign_id == campaign_id)), sc.c.manually_removed.is_(False))).scalars())
    staying: set[int] = set()
    known: set[int] = set()
    back: set[int] = set()
    for contact_id, removed, by_hand_out, by_hand_in in session.execute(sa.select(
            m.c.contact_id, m.c.removed, m.c.manually_removed, m.c.manually_added).where(m.c.campaign_id == campaign_id)).tuples():
        known.add(contact_id)
        if not removed and (by_hand_in or contact_id in in_sources):
            staying.add(contact_id)
        elif removed and allow_restart and not by_hand_out and contact_id in in_sources:
            back.add(contact_id)  # a new rotation: starts again
    started: set[int] = set()
    if staying and session.execute(sa.select(t.c.id).where(t.c.campaign_id == campaign_id).limit(1)).first() is not None:
        started = set(session.execute(_current_rows(campaign_id, t.c.contact_id).distinct()).scalars()) & staying
    return _Audience((staying - started) | (in_sources - known) | back, started)


def audience(*, session: Session, campaign_id: int) -> list[int]:
    """Who would take part if the campaign ran now (its members as its source segments would leave them)."""
    found = session.execute(sa.select(col(Campaign.allow_restart)).where(col(Campaign.id) == campaign_id)).first()
    if found is None:
        raise LookupError(f"Campaign {campaign_id} not found.")
    return sorted(_audience(session, campaign_id, bool(found[0])).everyone)


# ------------------------------------------------------------------ what people are expected to do


def _chance(contact_id: int, key: str) -> float:
    digest = hashlib.blake2b(f"{contact_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def expected_to_act(contact_id: int, decision_id: int | str, rate: float) -> bool:
    """Whether the dry run expects this contact to act on this decision, given the share who do (stable)."""
    return rate > 0 and _chance(contact_id, str(decision_id)) < rate


def _rates(session: Session, g: rules.Graph) -> tuple[dict[Any, float], list[str]]:
    """Per decision, the share of contacts expected to act, and the caveats that explain it."""
    rates: dict[Any, float] = {}
    notes: list[str] = []
    others = False
    for e in sorted(g.events.values(), key=lambda e: str(e.id)):
        if e.kind != rules.DECISION:
            continue
        parent = g.events.get(e.parent) if e.parent is not None else None
        email_ids = rules.ids_of(parent.properties.get("email")) if parent is not None and parent.type == "email.send" else []
        if e.type not in ("email.open", "email.click"):
            others = True
            continue
        row = session.execute(sa.select(col(Email.name), col(Email.sent_count), col(Email.read_count), col(Email.click_count))
                              .where(col(Email.id) == email_ids[0])).first() if email_ids else None
        label = e.name or rules.EVENT_TYPES[e.type].label
        if row is None or not row.sent_count:
            notes.append(f"\u201c{label}\u201d: the e-mail has not been sent yet, so nobody is expected to "
                         f"{'open' if e.type == 'email.open' else 'click'} it.")
            continue
        done = row.read_count if e.type == "email.open" else row.click_count
        rates[e.id] = min(1.0, done / row.sent_count)
        what = "opened" if e.type == "email.open" else "clicked (any link)"
        notes.append(f"\u201c{label}\u201d: {rates[e.id]:.0%} of contacts act, as \u201c{row.name}\u201d has been {what} "
                     f"{done:,} times in {row.sent_count:,} sends so far; each at a moment spread over the decision's wait.")
    if others:
        notes.append("Form submissions, page visits and device visits are forecast as nobody acting (nothing to go on): "
                     "their contacts take the no path once its wait is over.")
    return rates, notes


# ------------------------------------------------------------------ the forecast


class _Tally:
    def __init__(self, origin: datetime, days: int, samples: int) -> None:
        self.origin, self.days, self.room = origin, days, samples
        self.reach: dict[str, int] = defaultdict(int)
        self.yes: dict[str, int] = defaultdict(int)
        self.no: dict[str, int] = defaultdict(int)
        self.by_day: dict[str, list[int]] = defaultdict(lambda: [0] * (days + 1))
        self.samples: dict[str, list[int]] = defaultdict(list)
        self.counted: dict[str, set[int]] = defaultdict(set)

    def reached(self, event_id: Any, when: datetime, contacts: set[int]) -> set[int]:
        """Count the contacts that reach an event for the first time (a jump back brings some again); returns them."""
        key = str(event_id)
        first = contacts - self.counted[key]
        self.counted[key] |= first
        self.reach[key] += len(first)
        self.by_day[key][min(self.days, max(0, (when - self.origin) // DAY))] += len(first)
        room = self.room - len(self.samples[key])
        if room > 0:
            self.samples[key].extend(heapq.nsmallest(room, first))
        return first


class _Simulation:
    """The engine's state machine over sets of contacts: a heap of (due time, event, contacts)."""

    def __init__(self, session: Session, g: rules.Graph, campaign_id: int, origin: datetime, end: datetime, tally: _Tally,
                 rates: dict[Any, float], zones: dict[int, str | None]) -> None:
        self.session, self.g, self.campaign_id, self.end, self.tally = session, g, campaign_id, end, tally
        self.rates, self.zones = rates, zones
        self.run = campaign_engine._Run(session, origin, dry=True)  # noqa: SLF001  (for the engine's conditions_met)
        self.queue: list[tuple[datetime, int, str, Any, set[int]]] = []
        self.order = itertools.count()
        self.seen: dict[Any, set[int]] = defaultdict(set)  # the log's (event, contact) rows
        self.waiting: dict[Any, set[int]] = defaultdict(set)  # decision -> contacts waiting for it
        self.said_no: dict[Any, set[int]] = defaultdict(set)  # decision -> contacts it took "no" for
        self.gone: set[int] = set()  # removed from this campaign or deleted: nothing more runs for them
        self.steps = 0
        self.now = origin  # the simulated clock

    # -------------------------------------------------------- scheduling (campaign_engine._schedule)

    def push(self, when: datetime, kind: str, event_id: Any, contacts: set[int]) -> None:
        if contacts and when <= self.end:
            heapq.heappush(self.queue, (when, next(self.order), kind, event_id, contacts))

    def due(self, e: rules.Event, reference: datetime, contacts: set[int]) -> Iterable[tuple[datetime, set[int]]]:
        if not e.timing.restricted:
            return [(campaign_engine.due_time(e.timing, reference, reference, None), contacts)]
        by_zone: dict[str | None, set[int]] = defaultdict(set)
        for c in contacts:
            by_zone[self.zones.get(c)].add(c)
        out: dict[datetime, set[int]] = defaultdict(set)
        for zone, group in by_zone.items():
            out[campaign_engine.due_time(e.timing, reference, reference, zone)] |= group
        return out.items()

    def schedule(self, events: Sequence[rules.Event], when: datetime, contacts: set[int]) -> None:
        """Rows for (event, contact) that do not exist yet: decisions start waiting, the rest is due at its time."""
        for e in events:
            fresh = contacts - self.seen[e.id]
            if not fresh:
                continue
            self.seen[e.id] |= fresh
            if e.kind == rules.DECISION:
                self.wait(e, when, fresh)
            else:
                for due, group in self.due(e, when, fresh):
                    self.push(due, "run", e.id, group)

    def start(self, contacts: set[int], when: datetime) -> None:
        """Kick-off (``_start``): the root events, with a root decision's no-path deadlines."""
        self.schedule([e for r in self.g.roots() for e in ([r, *self.g.no_path_of(r.id)] if r.kind == rules.DECISION else [r])],
                      when, contacts)

    def follow(self, e: rules.Event, path: str | None, when: datetime, contacts: set[int]) -> None:
        nxt, waiting = rules.after_run(self.g, e, path)
        self.schedule([*waiting, *nxt], when, contacts)

    # -------------------------------------------------------- decisions

    def wait(self, d: rules.Event, since: datetime, contacts: set[int], *, already: bool = False) -> None:
        """Contacts start waiting for a decision; those expected to act do so at a moment within its wait (before
        its first no-path deadline). ``already``: they were waiting before the simulation started."""
        self.waiting[d.id] |= contacts
        if not already:
            self.tally.reached(d.id, since, contacts)
        rate = self.rates.get(d.id, 0.0)
        if not rate:
            return
        deadlines = [campaign_engine.due_time(e.timing, since, since, None) for e in self.g.no_path_of(d.id)]
        window = max(timedelta(0), min(deadlines) - since) if deadlines else DEFAULT_WAIT
        slots: dict[int, set[int]] = defaultdict(set)
        for c in contacts:
            if expected_to_act(c, d.id, rate):
                slots[int(ACT_SLOTS * _chance(c, f"t{d.id}") ** 2)].add(c)
        for slot, group in slots.items():
            when = since + window * slot / ACT_SLOTS
            if when >= self.now or not already:  # who is still waiting did not act in the past
                self.push(max(when, self.now), "act", d.id, group)

    def act(self, d: rules.Event, when: datetime, contacts: set[int]) -> None:
        """``contacts_acted``: those still waiting take the yes path now."""
        acting = (contacts & self.waiting[d.id]) - self.gone
        if not acting:
            return
        self.waiting[d.id] -= acting
        self.tally.yes[str(d.id)] += len(acting)
        self.follow(d, rules.YES, when, acting)

    # -------------------------------------------------------- running (campaign_engine._run_event)

    def run_event(self, e: rules.Event, when: datetime, contacts: set[int]) -> None:
        group = contacts - self.gone
        decision = self.g.decision_of(e)
        if decision is not None:  # _still_waiting: only for those the decision still waits for (or took "no" for)
            newly = group & self.waiting[decision.id]
            group &= newly | self.said_no[decision.id]
            self.waiting[decision.id] -= newly
            self.said_no[decision.id] |= newly
            self.tally.no[str(decision.id)] += len(newly)
        if not group:
            return
        first = self.tally.reached(e.id, when, group)
        if e.kind == rules.CONDITION:
            met = campaign_engine.conditions_met(self.run, e, sorted(group))
            yes, no = group & met, group - met
            self.tally.yes[str(e.id)] += len(yes & first)
            self.tally.no[str(e.id)] += len(no & first)
            self.follow(e, rules.YES, when, yes)
            self.follow(e, rules.NO, when, no)
            return
        if e.kind == rules.DECISION:  # never scheduled; a stray row just waits
            return
        if _stops(e, self.campaign_id):
            self.gone |= group
            return
        if e.type == "campaign.jump_to_event" and not self.jump(e, when, group):
            return  # its target is gone: the engine fails the jump, and nothing follows it
        self.follow(e, None, when, group)

    def jump(self, e: rules.Event, when: datetime, contacts: set[int]) -> bool:
        """``campaign_engine.jump``: the target runs again (or waits again) whether it ran before or not; its
        other rows are left as they are."""
        ids = rules.ids_of(e.properties.get("jumpToEvent"))
        target = self.g.events.get(ids[0]) if ids else None
        if target is None:
            return False
        self.seen[target.id] |= contacts
        if target.kind == rules.DECISION:
            self.said_no[target.id] -= contacts
            self.wait(target, when, contacts)
            return True
        for due, group in self.due(target, when, contacts):
            self.push(due, "run", target.id, group)
        return True

    # -------------------------------------------------------- members who already started

    def resume(self, campaign_id: int, contacts: set[int], start: datetime) -> None:
        """Go on from the event log for members who started: what ran or waits counts as done (one row per event and
        contact), pending events run at their time (overdue ones now), decisions go on waiting."""
        if not contacts:
            return
        t = table_of(CampaignLog)
        for event_id, contact_id in self.session.execute(_current_rows(campaign_id, t.c.event_id, t.c.contact_id)).tuples():
            if contact_id in contacts:
                self.seen[event_id].add(contact_id)
        decisions = [e.id for e in self.g.events.values() if e.kind == rules.DECISION]
        if decisions:
            for event_id, contact_id in self.session.execute(_current_rows(campaign_id, t.c.event_id, t.c.contact_id).where(
                    t.c.status == "done", t.c.path == rules.NO, t.c.event_id.in_(decisions))).tuples():
                if contact_id in contacts:
                    self.said_no[event_id].add(contact_id)
        scheduled: dict[tuple[Any, datetime], set[int]] = defaultdict(set)
        waiting: dict[tuple[Any, datetime], set[int]] = defaultdict(set)
        for event_id, contact_id, status, trigger_date, added in self.session.execute(_current_rows(
                campaign_id, t.c.event_id, t.c.contact_id, t.c.status, t.c.trigger_date, t.c.date_added).where(t.c.status.in_(campaign_engine.OPEN))).tuples():
            if contact_id not in contacts or event_id not in self.g.events:
                continue
            if status == "waiting":
                waiting[(event_id, added)].add(contact_id)
            elif trigger_date is not None:
                scheduled[(event_id, trigger_date)].add(contact_id)
        for (event_id, when), group in scheduled.items():
            self.push(max(_aware(when), start), "run", event_id, group)
        for (decision_id, since), group in waiting.items():
            self.wait(self.g.events[decision_id], _aware(since), group, already=True)

    # -------------------------------------------------------- the clock

    def advance(self, on_progress: Progress | None, origin: datetime) -> bool:
        """Run everything due up to the end; False when it stopped at :data:`MAX_STEPS`."""
        last = time.monotonic()
        total = (self.end - origin).total_seconds() or 1.0
        while self.queue:
            when, _, kind, event_id, contacts = heapq.heappop(self.queue)
            self.steps += 1
            if self.steps > MAX_STEPS:
                return False
            self.now = self.run.now = when
            e = self.g.events[event_id]
            if kind == "act":
                self.act(e, when, contacts)
            else:
                self.run_event(e, when, contacts)
            if on_progress is not None and time.monotonic() - last > PROGRESS_SECONDS:
                last = time.monotonic()
                on_progress(min(1.0, (when - origin).total_seconds() / total))
        return True


def _stops(e: rules.Event, campaign_id: int) -> bool:
    """Actions after which nothing runs for the contact (``Outcome.stopped``)."""
    if e.type == "lead.deletecontact":
        return True
    if e.type != "campaign.addremovelead":
        return False
    value = e.properties.get("removeFrom")
    items = value if isinstance(value, list) else [value] if value not in (None, "") else []
    return any(str(i) == rules.THIS_CAMPAIGN or campaign_id in rules.ids_of(i) for i in items)


def _zones(session: Session, contacts: set[int]) -> dict[int, str | None]:
    ids = sorted(contacts)
    out: dict[int, str | None] = {}
    for i in range(0, len(ids), 5000):
        out.update(session.execute(sa.select(col(Contact.id), col(Contact.timezone)).where(
            db.among(session, col(Contact.id), ids[i:i + 5000]), col(Contact.timezone).is_not(None))).tuples().all())
    return out


def _caveats(g: rules.Graph, decision_notes: list[str], has_forms: bool, stopped: bool, begin: datetime | None,
             cut: datetime | None) -> list[str]:
    out = ["Nothing was sent or changed: actions are counted, not performed, and are assumed to succeed "
           "(a real run tries a failing action again an hour later, up to three times)."]
    if any(e.kind == rules.CONDITION for e in g.events.values()):
        out.append("Conditions are checked against today's data at the simulated time: what earlier actions of this campaign "
                   "would change (tags, points, fields, segments, stages) is not seen.")
    out.extend(decision_notes)
    if has_forms:
        out.append("Contacts who will join by submitting the campaign's source forms are not foreseen.")
    if begin is not None:
        out.append(f"The campaign starts at its publish date, {begin:%Y-%m-%d %H:%M} UTC: nothing runs before it.")
    if cut is not None:
        out.append(f"The campaign stops at its unpublish date, {cut:%Y-%m-%d %H:%M} UTC: nothing runs after it.")
    if stopped:
        out.append(f"The simulation stopped after {MAX_STEPS:,} steps (the campaign keeps jumping back): later counts are missing.")
    return out


def dry_run(*, session: Session, campaign_id: int, days: int = 30, now: datetime | None = None, samples: int = SAMPLES,
            on_progress: Progress | None = None) -> dict[str, Any]:
    """Forecast each event of a campaign over ``days`` from ``now``: how many contacts would reach it, which path
    they would take (conditions, decisions), on which days, and ``samples`` of them by name. Reads only.

    Returns ``{"days", "now", "audience", "events": {"<event id>": {"reach", "yes", "no", "first_day", "last_day",
    "by_day": [count per day 0..days], "samples": [{"id", "name", "email"}]}}, "caveats": [...], "seconds"}``.
    ``on_progress(share)`` is called now and then with the share of the simulated time gone by (0..1)."""
    started = time.perf_counter()
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"Simulate between 1 and {MAX_DAYS} days.")
    origin = _aware(now or clock.now())
    with read_only(session):
        found = session.execute(sa.select(col(Campaign.allow_restart), col(Campaign.publish_up), col(Campaign.publish_down))
                                .where(col(Campaign.id) == campaign_id)).first()
        if found is None:
            raise LookupError(f"Campaign {campaign_id} not found.")
        g = campaign_engine.graph(session=session, campaign_id=campaign_id)
        people = _audience(session, campaign_id, bool(found.allow_restart))
        everyone = people.everyone
        end = origin + timedelta(days=days)
        cut = _aware(found.publish_down) if found.publish_down is not None and _aware(found.publish_down) < end else None
        begin = max(origin, _aware(found.publish_up)) if found.publish_up is not None else origin
        rates, notes = _rates(session, g)
        restricted = any(e.timing.restricted for e in g.events.values())
        sim = _Simulation(session, g, campaign_id, begin, min(end, cut) if cut else end, _Tally(origin, days, samples), rates,
                          _zones(session, everyone) if restricted else {})
        if on_progress is not None:
            on_progress(0.0)
        sim.resume(campaign_id, people.started, begin)
        sim.start(people.fresh, begin)
        finished = sim.advance(on_progress, origin)
        has_forms = session.execute(sa.select(col(CampaignForm.form_id)).where(col(CampaignForm.campaign_id) == campaign_id).limit(1)).first()
        out = sim.tally
        named = _names(session, {c for ids in out.samples.values() for c in ids})
    if on_progress is not None:
        on_progress(1.0)
    events: dict[str, dict[str, Any]] = {}
    for e in g.events.values():
        key = str(e.id)
        by_day = out.by_day.get(key, [0] * (days + 1))
        reached = [i for i, n in enumerate(by_day) if n]
        events[key] = {"reach": out.reach.get(key, 0), "yes": out.yes.get(key, 0), "no": out.no.get(key, 0),
                       "first_day": reached[0] if reached else None, "last_day": reached[-1] if reached else None,
                       "by_day": by_day, "samples": [named[c] for c in out.samples.get(key, []) if c in named]}
    return {"days": days, "now": origin.isoformat(), "audience": len(everyone), "events": events,
            "caveats": _caveats(g, notes, has_forms is not None, not finished, begin if begin > origin else None, cut),
            "seconds": round(time.perf_counter() - started, 2)}


def _names(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = session.execute(sa.select(col(Contact.id), col(Contact.firstname), col(Contact.lastname), col(Contact.email))
                           .where(col(Contact.id).in_(sorted(ids)))).all()
    return {r.id: {"id": r.id, "name": f"{r.firstname or ''} {r.lastname or ''}".strip(), "email": r.email or ""} for r in rows}


# ------------------------------------------------------------------ in the background, and its result


def _key(campaign_id: int) -> str:
    return f"mautic:campaign_dry_run:{int(campaign_id)}"


def _file(campaign_id: int) -> Path:
    return get_settings().data_dir / "dry_runs" / f"campaign-{int(campaign_id)}.json"


def store(campaign_id: int, payload: dict[str, Any]) -> None:
    """Keep a dry run's state or result for a day: in Redis when the app has one, else in the data folder (written
    whole, then renamed into place, so a reader never sees half a file)."""
    text = json.dumps({**payload, "stored_at": datetime.now(UTC).isoformat()})
    url = get_settings().redis_url
    if url:
        import redis

        client = redis.Redis.from_url(url)
        try:
            client.set(_key(campaign_id), text, ex=int(KEEP_RESULT.total_seconds()))
        finally:
            client.close()
        return
    path = _file(campaign_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    partial.write_text(text)
    os.replace(partial, path)


def stored(campaign_id: int) -> dict[str, Any] | None:
    """The latest dry run of a campaign queued with :func:`queue`: ``{"status": "queued" | "running" | "done" |
    "failed", ...}``, with ``progress`` (0..1) while running, the result's keys once done, ``error`` if it failed;
    None when there is none (or it is more than a day old)."""
    url = get_settings().redis_url
    text: str | None
    if url:
        import redis

        client = redis.Redis.from_url(url)
        try:
            raw: Any = client.get(_key(campaign_id))
        finally:
            client.close()
        text = raw.decode() if isinstance(raw, bytes) else None
    else:
        path = _file(campaign_id)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
    if not text:
        return None
    data: dict[str, Any] = json.loads(text)
    if datetime.now(UTC) - datetime.fromisoformat(data.get("stored_at") or "1970-01-01T00:00:00+00:00") > KEEP_RESULT:
        return None
    return data


def queue(*, campaign_id: int, days: int = 30) -> None:
    """Run the dry run in the background (``tasks.campaign_dry_runs``); :func:`stored` follows it."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"Simulate between 1 and {MAX_DAYS} days.")
    store(campaign_id, {"status": "queued", "days": days})
    db.send_task(TASK, campaign_id, days)
