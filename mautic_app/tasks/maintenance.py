"""Housekeeping the beat schedule runs (see celery_app)."""

from __future__ import annotations

from mautic_app import changefeed
from mautic_app.db import session_scope
from mautic_app.services import users
from mautic_app.tasks.celery_app import app


@app.task(name="mautic.maintenance.prune_change_feed", ignore_result=True)
def prune_change_feed() -> int:
    return changefeed.prune()


@app.task(name="mautic.maintenance.purge_expired_sessions", ignore_result=True)
def purge_expired_sessions() -> int:
    with session_scope() as session:
        return users.purge_expired_sessions(session=session)
