"""Tracked hits per second and latency through the production web server, on both deployments.

Each run starts the app (``bench.server``: the production web server and the Celery workers ``make
run`` starts) on a database, Redis database and data folder of its own, with ``MAUTIC_BENCH_ROUTES=1``
so ``POST /bench/bare`` answers the same bytes as a hit without doing any tracking. ``wrk`` (Debian's)
drives the routes from another process with one Lua script: half the hits come from new visitors, half
from returning ones (device ids seeded first), at full speed in short alternating rounds of each route
(a shared machine's speed drifts over tens of seconds).

- Embedded default (SQLite, no Redis, one web process): hits/s against ``GET /ping`` of the same server,
  64 connections; meanwhile a probe asks ``/ping`` every 50 ms, and its p99 is reported. Every hit
  answered 2xx must be in ``page_hits``; a 503 (with ``Retry-After``) is a refusal, counted apart.
- PostgreSQL + Redis: hits/s against the bare route and against ``/ping``; then p99 at a constant
  500 hits/s (wrk2's method, ``bench.load.constant_rate``); then every acknowledged hit must be in
  ``page_hits`` once the writer has drained the queue.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import redis

from bench.common import percentile, report, scratch_database, scratch_folder, scratch_redis
from bench.load import Probe, WrkResult, constant_rate, http_request, wrk
from bench.server import App, app_server
from bench.server import free_port as _free_port  # noqa: F401  (bench.forms imports these from here)

SECONDS = int(os.environ.get("BENCH_TRACKING_SECONDS", "15"))
ROUNDS = 3  # the max-rate seconds are split into this many alternating rounds of each route
PACED_RATE = int(os.environ.get("BENCH_TRACKING_RATE", "500"))
EMBEDDED_CONNECTIONS = int(os.environ.get("BENCH_TRACKING_EMBEDDED_CONNECTIONS", "64"))
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SITE = "https://shop.example"
SEEDS = 200

LUA = r"""
local devices = {%(devices)s}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["User-Agent"] = "%(ua)s"
wrk.headers["Origin"] = "https://shop.example"
request = function()
  n = n + 1
  local body = "page_url=https%%3A%%2F%%2Fshop.example%%2Fp%%2F" .. (n %% 50) .. "&page_title=Product&counter=0&resolution=1920x1080"
  if n %% 2 == 0 then
    body = body .. "&mautic_device_id=" .. devices[(n %% #devices) + 1]
  end
  return wrk.format(nil, nil, nil, body)
end
"""


def _post(url: str, data: dict) -> dict:
    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), headers={"User-Agent": UA, "Origin": SITE})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _seed(app: App) -> tuple[list[str], str]:
    devices = [_post(app.base + "/mtc/event", {"page_url": f"{SITE}/seed/{i}"})["device_id"] for i in range(SEEDS)]
    return devices, LUA % {"devices": ",".join(f'"{d}"' for d in devices), "ua": UA}


def _alternate(app: App, routes: dict[str, tuple[str, str | None]], connections: int, on_round=None) -> dict[str, list[WrkResult]]:
    """``ROUNDS`` rounds of each route in turn, after a short warm-up of each (key ``"warm-up " + name``);
    ``on_round(name)`` runs before each round."""
    rounds: dict[str, list[WrkResult]] = {f"warm-up {name}": [wrk(app.base + path, script, 2, connections, app.folder)]
                                          for name, (path, script) in routes.items()}
    rounds |= {name: [] for name in routes}
    for _ in range(ROUNDS):
        for name, (path, script) in routes.items():
            if on_round:
                on_round(name)
            rounds[name].append(wrk(app.base + path, script, SECONDS / ROUNDS, connections, app.folder))
    return rounds


def _rate(runs: list[WrkResult]) -> float:
    return sum(r.rate for r in runs) / len(runs)


def _ok_rate(runs: list[WrkResult]) -> float:
    """2xx answers a second: a refused hit is not a tracked one."""
    return sum(r.rate * r.ok / r.requests for r in runs if r.requests) / len(runs)


def run() -> None:
    if not shutil.which("wrk"):
        print("tracking: wrk is missing (make bench installs Debian's wrk)", file=sys.stderr)
        return
    run_embedded()
    run_postgres()


def run_embedded() -> None:
    """SQLite, no Redis: what ``make run`` is out of the box."""
    with scratch_folder("mautic-bench-tracking-sqlite") as folder, app_server(folder, database_url=None, redis_url=None) as app:
        devices, lua = _seed(app)
        probes: list[Probe] = []
        host, port = "127.0.0.1", app.port

        def on_round(name: str) -> None:
            if probes:
                probes[-1].stop()
            if name == "tracked":
                probes.append(Probe(host, port, "/ping"))

        routes = {"ping": ("/ping", None), "tracked": ("/mtc/event", lua)}
        rounds = _alternate(app, routes, EMBEDDED_CONNECTIONS, on_round)
        for p in probes:
            p.stop()
        stored = _count_sqlite(app.sqlite_path)
    tracked = rounds["tracked"]
    ping_latencies = [ms for p in probes for ms in p.latencies_ms]
    ping_failures = sum(p.failures for p in probes)
    acknowledged = SEEDS + sum(r.ok for r in tracked + rounds["warm-up tracked"])
    refused = sum(r.count(503) for r in tracked)
    other = sum(r.requests - r.ok - r.count(503) for r in tracked) + sum(r.socket_errors + r.timeouts for r in tracked)
    print(f"-- embedded default (SQLite, no Redis, {EMBEDDED_CONNECTIONS} connections)", flush=True)
    report(f"tracked hits/s vs GET /ping ({ROUNDS} rounds)", _ok_rate(tracked), _rate(rounds["ping"]), unit="/s",
           goal="goal: ratio >= 0.3")
    per_round = "  ".join(f"{_ok_rate([t]):.0f}/{p.rate:.0f}" for t, p in zip(tracked, rounds["ping"], strict=True))
    print(f"{'  rounds (2xx hits/s / pings/s)':<48} {per_round}", flush=True)
    print(f"{'  answers to hits':<48} 2xx {sum(r.ok for r in tracked)}  503 {refused}  other or none {other}", flush=True)
    print(f"{'/ping p99 during the burst (probe every 50 ms)':<48} {percentile(ping_latencies, 99):9.2f} ms  "
          f"p50 {percentile(ping_latencies, 50):.2f} ms  {len(ping_latencies)} answered, {ping_failures} failed  goal: < 100 ms",
          flush=True)
    print(f"{'hits stored / acknowledged (2xx)':<48} stored {stored}  acknowledged {acknowledged}  "
          f"{'no hit lost' if stored >= acknowledged else 'HITS LOST'}", flush=True)


def run_postgres() -> None:
    with scratch_folder("mautic-bench-tracking-pg") as folder, scratch_redis("tracking") as redis_url, \
            scratch_database("mautic_bench_tracking") as url, app_server(folder, database_url=url, redis_url=redis_url) as app:
        r = redis.Redis.from_url(redis_url)
        devices, lua = _seed(app)
        _drain(r)
        routes = {"bare": ("/bench/bare", lua), "ping": ("/ping", None), "tracked": ("/mtc/event", lua)}
        rounds = _alternate(app, routes, 16, on_round=lambda name: _drain(r) if name == "bare" else None)
        _drain(r)  # the paced runs start with the writer idle
        paced = {name: _paced(app, path, devices) for name, path in (("bare", "/bench/bare"), ("tracked", "/mtc/event"))}
        waited = _drain(r)
        stored = _count_pg(url)
    tracked = rounds["tracked"]
    # Hits acknowledged to the load generators (a hit in flight when wrk stops is stored, not counted).
    acknowledged = SEEDS + sum(x.ok for x in tracked + rounds["warm-up tracked"]) + len(paced["tracked"].answered)
    print("-- PostgreSQL + Redis (16 connections)", flush=True)
    report(f"tracked hits/s vs bare route ({ROUNDS} rounds)", _ok_rate(tracked), _rate(rounds["bare"]), unit="/s",
           goal="goal: ratio >= 0.6")
    report(f"tracked hits/s vs GET /ping ({ROUNDS} rounds)", _ok_rate(tracked), _rate(rounds["ping"]), unit="/s",
           goal="goal: ratio >= 0.5")
    per_round = "  ".join(f"{_ok_rate([t]):.0f}/{b.rate:.0f}/{p.rate:.0f}"
                          for t, b, p in zip(tracked, rounds["bare"], rounds["ping"], strict=True))
    print(f"{'  rounds (tracked/bare/ping per s)':<48} {per_round}", flush=True)
    pt, pb = paced["tracked"], paced["bare"]
    report(f"p99 at a constant {PACED_RATE}/s (wrk2's method)", pt.p(99), pb.p(99), goal="goal: ours < 50 ms")
    print(f"{'  constant-rate answers (tracked)':<48} {dict(pt.statuses)}  no answer {pt.errors}  p50 {pt.p(50):.2f} ms", flush=True)
    print(f"{'hits stored / acknowledged':<48} stored {stored}  acknowledged {acknowledged}  "
          f"queue drained in {waited:.1f} s  {'no hit lost' if stored >= acknowledged else 'HITS LOST'}", flush=True)


def _paced(app: App, path: str, devices: list[str]):
    host = f"127.0.0.1:{app.port}"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": UA, "Origin": SITE}

    def request(i: int) -> bytes:
        body = f"page_url={urllib.parse.quote(f'{SITE}/paced/{i % 50}', safe='')}&page_title=Product&counter=0"
        if i % 2 == 0:
            body += f"&mautic_device_id={devices[i % len(devices)]}"
        return http_request("POST", path, host=host, body=body.encode(), headers=headers)

    return constant_rate("127.0.0.1", app.port, request, rate=PACED_RATE, seconds=SECONDS, connections=64)


def _drain(r: redis.Redis) -> float:
    """Wait until the writer has emptied the queue; returns how long that took."""
    from mautic_app.queues.hits import QUEUE

    t0 = time.perf_counter()
    while r.llen(QUEUE):  # hits leave the queue only once their batch is committed
        if time.perf_counter() - t0 > 600:
            raise RuntimeError("the hit writer did not drain the queue in 10 minutes")
        time.sleep(0.2)
    return time.perf_counter() - t0


def _count_pg(url: str) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM page_hits").fetchone()[0]


def _count_sqlite(path: Path) -> int:
    with sqlite3.connect(path, timeout=60) as conn:
        return conn.execute("SELECT count(*) FROM page_hits").fetchone()[0]
