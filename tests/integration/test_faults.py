"""Faults: a real process is killed or restarted, and nothing acknowledged is lost or stored twice.

- A Celery worker killed with SIGKILL half way through a 20,000-row import: started again, it resumes
  the import, which ends with every row stored exactly once (SQLite with the filesystem broker, and
  PostgreSQL with Redis).
- The writers' worker killed while hits are queued in Redis, once right after a batch committed and
  before it took the batch off the queue, once in the middle of draining: every acknowledged hit is
  stored exactly once after a restart.
- Redis restarted during a burst of hits: the server answers every request (2xx, or 503 with
  Retry-After while Redis is away) and every 2xx hit is stored exactly once.
- PostgreSQL restarted under a running server and worker: their next requests and tasks succeed.

Nothing here touches the shared servers: Redis is a private ``redis-server`` of this module, and the
restarted PostgreSQL a private cluster of the test's own (``initdb``, run as the ``postgres`` user).
Processes are killed by process group, so a worker's pool processes die with it.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

import mautic_app.settings as settings_module
from mautic_app import db as db_module
from mautic_app.queues import form_posts, hits, redis_queue
from mautic_app.services import imports
from mautic_app.settings import PROJECT_ROOT
from mautic_app.tasks.celery_app import make_app
from tests.integration import servers
from tests.integration.conftest import ADMIN_PASSWORD, ADMIN_USER, BROWSER, _bootstrap
from tests.integration.servers import Server, child_env, free_port

pytestmark = pytest.mark.timeout(180)

SITE = "https://shop.example"
START_TIMEOUT = 60.0


def _wait_for(check, timeout: float, what: str, every: float = 0.1, diagnose=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        if found := check():
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s\n{diagnose()}")
        time.sleep(every)


def _kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait()


# ------------------------------------------------------------------ a private Redis


@dataclass
class PrivateRedis:
    """A ``redis-server`` of this module's own, on a free port, that tests may stop and start again.

    It keeps its data the way a Redis holding queues must be run: an append-only file synced on every
    write, so a restart keeps what was acknowledged (without persistence a restart empties the queues).
    """

    port: int
    folder: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        _wait_for(lambda: self._pings(client), 10, "the private Redis did not start", diagnose=self.log_tail)
        client.close()

    @staticmethod
    def _pings(client) -> bool:
        try:
            return bool(client.ping())
        except Exception:  # noqa: BLE001  (loading, or not listening yet)
            return False

    def stop(self) -> None:
        """A graceful stop (SIGTERM: Redis flushes its append-only file and exits)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def log_tail(self) -> str:
        log = self.folder / "redis.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory) -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(free_port(), tmp_path_factory.mktemp("private-redis"))
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        _kill_group(server.proc)


@pytest.fixture
def use_private_redis(private_redis, override_settings, monkeypatch) -> PrivateRedis:
    """Point this test's app at the private Redis, its queues empty."""
    import redis

    redis.Redis(port=private_redis.port).flushall()
    override_settings(redis_url=private_redis.url)
    monkeypatch.setattr(redis_queue, "_sync_client", None)  # the queues' client is kept per process
    return private_redis


# ------------------------------------------------------------------ real Celery workers


class Worker:
    """``celery -A mautic_app.tasks.celery_app worker`` in a process group of its own, with this test's settings."""

    count = 0

    def __init__(self, folder: Path, queue: str, **env: str) -> None:
        Worker.count += 1
        self.log = folder / f"worker-{queue}-{Worker.count}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "mautic_app.tasks.celery_app", "worker", "--loglevel=INFO",
                 "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue,
                 "-n", f"faults{Worker.count}@%h"],
                cwd=PROJECT_ROOT, env=child_env(**env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self) -> None:
        _wait_for(lambda: self.proc.poll() is not None or "ready." in self.log.read_text(errors="replace"),
                  START_TIMEOUT, "the worker did not start", every=0.2, diagnose=self.log_tail)
        assert self.proc.poll() is None, f"the worker stopped while starting\n{self.log_tail()}"

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes: nothing runs to the end, nothing is cleaned up."""
        _kill_group(self.proc)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.log.name} ---\n{text[-chars:]}"


@pytest.fixture
def workers(tmp_path) -> Iterator[list[Worker]]:
    """Start workers with ``workers.append(Worker(...))``; whatever is still running is stopped afterwards."""
    started: list[Worker] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            _kill_group(w.proc)


@pytest.fixture
def celery_client(database, monkeypatch):
    """A Celery app on this test's broker; after-commit task sends go through it."""
    client = make_app(settings_module.get_settings())
    monkeypatch.setattr(db_module, "send_task", lambda task, *args: client.send_task(task, args=list(args)))
    return client


