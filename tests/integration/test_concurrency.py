"""Many clients at once against a real server, on SQLite and on PostgreSQL: counts, never timings.

The public app (``build_public_app()`` plus Reflex's own ``/ping``, as the production backend serves
them) runs under Granian in a child process on a free port, pointed at the ``database`` fixture's
database through the environment, as a deployment is. The test drives it with httpx from many
connections at once, and runs what a Celery worker would (import batches, segment rebuilds, the
queue writers of the PostgreSQL + Redis deployment) in threads of its own.

Every request has a timeout: a server that stops answering fails the test with the requests it left
unanswered and the end of its log, rather than hanging the suite.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import sqlalchemy as sa

from mautic_app.models import Contact, FormSubmission, PageHit, SegmentContact
from mautic_app.queues import form_posts, hits, redis_queue
from tests.integration import servers
from tests.integration.conftest import ADMIN_PASSWORD, ADMIN_USER, BROWSER
from tests.integration.servers import Server

pytestmark = pytest.mark.timeout(240)

REQUEST_TIMEOUT = 30.0  # an answer later than this counts as none: the server is stuck
CONNECTIONS = 64
SITE = "https://shop.example"


@pytest.fixture
def server(database, tmp_path) -> Iterator[Server]:
    """Granian serving the public app on this test's database, data folder and (PostgreSQL) Redis."""
    try:
        srv = servers.start(tmp_path, MAUTIC_FORM_SUBMITS_PER_MINUTE="0")  # every post comes from 127.0.0.1
    except RuntimeError as exc:
        pytest.fail(str(exc))
    _clear_queues()
    try:
        yield srv
    finally:
        srv.stop()
        _clear_queues()


def _clear_queues() -> None:
    if redis_queue.enabled():
        redis_queue.sync_client().delete(hits.QUEUE, hits.LOCK, form_posts.QUEUE, form_posts.LOCK)


# ------------------------------------------------------------------ driving it


@dataclass
class Outcome:
    """What each request got: a response, or the exception that stood for none."""

    responses: dict[object, httpx.Response] = field(default_factory=dict)
    failures: dict[object, BaseException] = field(default_factory=dict)

    def unanswered(self, srv: Server, what: str) -> str:
        first = next(iter(self.failures.items()), None)
        return (f"{len(self.failures)} {what} got no answer (timeout {REQUEST_TIMEOUT:.0f} s or connection error); "
                f"first: {first[0]!r}: {first[1]!r}\n{srv.log_tail()}")


def _client(srv: Server, connections: int = CONNECTIONS, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=srv.base, timeout=REQUEST_TIMEOUT,
                             limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections), **kwargs)


async def _run_all(jobs: list[tuple[object, Callable[[], Awaitable[httpx.Response]]]], outcome: Outcome,
                   connections: int = CONNECTIONS, on_answer: Callable[[], None] | None = None) -> None:
    """Run ``jobs`` on ``connections`` workers. After the first request left unanswered the rest are not
    sent: one stuck server would otherwise cost a timeout per request."""
    queue = list(reversed(jobs))
    stop = asyncio.Event()

    async def worker() -> None:
        while queue and not stop.is_set():
            key, send = queue.pop()
            try:
                outcome.responses[key] = await send()
            except (httpx.HTTPError, OSError) as exc:
                outcome.failures[key] = exc
                stop.set()
            if on_answer:
                on_answer()

    await asyncio.gather(*(worker() for _ in range(min(connections, len(jobs)))))


def _duplicate_emails(session) -> list[tuple[str, int]]:
    with session() as s:
        return s.execute(sa.select(sa.func.lower(Contact.email), sa.func.count()).where(Contact.email.is_not(None))
                         .group_by(sa.func.lower(Contact.email)).having(sa.func.count() > 1)).all()


# ------------------------------------------------------------------ API contact edits and creates


