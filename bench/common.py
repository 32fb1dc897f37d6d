"""Shared benchmark helpers: a throw-away PostgreSQL database and a timer."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager

import psycopg

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


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
        from mautic_app.db import get_engine

        get_engine.cache_clear()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_database(url: str):
    """Point this process's app at ``url``, bring it to the current schema with its first admin;
    returns the ``mautic_app.db`` module (its engine and sessions now use ``url``)."""
    os.environ["MAUTIC_DATABASE_URL"] = url
    from mautic_app import settings as settings_module

    settings_module.settings = settings_module.load_settings()
    import mautic_app.db as db

    db.settings = settings_module.settings
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


def report(name: str, ours: float, baseline: float, unit: str = "ms", goal: str = "") -> None:
    ratio = ours / baseline if baseline else float("inf")
    print(f"{name:<48} ours {ours:9.2f} {unit}  baseline {baseline:9.2f} {unit}  ratio {ratio:5.2f}  {goal}", flush=True)