# ------------------------------------------------------------------ the import


ROWS = 20_000
IMPORT_BATCH = 1000  # 20 batches: the worker is killed inside one of the middle ones


def _in_transaction(database) -> bool:
    """Whether another connection is inside a write transaction on this test's database (the worker's batch)."""
    if database.backend == "sqlite":
        conn = sqlite3.connect(database.url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True  # the write lock is taken: a batch is being written
        else:
            conn.execute("ROLLBACK")
            return False
        finally:
            conn.close()
    name = database.url.rsplit("/", 1)[1]
    with db_module.get_engine().connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND xact_start IS NOT NULL AND state <> 'idle'"), {"name": name}).scalar())


def _contacts(session) -> tuple[int, int, int, int]:
    """(contacts, distinct e-mails, "imported" timeline events, contacts with such an event)."""
    with session() as s:
        counts = s.execute(sa.text("SELECT count(*), count(DISTINCT lower(email)) FROM contacts")).one()
        events = s.execute(sa.text(
            "SELECT count(*), count(DISTINCT contact_id) FROM contact_events WHERE event_type = 'imported'")).one()
    return (*counts, *events)


def test_a_worker_killed_half_way_through_an_import_resumes_it_with_every_row_once(
        database, session, workers, tmp_path, private_redis, override_settings, celery_client, monkeypatch, request):
    if database.backend == "postgresql":  # PostgreSQL + Redis; SQLite + the filesystem broker
        override_settings(redis_url=private_redis.url)
        import redis

        redis.Redis(port=private_redis.port).flushall()
        client = make_app(settings_module.get_settings())
        monkeypatch.setattr(db_module, "send_task", lambda task, *args: client.send_task(task, args=list(args)))
    env = {"MAUTIC_IMPORT_BATCH_SIZE": str(IMPORT_BATCH)}
    workers.append(first := Worker(tmp_path, "celery", **env))
    assert _contacts(session) == (0, 0, 0, 0)
    data = "email,firstname,lastname,city\n" + "".join(
        f"row{i}@example.com,First{i},Last{i},City{i % 97}\n" for i in range(ROWS))
    with session() as s:
        imp = imports.create_import(session=s, original_name="big.csv", data=data.encode())
        imports.start_import(session=s, import_id=imp.id, mapping={"email": "email", "firstname": "firstname",
                                                                    "lastname": "lastname", "city": "city"})
    first.wait_ready()

    def progress() -> dict:
        with session() as s:
            return imports.progress(session=s, import_id=imp.id)

    _wait_for(lambda: progress()["processed_rows"] >= ROWS // 2, 120, "the import did not get half way",
              every=0.05, diagnose=first.log_tail)
    _wait_for(lambda: _in_transaction(database), 30, "no batch was being written", every=0.005, diagnose=first.log_tail)
    first.kill()
    at_kill = progress()
    assert at_kill["status"] in imports.ACTIVE and ROWS // 2 <= at_kill["processed_rows"] < ROWS, at_kill

    time.sleep(1)  # the import stands still: nothing is running it
    assert progress()["processed_rows"] == at_kill["processed_rows"]

    workers.append(second := Worker(tmp_path, "celery", **env))
    final = _wait_for(lambda: (p := progress())["done"] and p, 120, "the import did not finish after the restart",
                      every=0.2, diagnose=lambda: f"{progress()}\n{first.log_tail()}\n{second.log_tail()}")
    assert (final["status"], final["processed_rows"], final["inserted"], final["updated"], final["failed"],
            final["percent"]) == ("imported", ROWS, ROWS, 0, 0, 100), final
    assert _contacts(session) == (ROWS, ROWS, ROWS, ROWS)  # every row once: no duplicate e-mail, one event each
    with session() as s:
        assert s.execute(sa.text("SELECT count(DISTINCT city) FROM contacts")).scalar() == 97
    print(f"[{request.node.callspec.id}] killed at {at_kill['processed_rows']} rows processed")


# ------------------------------------------------------------------ the hit writer


def _queue_hits(monkeypatch, first: int, n: int) -> list[str]:
    """``n`` page views posted as browsers post them (the route queues them in Redis, no writer is woken);
    the URLs of those acknowledged (all of them)."""
    from starlette.testclient import TestClient

    from mautic_app.web.app import build_public_app

    monkeypatch.setattr("mautic_app.web.tracking._wake_writer", lambda: None)
    urls = []
    with TestClient(build_public_app(), client=("203.0.113.9", 50000), headers={"User-Agent": BROWSER, "Origin": SITE}) as site:
        for i in range(first, first + n):
            url = f"{SITE}/page/{i}"
            r = site.post("/mtc/event", data={"page_url": url, "page_title": "A page"})
            assert r.status_code == 200, r.text
            urls.append(url)
            site.cookies.clear()  # a visitor each: their own device and contact
    return urls


def _stored(session, prefix: str = SITE) -> Counter:
    with session() as s:
        return Counter(u for (u,) in s.execute(sa.text("SELECT url FROM page_hits WHERE url LIKE :p"), {"p": prefix + "%"}))


CRASH_AFTER_COMMIT = """
import os, signal
from mautic_app.queues import form_posts, hits, redis_queue

def crash(*_args, **_kwargs):  # the batch has committed; the writer dies before it takes the batch off the queue
    os.kill(os.getpid(), signal.SIGKILL)

redis_queue.trim = crash
hits.drain(linger=0)
"""


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # the deployment whose hits queue in Redis
def test_a_killed_hit_writer_leaves_every_acknowledged_hit_stored_exactly_once(
        database, session, workers, tmp_path, use_private_redis, celery_client, monkeypatch):
    r = redis_queue.sync_client()
    n = hits.BATCH + 200
    acknowledged = _queue_hits(monkeypatch, 0, n)
    assert r.llen(hits.QUEUE) == n

    # 1. Killed between its first batch's commit and taking that batch off the queue.
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER_COMMIT], cwd=PROJECT_ROOT, env=child_env(),
                             capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode(errors="replace")[-3000:]
    assert sum(_stored(session).values()) == hits.BATCH  # committed...
    assert r.llen(hits.QUEUE) == n  # ...and still queued

    # 2. The writers' worker, woken as beat wakes it, is killed in the middle of draining.
    acknowledged += _queue_hits(monkeypatch, n, 1500)
    workers.append(writer := Worker(tmp_path, "writers"))
    writer.wait_ready()

    def wake_until(condition, what: str, diagnose):
        """Wake the writer every second, as beat does, until ``condition`` (looked at far more often)."""
        last_wake = 0.0

        def check():
            nonlocal last_wake
            if found := condition():
                return found
            if time.monotonic() - last_wake > 1.0:
                celery_client.send_task("mautic.tracking.record_queued_hits")
                last_wake = time.monotonic()
            return False
        # The dead writer's lock lasts redis_queue.LOCK_SECONDS; until then a woken writer finds the queue taken.
        return _wait_for(check, redis_queue.LOCK_SECONDS + 60, what, every=0.01, diagnose=diagnose)

    wake_until(lambda: sum(_stored(session).values()) > hits.BATCH, "the writer stored nothing", writer.log_tail)
    writer.kill()
    assert r.llen(hits.QUEUE) > 0, "killed too late: nothing was left to write"
    acknowledged += _queue_hits(monkeypatch, n + 1500, 300)  # acknowledged while no writer runs

    # 3. Started again: everything is written, nothing twice.
    workers.append(again := Worker(tmp_path, "writers"))
    again.wait_ready()
    wake_until(lambda: r.llen(hits.QUEUE) == 0 and not r.exists(hits.LOCK), "the queue was not drained",
               lambda: f"{r.llen(hits.QUEUE)} queued\n{writer.log_tail()}\n{again.log_tail()}")
    stored = _stored(session)
    assert set(stored) == set(acknowledged), f"{len(set(acknowledged) - set(stored))} acknowledged hits missing"
    assert [u for u, c in stored.items() if c > 1] == []
    assert "already stored" in writer.log.read_text(errors="replace")  # the batch of step 1, taken off unwritten


