"""The app under benchmark, in processes of its own, on the run's own database, Redis and data folder.

By default: the production web server (Granian, as Reflex's production backend runs, as many workers
as ``make run`` starts) serving the public routes and Reflex's ``/ping`` (``mautic_app.web.app.standalone_app``), with the
Celery workers ``make run`` starts beside it (the main one with beat; with Redis, the niced writers
worker too). The marketer's UI is left out: building the frontend costs minutes and no benchmarked
request goes through it. ``BENCH_LAUNCHER=1`` starts ``make run``'s launcher instead (whole app, frontend
built in the run's own folder, never the checkout's ``.web``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mautic_app.launcher import child_env, start, stop
from mautic_app.settings import PROJECT_ROOT
from mautic_app.tasks.celery_app import WRITERS_QUEUE

ADMIN_PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class App:
    base: str
    port: int
    folder: Path
    sqlite_path: Path | None


@contextmanager
def app_server(folder: Path, *, database_url: str | None, redis_url: str | None, **extra_env: str) -> Iterator[App]:
    """Start the app on ``database_url`` (None: the embedded default's SQLite file in ``folder``) and
    ``redis_url`` (None: no Redis, as ``make run`` out of the box); stop every process it started."""
    port = free_port()
    env = child_env(port) | {
        "MAUTIC_DATABASE_URL": database_url or "", "MAUTIC_REDIS_URL": redis_url or "", "MAUTIC_DATA_DIR": str(folder),
        "MAUTIC_ADMIN_PASSWORD": ADMIN_PASSWORD, "MAUTIC_BENCH_ROUTES": "1", "MAUTIC_PORT": str(port),
        "REFLEX_WEB_WORKDIR": str(folder / "web"), "REFLEX_STATES_WORKDIR": str(folder / "states"), **extra_env,
    }
    if not redis_url:
        env.pop("GRANIAN_WORKERS", None)  # child_env read the caller's environment; one process without Redis
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    procs: list[subprocess.Popen] = []
    try:
        if os.environ.get("BENCH_LAUNCHER") == "1":
            procs.append(start([python, "-m", "mautic_app.launcher", "--port", str(port), "--log-dir", str(logs)], env, logs / "launcher.log"))
        else:
            subprocess.run([python, "-m", "mautic_app.cli", "bootstrap"], cwd=PROJECT_ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            celery = [python, "-m", "celery", "-A", "mautic_app.tasks.celery_app", "worker", "--loglevel=WARNING",
                      "--without-gossip", "--without-mingle"]
            procs.append(start([*celery, "--concurrency=1", "-B", "-Q", "celery", "-n", "main@%h"], env, logs / "celery.log"))
            if redis_url:
                procs.append(start([*celery, "--concurrency=2", "-Q", WRITERS_QUEUE, "-n", "writers@%h"], env,
                                   logs / "celery-writers.log", nice=10))
            workers = env.get("GRANIAN_WORKERS", str((os.cpu_count() or 1) + 1) if redis_url else "1")
            procs.append(start([python, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", workers, "--log-level", "warning", "mautic_app.web.app:standalone_app"],
                               env, logs / "web.log"))
        _wait(port, procs, logs)
        sqlite_path = None if database_url else folder / "mautic.db"
        yield App(f"http://127.0.0.1:{port}", port, folder, sqlite_path)
    finally:
        stop(procs)


def _wait(port: int, procs: list[subprocess.Popen], logs: Path) -> None:
    deadline = time.time() + (900 if os.environ.get("BENCH_LAUNCHER") == "1" else 120)
    while time.time() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"the app stopped while starting; see the logs in {logs}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not start in time; see the logs in {logs}")