def test_64_concurrent_api_edits_and_creates_are_all_stored_without_duplicates(server, session):
    from mautic_app.services import contacts

    with session() as s:
        existing = [contacts.create(session=s, values={"email": f"edit{i}@example.com", "firstname": "Before"},
                                    source="test", check_required=False)[0] for i in range(44)]
    edited, merged_into = existing[:40], existing[40:]
    jobs: list[tuple[object, Callable[[], Awaitable[httpx.Response]]]] = []
    auth = (ADMIN_USER, ADMIN_PASSWORD)
    client = _client(server, auth=auth)
    for i, cid in enumerate(edited):  # 40 edits of different contacts
        jobs.append((("edit", cid), lambda cid=cid, i=i: client.patch(f"/api/contacts/{cid}/edit",
                                                                      json={"firstname": f"Edited{i}", "city": f"City{i}"})))
    for i in range(12):  # 12 creates of new e-mails
        jobs.append((("new", i), lambda i=i: client.post("/api/contacts/new", json={"email": f"new{i}@example.com",
                                                                                    "lastname": f"New{i}"})))
    for i in range(8):  # 8 creates of one new e-mail, in different cases: one contact, created once
        email = ["same@example.com", "Same@example.com", "SAME@example.com", "same@example.com"][i % 4]
        jobs.append((("same", i), lambda i=i, email=email: client.post("/api/contacts/new", json={"email": email, "phone": f"+49 30 {1000 + i}"})))
    for i, cid in enumerate(merged_into):  # 4 creates naming an existing contact's e-mail: they update it
        jobs.append((("existing", cid), lambda cid=cid, i=i: client.post(
            "/api/contacts/new", json={"email": f"edit{40 + i}@example.com", "position": f"Position{i}"})))
    assert len(jobs) == 64

    async def go() -> Outcome:
        outcome = Outcome()
        async with client:
            # One sign-in first, as a client that checks its credentials does: 64 first sign-ins at once are
            # test_64_first_sign_ins_at_once_are_all_let_in's subject, not this test's.
            assert (await client.get("/api/contacts?limit=1")).status_code == 200
            await _run_all(jobs, outcome)
        return outcome

    outcome = asyncio.run(go())
    assert not outcome.failures, outcome.unanswered(server, "API requests")
    statuses = {key: r.status_code for key, r in outcome.responses.items()}
    bad = {key: (r.status_code, r.text[:200]) for key, r in outcome.responses.items() if not 200 <= r.status_code < 300}
    assert not bad, f"{len(bad)} of 64 API requests were not answered 2xx: {bad}\n{server.log_tail()}"

    with session() as s:
        rows = {c.id: c for c in s.execute(sa.select(Contact)).scalars()}
    for i, cid in enumerate(edited):
        assert (rows[cid].firstname, rows[cid].city) == (f"Edited{i}", f"City{i}")
    for i in range(12):
        [c] = [c for c in rows.values() if c.email == f"new{i}@example.com"]
        assert c.lastname == f"New{i}"
        assert statuses[("new", i)] == 201
    same = [c for c in rows.values() if (c.email or "").lower() == "same@example.com"]
    assert len(same) == 1, f"{len(same)} contacts for one e-mail created by 8 requests at once"
    assert sorted(statuses[("same", i)] for i in range(8)) == [200] * 7 + [201]  # created once, then updated
    assert {outcome.responses[("same", i)].json()["contact"]["id"] for i in range(8)} == {same[0].id}
    for i, cid in enumerate(merged_into):
        assert statuses[("existing", cid)] == 200
        assert outcome.responses[("existing", cid)].json()["contact"]["id"] == cid
        assert rows[cid].position == f"Position{i}"
    assert len(rows) == 44 + 12 + 1
    assert _duplicate_emails(session) == []


def test_64_first_sign_ins_at_once_are_all_let_in(server):
    """An integration starting 64 workers at once: none of them has been verified yet, all give the right password."""
    outcome = Outcome()
    client = _client(server, auth=(ADMIN_USER, ADMIN_PASSWORD))

    async def go() -> None:
        async with client:
            await _run_all([(i, lambda: client.get("/api/contacts?limit=1")) for i in range(CONNECTIONS)], outcome)

    asyncio.run(go())
    assert not outcome.failures, outcome.unanswered(server, "sign-ins")
    kinds = Counter(r.status_code for r in outcome.responses.values())
    assert kinds == {200: CONNECTIONS}, dict(kinds)


# ------------------------------------------------------------------ a burst of tracking hits


HITS = 5000