def test_a_killed_form_writer_stores_each_submission_once(database, session, use_private_redis, monkeypatch):
    """The same for queued form submissions: a batch committed but still queued is taken off, not stored again."""
    import json

    from mautic_app.services import form_batches

    r = redis_queue.sync_client()
    for i in range(3):  # of a form that does not exist (any more): the writer drops each, after its claim
        r.rpush(form_posts.QUEUE, json.dumps({"form_id": 999_999, "values": {}, "n": i, "q": redis_queue.item_id()}))
    written: list[bool] = []
    real_record, real_trim = form_batches.record_queued, redis_queue.trim

    def record(*, items, batch=None):
        updates = real_record(items=items, batch=batch)
        written.append(batch.written_before is None)
        return updates

    def trim_after_a_crash(*args):
        if len(written) == 1:
            raise KeyboardInterrupt  # stands for the kill: after the commit, before the take-off
        return real_trim(*args)

    monkeypatch.setattr(form_batches, "record_queued", record)
    monkeypatch.setattr(redis_queue, "trim", trim_after_a_crash)
    with pytest.raises(KeyboardInterrupt):
        form_posts.drain_submissions(linger=0)
    assert r.llen(form_posts.QUEUE) == 3 and written == [True]
    assert form_posts.drain_submissions(linger=0) == (3, False)
    assert r.llen(form_posts.QUEUE) == 0
    assert written == [True, False]  # handed over again, but claimed as already stored: not written a second time
    with session() as s:
        assert s.execute(sa.text("SELECT count(*) FROM queue_batches")).scalar() == 1


