"""The dry run: a campaign run over its real audience on a simulated clock, with no side effects.

It walks the campaign with the engine's own rules (``domain.campaigns.after_run`` for what follows an event and a
decision's no-path deadlines, ``domain.campaign_schedule.scheduled_at`` for when, in each contact's time zone) and
checks conditions with the engine's own ``conditions_met`` against today's data; actions are only counted, never
performed, and nothing is written. Contacts move in groups that share an event and a due time, so a campaign over
100,000 contacts takes seconds.

Decisions need a guess at what people will do: an "opens e-mail" or "clicks a link" decision takes the e-mail's
real open or click rate so far (none yet: nobody acts), chosen per contact by a hash so the forecast is stable;
other decisions (forms, page visits, devices) are forecast as nobody acting.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app import clock
from mautic_app.domain import campaign_schedule as timing_rules
from mautic_app.domain import campaigns as rules
from mautic_app.models import CampaignMember, CampaignSegment, Contact, Email, SegmentContact
from mautic_app.models.base import table_of
from mautic_app.services import campaign_engine

SAMPLES = 5


def audience(*, session: Session, campaign_id: int) -> list[int]:
    """Who would take part: its members now and whoever its source segments would bring in (not those removed by hand)."""
    m, sc, src = table_of(CampaignMember), table_of(SegmentContact), table_of(CampaignSegment)
    members = set(session.execute(sa.select(m.c.contact_id).where(m.c.campaign_id == campaign_id, m.c.removed.is_(False))).scalars())
    kept_out = set(session.execute(sa.select(m.c.contact_id).where(m.c.campaign_id == campaign_id, m.c.manually_removed.is_(True))).scalars())
    joining = set(session.execute(sa.select(sc.c.contact_id).distinct().where(
        sc.c.segment_id.in_(sa.select(src.c.segment_id).where(src.c.campaign_id == campaign_id)), sc.c.manually_removed.is_(False))).scalars())
    return sorted(members | (joining - kept_out))


def _chance(contact_id: int, event_id: Any) -> float:
    digest = hashlib.blake2b(f"{contact_id}:{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _rates(session: Session, g: rules.Graph) -> dict[Any, float]:
    """Per decision, the share of contacts expected to act (see the module's note)."""
    out: dict[Any, float] = {}
    for e in g.events.values():
        if e.kind != rules.DECISION:
            continue
        parent = g.events.get(e.parent) if e.parent is not None else None
        email_ids = rules.ids_of(parent.properties.get("email")) if parent is not None else []
        if e.type in ("email.open", "email.click") and email_ids:
            row = session.execute(sa.select(col(Email.sent_count), col(Email.read_count), col(Email.click_count))
                                  .where(col(Email.id) == email_ids[0])).first()
            if row is not None and row.sent_count:
                out[e.id] = min(1.0, (row.read_count if e.type == "email.open" else row.click_count) / row.sent_count)
    return out


class _Forecast:
    def __init__(self, start: datetime, days: int) -> None:
        self.start, self.days = start, days
        self.reach: dict[str, int] = defaultdict(int)
        self.yes: dict[str, int] = defaultdict(int)
        self.no: dict[str, int] = defaultdict(int)
        self.by_day: dict[str, list[int]] = defaultdict(lambda: [0] * (days + 1))
        self.samples: dict[str, list[int]] = defaultdict(list)

    def reached(self, event_id: Any, when: datetime, contacts: list[int]) -> None:
        key = str(event_id)
        self.reach[key] += len(contacts)
        self.by_day[key][min(self.days, max(0, (when - self.start).days))] += len(contacts)
        room = SAMPLES - len(self.samples[key])
        if room > 0:
            self.samples[key].extend(contacts[:room])


def dry_run(*, session: Session, campaign_id: int, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """Forecast each event: how many contacts would reach it, on which days, which path they would take, and a few
    of them by name. Reads only."""
    started = time.perf_counter()
    now = now or clock.now()
    end = now + timedelta(days=days)
    g = campaign_engine.graph(session=session, campaign_id=campaign_id)
    people = audience(session=session, campaign_id=campaign_id)
    restricted = any(e.timing.restricted for e in g.events.values())
    zones: dict[int, str | None] = {}
    if restricted:
        for i in range(0, len(people), 5000):
            zones.update(session.execute(sa.select(col(Contact.id), col(Contact.timezone)).where(col(Contact.id).in_(people[i:i + 5000]))).tuples())
    rates = _rates(session, g)
    run = campaign_engine._Run(session, now, dry=True)  # noqa: SLF001  (the engine's own condition checks, read-only)
    out = _Forecast(now, days)
    queue: list[tuple[datetime, int, Any, list[int]]] = []
    order = itertools.count()

    def schedule(events: Iterable[rules.Event], reference: datetime, contacts: list[int]) -> None:
        for e in events:
            if e.kind == rules.DECISION:
                wait(e, reference, contacts)
                continue
            groups: dict[datetime, list[int]] = defaultdict(list)
            if e.timing.restricted:
                for c in contacts:
                    groups[campaign_engine.due_time(e.timing, reference, reference, zones.get(c))].append(c)
            else:
                groups[campaign_engine.due_time(e.timing, reference, reference, None)] = contacts
            for when, group in groups.items():
                if when <= end and group:
                    heapq.heappush(queue, (when, next(order), e.id, group))

    def wait(decision: rules.Event, reference: datetime, contacts: list[int]) -> None:
        """A decision: those expected to act take its yes path at some moment within the wait; the others its no
        path's events at their deadlines (scheduled from the moment the decision started waiting)."""
        out.reached(decision.id, reference, contacts)
        rate = rates.get(decision.id, 0.0)
        acting = [c for c in contacts if rate and _chance(c, decision.id) < rate]
        idle = [c for c in contacts if not (rate and _chance(c, decision.id) < rate)] if acting else contacts
        no_path = g.no_path_of(decision.id)
        window = min((timing_rules.after(reference.replace(tzinfo=None), e.timing.interval, e.timing.unit).replace(tzinfo=reference.tzinfo)
                      - reference for e in no_path if e.timing.mode == "interval"), default=timedelta(days=1))
        by_time: dict[datetime, list[int]] = defaultdict(list)
        for c in acting:  # spread over the wait, as replies come in over the first hours and days
            by_time[reference + window * (_chance(c, f"t{decision.id}") ** 2)].append(c)
        out.yes[str(decision.id)] += len(acting)
        yes_next, yes_waiting = rules.after_run(g, decision, rules.YES)
        for when, group in by_time.items():
            if when <= end:
                schedule([*yes_waiting, *(x for x in yes_next if g.decision_of(x) is None)], when, group)
        if idle and no_path:
            deadline = min(campaign_engine.due_time(e.timing, reference, reference, None) for e in no_path)
            if deadline <= end:  # the others take the no path once its wait is over
                out.no[str(decision.id)] += len(idle)
            schedule(no_path, reference, idle)

    roots = g.roots()
    schedule(roots, now, people)
    while queue:
        when, _, event_id, contacts = heapq.heappop(queue)
        e = g.events[event_id]
        out.reached(e.id, when, contacts)
        path: str | None = None
        if e.kind == rules.CONDITION:
            run.now = when
            met = campaign_engine.conditions_met(run, e, contacts)
            yes = [c for c in contacts if c in met]
            no = [c for c in contacts if c not in met]
            out.yes[str(e.id)] += len(yes)
            out.no[str(e.id)] += len(no)
            for path, group in ((rules.YES, yes), (rules.NO, no)):
                if group:
                    nxt, waiting = rules.after_run(g, e, path)
                    schedule([*waiting, *(x for x in nxt if g.decision_of(x) is None)], when, group)
            continue
        nxt, waiting = rules.after_run(g, e, path)
        if e.type == "campaign.addremovelead" and rules.THIS_CAMPAIGN in [str(v) for v in (e.properties.get("removeFrom") or [])]:
            continue  # removed from this campaign: nothing after it runs
        schedule([*waiting, *(x for x in nxt if g.decision_of(x) is None)], when, contacts)

    named = _names(session, {c for ids in out.samples.values() for c in ids})
    return {
        "days": days, "audience": len(people), "seconds": round(time.perf_counter() - started, 2),
        "events": {str(e.id): {"reach": out.reach.get(str(e.id), 0), "yes": out.yes.get(str(e.id), 0), "no": out.no.get(str(e.id), 0),
                               "first_day": _first(out.by_day.get(str(e.id))), "last_day": _last(out.by_day.get(str(e.id))),
                               "by_day": out.by_day.get(str(e.id), [0] * (days + 1)),
                               "samples": [named[c] for c in out.samples.get(str(e.id), []) if c in named]}
                   for e in g.events.values()},
        "caveats": ["Conditions are checked against today's data (what earlier actions would change is not seen).",
                    "Opens and clicks follow each e-mail's rates so far; forms, page visits and devices are forecast as nobody acting."],
    }


def _first(by_day: list[int] | None) -> int | None:
    return next((i for i, n in enumerate(by_day or []) if n), None)


def _last(by_day: list[int] | None) -> int | None:
    found = [i for i, n in enumerate(by_day or []) if n]
    return found[-1] if found else None


def _names(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = session.execute(sa.select(col(Contact.id), col(Contact.firstname), col(Contact.lastname), col(Contact.email))
                           .where(col(Contact.id).in_(ids))).all()
    return {r.id: {"id": r.id, "name": f"{r.firstname or ''} {r.lastname or ''}".strip(), "email": r.email or ""} for r in rows}
