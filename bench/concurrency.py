"""API contact edits per second with 64 clients, on each deployment, and the share answered 2xx.

Each run starts the app (``bench.server``) on a database, Redis database and data folder of its own,
seeds ``BENCH_API_CONTACTS`` contacts, signs in one at a time until every web process has verified the
password (each remembers it for a minute), then ``wrk`` keeps 64 connections each sending ``PATCH /api/contacts/{id}/edit`` (Basic auth,
a new first name every time, contacts spread so two edits in flight rarely share one), in alternating
rounds with ``GET /ping`` of the same server as the baseline. Every edit answered 2xx must have left
its "updated" line on the contact's timeline.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
import urllib.request
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench.common import report, scratch_database, scratch_folder, scratch_redis, use_database
from bench.load import WrkResult, wrk
from bench.server import ADMIN_PASSWORD, App, app_server

SECONDS = int(os.environ.get("BENCH_API_SECONDS", "12"))
ROUNDS = 2
CONNECTIONS = 64
CONTACTS = int(os.environ.get("BENCH_API_CONTACTS", "1000"))
AUTH = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()

LUA = r"""
local first, count, run = %(first)d, %(count)d, "%(run)s"
local threads = 0
local n = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
  thread:set("nthreads", %(threads)d)
end
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic %(auth)s"
request = function()
  n = n + 1
  local id = first + ((n * nthreads + tid) * 7919) %% count
  local body = '{"firstname":"Edit-' .. run .. '-' .. tid .. '-' .. n .. '","city":"City' .. (n %% 300) .. '"}'
  return wrk.format("PATCH", "/api/contacts/" .. id .. "/edit", nil, body)
end
"""


def _seed(url: str, folder: Path) -> tuple[int, sa.Engine]:
    db = use_database(url, data_dir=folder)
    from mautic_app.services import contacts

    with db.session_scope() as session:
        ids = [contacts.create(session=session, values={"email": f"api{i}@bench.example.com", "firstname": "Seed"},
                               source="bench", check_required=False)[0] for i in range(CONTACTS)]
    assert ids == list(range(ids[0], ids[0] + CONTACTS)), "seeded contacts' ids are not consecutive"
    engine = db.get_engine()
    engine.dispose()
    return ids[0], engine


def _sign_in(app: App) -> None:
    req = urllib.request.Request(app.base + "/api/contacts?limit=1", headers={"Authorization": f"Basic {AUTH}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200


def _measure(app: App, first: int, engine: sa.Engine, label: str) -> None:
    threads = 2

    def script() -> str:  # every run its own first names: an edit that changes nothing leaves no line
        return LUA % {"first": first, "count": CONTACTS, "auth": AUTH, "threads": threads, "run": uuid.uuid4().hex[:8]}

    # Each web process verifies the password once before the clients start: 64 first sign-ins at once get
    # 429 and lock the account (tests/integration/test_concurrency.py::test_64_first_sign_ins_at_once_...).
    for _ in range(30):
        _sign_in(app)
    wrk(app.base + "/api/contacts/1/edit", script(), 2, CONNECTIONS, app.folder, threads=threads)  # warm-up
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM contact_events WHERE event_type = 'updated'")).scalar_one()
    rounds: dict[str, list[WrkResult]] = {"ping": [], "edits": []}
    for _ in range(ROUNDS):
        rounds["ping"].append(wrk(app.base + "/ping", None, SECONDS / ROUNDS / 2, CONNECTIONS, app.folder, threads=threads))
        rounds["edits"].append(wrk(app.base + "/api/contacts/1/edit", script(), SECONDS / ROUNDS, CONNECTIONS, app.folder,
                                   threads=threads))
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM contact_events WHERE event_type = 'updated'")).scalar_one() - before
    engine.dispose()
    edits = rounds["edits"]
    sent = sum(r.requests + r.timeouts for r in edits)
    ok = sum(r.ok for r in edits)
    statuses = sum((r.statuses for r in edits), start=type(edits[0].statuses)())
    edit_rate = sum(r.rate * r.ok / r.requests for r in edits if r.requests) / len(edits)
    ping_rate = sum(r.rate for r in rounds["ping"]) / len(rounds["ping"])
    print(f"-- {label} ({CONNECTIONS} connections)", flush=True)
    report("API contact edits/s (2xx) vs GET /ping", edit_rate, ping_rate, unit="/s")
    print(f"{'  share answered 2xx':<48} {100 * ok / sent if sent else 0:6.2f} %  ({ok} of {sent}; answers {dict(statuses)}, "
          f"timeouts {sum(r.timeouts for r in edits)}, socket errors {sum(r.socket_errors for r in edits)})  goal: 100 %",
          flush=True)
    print(f"{'  p99 latency of an edit':<48} {max(r.p99_ms for r in edits):9.2f} ms", flush=True)
    print(f"{'  edits stored / answered 2xx':<48} stored {stored}  answered {ok}  "
          f"{'no edit lost' if stored >= ok else 'EDITS LOST'}", flush=True)


def run() -> None:
    if not shutil.which("wrk"):
        print("concurrency: wrk is missing (make bench installs Debian's wrk)", file=sys.stderr)
        return
    with scratch_folder("mautic-bench-api-sqlite") as folder:
        first, engine = _seed(f"sqlite:///{folder / 'mautic.db'}", folder)
        with app_server(folder, database_url=None, redis_url=None) as app:
            _measure(app, first, engine, "embedded default (SQLite, no Redis)")
    with scratch_folder("mautic-bench-api-pg") as folder, scratch_redis("api") as redis_url, \
            scratch_database("mautic_bench_api") as url:
        first, engine = _seed(url, folder / "seed")
        with app_server(folder, database_url=url, redis_url=redis_url) as app:
            _measure(app, first, engine, "PostgreSQL + Redis")