# ------------------------------------------------------------------ Redis restarted during a burst


@pytest.fixture
def server(database, tmp_path, use_private_redis) -> Iterator[Server]:
    try:
        srv = servers.start(tmp_path)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield srv
    srv.stop()


def test_redis_restarted_during_a_burst(database, session, server, use_private_redis):
    """Eight browsers post hits for a few seconds while Redis stops for about a second and comes back."""
    answers: list[tuple[str, int, str | None]] = []
    failures: list[BaseException] = []
    api_answers: list[int] = []
    stop = threading.Event()

    def browser(b: int) -> None:
        with httpx.Client(base_url=server.base, timeout=15, headers={"User-Agent": BROWSER, "Origin": SITE}) as c:
            i = 0
            while not stop.is_set():
                url = f"{SITE}/burst/{b}/{i}"
                i += 1
                try:
                    r = c.post("/mtc/event", data={"page_url": url})
                except (httpx.HTTPError, OSError) as exc:
                    failures.append(exc)
                    continue
                answers.append((url, r.status_code, r.headers.get("retry-after")))
                c.cookies.clear()

    def marketer() -> None:  # the API keeps answering too (it needs no Redis)
        with httpx.Client(base_url=server.base, timeout=15, auth=(ADMIN_USER, ADMIN_PASSWORD)) as c:
            while not stop.is_set():
                api_answers.append(c.get("/api/contacts", params={"limit": 1}).status_code)
                time.sleep(0.1)

    threads = [threading.Thread(target=browser, args=(b,)) for b in range(8)] + [threading.Thread(target=marketer)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        before = len(answers)
        use_private_redis.stop()
        time.sleep(1.0)
        during = len(answers) - before
        use_private_redis.start()
        restarted = len(answers)
        time.sleep(2.0)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    after = answers[restarted:]
    assert not failures, f"{len(failures)} requests got no answer; first: {failures[0]!r}\n{server.log_tail()}"
    assert before > 0 and during > 0, "the server stopped answering while Redis was away"
    statuses = Counter(status for _, status, _ in answers)
    assert set(statuses) <= {200, 503}, f"{statuses}\n{server.log_tail()}"
    assert statuses[503] > 0, "no hit was refused while Redis was away: the restart was not seen"
    assert all(retry for _, status, retry in answers if status == 503), "a 503 without Retry-After"
    assert any(status == 200 for _, status, _ in after), f"no hit acknowledged after Redis came back\n{server.log_tail()}"
    assert api_answers and set(api_answers) == {200}, Counter(api_answers)

    redis_queue._sync_client = None  # Redis was restarted under the test's own client too
    while hits.drain(linger=0)[1]:
        pass
    stored = _stored(session, SITE + "/burst/")
    acknowledged = {url for url, status, _ in answers if status == 200}
    assert acknowledged <= set(stored), f"{len(acknowledged - set(stored))} acknowledged hits lost"
    assert [u for u, c in stored.items() if c > 1] == []
    print(f"answers: {dict(statuses)}, {len(stored)} stored")


# ------------------------------------------------------------------ PostgreSQL restarted


@dataclass
class PrivateCluster:
    folder: Path
    port: int

    def ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", "pg_ctl", "-D", str(self.folder / "data"), "-w", "-t", "60",
                        "-l", str(self.folder / "postgres.log"), *args], check=True, capture_output=True, timeout=90)

    @property
    def server(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def started(self):
        """When the server (re)started, asked on a connection of its own (never the app's pool)."""
        engine = sa.create_engine(f"{self.server}/postgres", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT pg_postmaster_start_time()")).scalar()
        finally:
            engine.dispose()


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of this test's own (the shared one on 5432 is never restarted)."""
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        pytest.skip("initdb / pg_ctl are not installed")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user to run a private cluster as")
    folder = Path(tempfile.mkdtemp(prefix="mautic-faults-pg-"))
    os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    cluster = PrivateCluster(folder, free_port())
    subprocess.run(["runuser", "-u", "postgres", "--", "initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True, timeout=120)
    options = f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    cluster.ctl("-o", options, "start")
    try:
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", "pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_restarted_while_the_app_runs(private_postgres, tmp_path, monkeypatch, workers):
    """The API (in this process) and a Celery worker keep working across a restart of PostgreSQL."""
    from starlette.testclient import TestClient

    from mautic_app.web.app import build_public_app

    admin = sa.create_engine(f"{private_postgres.server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text('CREATE DATABASE "mautic"'))
    admin.dispose()
    cfg = dataclasses.replace(settings_module.get_settings(), data_dir=tmp_path, database_url=f"{private_postgres.server}/mautic",
                              redis_url=None)
    _bootstrap(cfg, monkeypatch)
    client = make_app(settings_module.get_settings())  # the embedded broker in this test's data folder
    monkeypatch.setattr(db_module, "send_task", lambda task, *args: client.send_task(task, args=list(args)))
    workers.append(worker := Worker(tmp_path, "celery"))
    worker.wait_ready()

    def run_import(name: str, rows: int) -> dict:
        data = "email\n" + "".join(f"{name}{i}@example.com\n" for i in range(rows))
        with db_module.session_scope() as s:
            imp = imports.create_import(session=s, original_name=f"{name}.csv", data=data.encode())
            imports.start_import(session=s, import_id=imp.id, mapping={"email": "email"})

        def done():
            with db_module.session_scope() as s:
                p = imports.progress(session=s, import_id=imp.id)
            return p["done"] and p

        return _wait_for(done, 60, f"import {name} did not finish", every=0.2, diagnose=worker.log_tail)

    with TestClient(build_public_app()) as api:
        api.auth = (ADMIN_USER, ADMIN_PASSWORD)
        assert api.post("/api/contacts/new", json={"email": "before@example.com"}).status_code == 201
        assert run_import("first", 50)["inserted"] == 50  # the worker holds pooled connections now

        started = private_postgres.started()
        private_postgres.ctl("-m", "fast", "restart")  # every connection of the app and the worker is cut
        assert private_postgres.started() > started

        r = api.get("/api/contacts", params={"search": "before@example.com"})
        assert r.status_code == 200 and int(r.json()["total"]) == 1, r.text
        assert api.post("/api/contacts/new", json={"email": "after@example.com"}).status_code == 201
        assert run_import("second", 50)["status"] == "imported"
        r = api.get("/api/contacts", params={"limit": 1})
        assert r.status_code == 200 and int(r.json()["total"]) == 102, r.text
    assert worker.proc.poll() is None, worker.log_tail()
    db_module.get_engine().dispose()