def test_a_burst_of_5000_hits_is_answered_and_every_acknowledged_hit_stored_once(server, session):
    """64 connections post 5,000 new visitors' hits; ``/ping`` and the API are asked during the burst and
    after it. A hit is answered 2xx (stored, or on PostgreSQL queued in Redis) or 503 with Retry-After
    (refused, not stored); nothing else, and no request goes unanswered."""
    writer = _QueueWriter(hits.drain) if redis_queue.enabled() else None  # the writers worker, where Redis queues hits
    answered = 0
    during: dict[str, httpx.Response | BaseException] = {}
    probe_at = HITS // 5
    probing = asyncio.Event()

    def on_answer() -> None:
        nonlocal answered
        answered += 1
        if answered == probe_at:
            probing.set()

    def hit(i: int) -> Callable[[], Awaitable[httpx.Response]]:
        body = {"page_url": f"{SITE}/burst/{i}", "page_title": f"Burst {i}", "counter": "0", "resolution": "1920x1080"}
        return lambda: burst.post("/mtc/event", data=body)

    async def probe(name: str, path: str, **kw) -> None:
        async with _client(server, connections=1, **kw) as c:
            try:
                during[name] = await c.get(path)
            except (httpx.HTTPError, OSError) as exc:
                during[name] = exc

    async def probes_during_the_burst() -> int:
        await probing.wait()
        sent_at = answered
        await asyncio.gather(probe("ping", "/ping"), probe("api", "/api/contacts?limit=1", auth=(ADMIN_USER, ADMIN_PASSWORD)))
        return sent_at

    outcome = Outcome()
    burst = _client(server, headers={"User-Agent": BROWSER, "Origin": SITE})

    async def go() -> int:
        async with burst:
            jobs = [(i, hit(i)) for i in range(HITS)]
            probes = asyncio.create_task(probes_during_the_burst())
            await _run_all(jobs, outcome, on_answer=on_answer)
            probing.set()  # a burst that stopped early must not leave the probes waiting
            return await probes

    try:
        sent_at = asyncio.run(go())
        after = {}
        for name, path, kw in (("ping", "/ping", {}), ("api", "/api/contacts?limit=1", {"auth": (ADMIN_USER, ADMIN_PASSWORD)})):
            try:
                after[name] = httpx.get(server.base + path, timeout=REQUEST_TIMEOUT, **kw)
            except httpx.HTTPError as exc:
                after[name] = exc
    finally:
        if writer:
            writer.stop()

    assert not outcome.failures, outcome.unanswered(server, f"of {HITS} hits")
    assert len(outcome.responses) == HITS
    assert sent_at < HITS, "the probes were not sent during the burst"
    for name, reply in (("/ping during the burst", during.get("ping")), ("/api during the burst", during.get("api")),
                        ("/ping after the burst", after["ping"]), ("/api after the burst", after["api"])):
        assert isinstance(reply, httpx.Response) and reply.status_code == 200, f"{name}: {reply!r}\n{server.log_tail()}"
    kinds = Counter(r.status_code for r in outcome.responses.values())
    assert set(kinds) <= {200, 503}, f"hits answered {dict(kinds)}\n{server.log_tail()}"
    refused = {i for i, r in outcome.responses.items() if r.status_code == 503}
    assert all(outcome.responses[i].headers.get("retry-after", "").isdigit() for i in refused), "a 503 without Retry-After"
    ok = {i for i, r in outcome.responses.items() if r.status_code == 200}
    assert all(outcome.responses[i].json()["success"] == 1 for i in ok)
    assert len(ok) >= HITS // 10, f"only {len(ok)} of {HITS} hits accepted ({dict(kinds)})"

    if redis_queue.enabled():
        _drain_all(hits.drain)
        devices = [r.json().get("device_id") for r in outcome.responses.values() if r.status_code == 200]
        redis_queue.sync_client().delete(*(redis_queue.DEVICE_KEY + d for d in devices if d))  # the routes' cache of them
    with session() as s:
        stored = Counter(s.execute(sa.select(PageHit.url).where(PageHit.url.like(f"{SITE}/burst/%"))).scalars())
    twice = {u: n for u, n in stored.items() if n > 1}
    assert not twice, f"{len(twice)} hits stored more than once, e.g. {next(iter(twice.items()))}"
    stored_ids = {int(u.rsplit("/", 1)[1]) for u in stored}
    assert stored_ids >= ok, f"{len(ok - stored_ids)} acknowledged hits were not stored, e.g. {sorted(ok - stored_ids)[:5]}"
    assert not stored_ids & refused, f"{len(stored_ids & refused)} hits answered 503 were stored anyway"


