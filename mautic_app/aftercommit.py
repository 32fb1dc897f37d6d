"""Work that follows a commit: live-update publications, watchers and Celery tasks.

A service asks for it while its transaction is open (:func:`enqueue`, :func:`call`); it runs once
the outermost transaction has committed and the session has given its connection back to the
pool. Running it earlier, in SQLAlchemy's ``after_commit``, kept the connection checked out while
the work took another one: under a burst every pooled connection was held by a thread waiting for
one more, and the whole app stopped answering (issue 15). A rolled-back transaction runs nothing.

Tasks are named, not imported (``enqueue(session, "mautic.segments.rebuild", 7)``), so services
never import the task modules that import them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)
_PENDING = "after_commit"  # session.info key: {key: action} in the order asked
_READY = "after_commit_ready"
_SCRATCH = "after_commit_scratch"


def call(session: Session, action: Callable[[], None], *, key: Hashable | None = None) -> None:
    """Run ``action()`` after ``session`` commits and lets go of its connection; the same ``key``
    asked twice in one transaction runs once (the first action is kept)."""
    pending: dict[Hashable, Callable[[], None]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(key if key is not None else object(), action)


def scratch(session: Session, name: str) -> dict[str, Any]:
    """A dict that lives as long as the session's current transaction: what a service gathers for
    its after-commit work (it is dropped, with that work, when the transaction does not commit)."""
    return session.info.setdefault(_SCRATCH, {}).setdefault(name, {})


def enqueue(session: Session, task: str, *args: Any) -> None:
    """Send the Celery task named ``task`` with ``args`` after the commit (once per task and args)."""
    call(session, lambda: send_task(task, *args), key=("task", task, args))


def send_task(task: str, *args: Any) -> None:
    """Send now. Never raises: every task sent this way is also caught up by a beat job when the
    broker is down (stalled imports, the scheduled segment rebuild)."""
    from mautic_app.tasks.celery_app import app

    try:
        app.send_task(task, args=list(args))
    except Exception:  # noqa: BLE001
        log.exception("could not queue task %s%r", task, args)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy also calls after_commit when a savepoint is released
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending.items())


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _released(session: Session, transaction: SessionTransaction) -> None:
    """SQLAlchemy fires this after the transaction's connections went back to the pool."""
    if transaction.parent is not None:
        return
    session.info.pop(_PENDING, None)  # asked for in a transaction that ended without committing
    for key, action in session.info.pop(_READY, ()):
        try:
            action()
        except Exception:  # noqa: BLE001  (the data is committed; what follows must not fail the caller)
            log.exception("after-commit work failed: %s", key if isinstance(key, tuple | str) else getattr(action, "__qualname__", action))
    session.info.pop(_SCRATCH, None)
