"""Housekeeping: the beat schedule's jobs (see celery_app), and the worker's own start."""

from __future__ import annotations

from pathlib import Path

from celery import signals

from mautic_app import changefeed
from mautic_app.db import get_engine, session_scope
from mautic_app.services import setup, users
from mautic_app.tasks.celery_app import app


@signals.worker_init.connect
def _migrate(**_kwargs) -> None:
    """Bring the schema to head before any task runs; drop the connections so forked children open their own."""
    setup.migrate()
    get_engine().dispose()


@signals.beat_init.connect
@signals.beat_embedded_init.connect
def _schedule_folder(**_kwargs) -> None:
    """Beat keeps its schedule in the data folder; the folder is made as beat starts, not on import."""
    Path(app.conf.beat_schedule_filename).parent.mkdir(parents=True, exist_ok=True)


@signals.worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    """A forked pool process must never reuse its parent's database connections."""
    get_engine().dispose(close=False)


@app.task(name="mautic.maintenance.prune_change_feed", ignore_result=True)
def prune_change_feed() -> int:
    return changefeed.prune()


@app.task(name="mautic.maintenance.purge_expired_sessions", ignore_result=True)
def purge_expired_sessions() -> int:
    with session_scope() as session:
        return users.purge_expired_sessions(session=session)