class _QueueWriter:
    """A Redis queue's writer in a thread, as the writers worker runs it, until :meth:`stop`."""

    def __init__(self, drain: Callable[..., tuple[int, bool]]) -> None:
        self.error: BaseException | None = None
        self._stop = threading.Event()

        def loop() -> None:
            try:
                while not self._stop.is_set():
                    drain(max_seconds=1.0, linger=0.1)
            except BaseException as exc:  # noqa: BLE001  (reported by stop())
                self.error = exc

        self._thread = threading.Thread(target=loop, name="queue-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the queue writer did not stop"
        if self.error:
            raise AssertionError(f"the queue writer failed: {self.error!r}") from self.error


def _drain_all(drain: Callable[..., tuple[int, bool]]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        _, more = drain(max_seconds=10.0, linger=0)
        if not more:
            return
    pytest.fail("the queue did not drain in 120 s")


# ------------------------------------------------------------------ forms, imports and rebuilds together


FORM_POSTS = 240
IMPORT_ROWS = 400
IMPORT_BATCH = 40
FIELDS = [
    {"label": "E-mail", "alias": "email", "type": "email", "is_required": True, "mapped_object": "contact", "mapped_field": "email"},
    {"label": "First name", "alias": "firstname", "type": "text", "mapped_object": "contact", "mapped_field": "firstname"},
    {"label": "City", "alias": "city", "type": "text", "mapped_object": "contact", "mapped_field": "city"},
]


class _Worker(threading.Thread):
    """A loop that stands for a Celery worker's task, run until it returns; its error fails the test."""

    def __init__(self, name: str, body: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.body, self.error = body, None

    def run(self) -> None:
        try:
            self.body()
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            self.error = exc


def test_form_posts_imports_and_segment_rebuilds_at_once_all_finish_and_lose_nothing(server, session, monkeypatch):
    from mautic_app.services import forms, imports, segments

    monkeypatch.setattr(imports, "enqueue_after_commit", lambda *a, **k: None)  # this test runs the batches itself
    with session() as s:
        form_id = forms.save_form(session=s, form_id=None, values={"name": "Sign-up"}, fields=FIELDS, actions=[]).id
        segment_id = segments.save_segment(session=s, values={"name": "Berliners", "filters": [
            {"glue": "and", "field": "city", "operator": "=", "value": "Berlin"}]}).id
        csv = "email,firstname,city\n" + "".join(f"imported{i}@example.com,Imported {i},Berlin\n" for i in range(IMPORT_ROWS))
        import_id = imports.create_import(session=s, original_name="people.csv", data=csv.encode()).id
        imports.start_import(session=s, import_id=import_id, mapping={"email": "email", "firstname": "firstname", "city": "city"})

    done = threading.Event()
    rebuilds = 0

    def run_import() -> None:
        more = True
        while more:
            with session() as s:
                more = imports.run_batch(session=s, import_id=import_id, batch_size=IMPORT_BATCH).more

    def rebuild_until_done() -> None:
        nonlocal rebuilds
        while not done.is_set():
            with session() as s:
                segments.rebuild(session=s, segment_id=segment_id)
            rebuilds += 1

    workers = [_Worker("import", run_import), _Worker("rebuilds", rebuild_until_done)]
    writer = _QueueWriter(form_posts.drain_submissions) if redis_queue.enabled() else None

    def post(i: int) -> Callable[[], Awaitable[httpx.Response]]:
        data = {"mauticform[email]": f"posted{i}@example.com", "mauticform[firstname]": f"Posted {i}",
                "mauticform[city]": "Berlin", "mauticform[formId]": str(form_id), "mauticform[return]": ""}
        return lambda: client.post("/form/submit?ajax=1", data=data)

    outcome = Outcome()
    client = _client(server, headers={"User-Agent": BROWSER, "Origin": SITE})

    async def go() -> None:
        async with client:
            await _run_all([(i, post(i)) for i in range(FORM_POSTS)], outcome)

    try:
        for w in workers:
            w.start()
        asyncio.run(go())
        workers[0].join(timeout=120)
    finally:
        done.set()
        for w in workers:
            w.join(timeout=60)
        if writer:
            writer.stop()
    for w in workers:
        assert not w.is_alive(), f"{w.name} did not finish"
        assert w.error is None, f"{w.name} failed: {w.error!r}"
    assert rebuilds >= 1
    assert not outcome.failures, outcome.unanswered(server, "form posts")
    bad = {i: (r.status_code, r.text[:200]) for i, r in outcome.responses.items() if r.status_code != 200 or r.json().get("success") != 1}
    assert not bad, f"{len(bad)} of {FORM_POSTS} form posts failed: {dict(list(bad.items())[:5])}\n{server.log_tail()}"

    if redis_queue.enabled():
        _drain_all(form_posts.drain_submissions)
    with session() as s:
        progress = imports.progress(session=s, import_id=import_id)
        segments.rebuild(session=s, segment_id=segment_id)
    assert (progress["status"], progress["inserted"], progress["failed"]) == ("imported", IMPORT_ROWS, 0), progress
    with session() as s:
        submitted = Counter(s.execute(sa.select(FormSubmission.values["email"].as_string()).where(
            FormSubmission.form_id == form_id)).scalars())
        emails = Counter(s.execute(sa.select(Contact.email)).scalars())
        berliners = s.execute(sa.select(sa.func.count()).select_from(Contact).where(Contact.city == "Berlin")).scalar_one()
        members = s.execute(sa.select(sa.func.count()).select_from(SegmentContact).where(
            SegmentContact.segment_id == segment_id, SegmentContact.manually_removed.is_(False))).scalar_one()
    assert submitted == Counter(f"posted{i}@example.com" for i in range(FORM_POSTS))
    expected = [f"posted{i}@example.com" for i in range(FORM_POSTS)] + [f"imported{i}@example.com" for i in range(IMPORT_ROWS)]
    assert all(emails[e] == 1 for e in expected), [e for e in expected if emails[e] != 1][:5]
    assert berliners == members == FORM_POSTS + IMPORT_ROWS
    assert _duplicate_emails(session) == []
