"""Shared benchmark helpers: throw-away databases, Redis databases and data folders, and a timer.

A benchmark never shares state with a running app or another run: each gets its own PostgreSQL
database (:func:`scratch_database`), its own Redis database (:func:`scratch_redis`, claimed from the
empty ones unless ``BENCH_REDIS_URL`` names one) and its own data folder (:func:`scratch_folder`).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = os.environ.get("BENCH_REDIS_SERVER", "redis://127.0.0.1:6379")
CLAIM_KEY = "mautic:bench:claim"


@contextmanager
def scratch_database(prefix: str):
    """Create a fresh PostgreSQL database, point the app at it, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        from mautic_app import changefeed
        from mautic_app.db import get_engine

        changefeed.unfollow()  # else its listener retries the dropped database until the process ends
        get_engine.cache_clear()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_folder(prefix: str, *, keep_on_error: bool = True) -> Iterator[Path]:
    """A data folder of the run's own (``MAUTIC_DATA_DIR``): SQLite file, Celery's folders, uploads, logs."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        yield folder
    except BaseException:
        if keep_on_error:
            print(f"{prefix}: logs and data kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_redis(name: str) -> Iterator[str]:
    """A Redis database of this run's own: ``BENCH_REDIS_URL`` if set, else the highest-numbered empty one,
    claimed with a marker key (another bench starting meanwhile skips it) and emptied afterwards. An app's
    hit queue, Celery broker and Reflex state live under fixed key names, so only a database of its own keeps
    a benchmark's keys from a running app's (and ``FLUSHDB`` from touching anyone else's)."""
    import redis

    given = os.environ.get("BENCH_REDIS_URL")
    if given:
        yield given
        return
    token = f"{name}-{uuid.uuid4().hex}"
    for db in range(14, 0, -1):  # 15 is the test suite's (tests/integration/conftest.py)
        url = f"{REDIS_SERVER}/{db}"
        r = redis.Redis.from_url(url)
        if r.dbsize() == 0 and r.set(CLAIM_KEY, token, nx=True, ex=6 * 3600) and r.dbsize() == 1:
            break
        if r.get(CLAIM_KEY) == token.encode():
            r.delete(CLAIM_KEY)
    else:
        raise RuntimeError(f"no empty Redis database on {REDIS_SERVER} to claim; set BENCH_REDIS_URL")
    try:
        yield url
    finally:
        if r.get(CLAIM_KEY) == token.encode():  # still ours: everything in it is this run's
            r.flushdb()


def use_database(url: str, *, data_dir: Path | None = None, redis_url: str | None = None):
    """Point this process's app at ``url`` (and its own data folder and Redis, or none), bring it to the
    current schema with its first admin; returns the ``mautic_app.db`` module (its engine and sessions now
    use ``url``). Never the environment's: a developer's ``MAUTIC_REDIS_URL`` or ``var/`` belong to their app."""
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="mautic-bench-data-"))
    os.environ["MAUTIC_DATABASE_URL"] = url
    os.environ["MAUTIC_DATA_DIR"] = str(data_dir)
    os.environ["MAUTIC_REDIS_URL"] = redis_url or ""
    from mautic_app import settings as settings_module

    settings_module.use_settings(settings_module.load_settings())
    import mautic_app.db as db

    db.get_engine.cache_clear()
    from mautic_app.services import setup

    setup.migrate()
    with db.session_scope() as session:
        setup.bootstrap(session=session, admin_user="admin", admin_password="bench-password")
    return db


def median_ms(fn: Callable[[], object], repeat: int = 15, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def report(name: str, ours: float, baseline: float, unit: str = "ms", goal: str = "") -> None:
    ratio = ours / baseline if baseline else float("inf")
    print(f"{name:<48} ours {ours:9.2f} {unit}  baseline {baseline:9.2f} {unit}  ratio {ratio:5.2f}  {goal}", flush=True)
