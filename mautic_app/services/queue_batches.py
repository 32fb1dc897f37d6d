"""Batches the queued writers committed (``models.QueueBatch``): a batch is written at most once.

A writer takes a batch from the head of a Redis list, writes it in one transaction and only then
takes it off the list. Killed between the two, it leaves a batch that is stored and still queued;
the next writer reads the same items at the head. :func:`claim`, the first statement of every
batch's transaction, records the batch by its first item (every queued item is unique) or reports
that an earlier run already committed it, and how many items that run took off the head.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mautic_app.models import QueueBatch
from mautic_app.models.base import utcnow

KEEP = timedelta(days=7)  # markers a crash left behind (the normal path forgets each at the next batch)
PRUNE_EVERY_SECONDS = 3600.0
_last_prune: float | None = None


def key_of(queue: str, first_item: bytes | str) -> str:
    """The marker's key for a batch of ``queue`` that starts with ``first_item`` (its raw queued form)."""
    raw = first_item.encode() if isinstance(first_item, str) else first_item
    return f"{queue[-23:]}:{hashlib.sha256(raw).hexdigest()[:40]}"


def claim(*, session: Session, key: str, items: int, forget: Iterable[str] = ()) -> int | None:
    """Record in ``session``'s transaction that this batch of ``items`` is being written; None when it is
    new, else how many items the run that already committed it took from the head of the queue.

    A writer running the same batch concurrently waits here until the other commits or rolls back
    (the key's unique index), so at most one of them writes it. ``forget``: markers of batches already
    taken off the queue, which nothing needs any more.
    """
    global _last_prune
    table: sa.Table = QueueBatch.__table__  # type: ignore[attr-defined]  # SQLModel does not declare it
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = insert.values(key=key, items=items, date_added=utcnow()).on_conflict_do_nothing(index_elements=["key"])
    if session.execute(stmt.returning(table.c.key)).first() is not None:  # (rowcount says 1 either way on psycopg)
        if forget := [k for k in forget if k != key]:
            session.execute(sa.delete(table).where(table.c.key.in_(forget)))
        if _last_prune is None or time.monotonic() - _last_prune > PRUNE_EVERY_SECONDS:
            _last_prune = time.monotonic()
            session.execute(sa.delete(table).where(table.c.date_added < utcnow() - KEEP))
        return None
    stored: int = session.execute(sa.select(table.c["items"]).where(table.c.key == key)).scalar_one()
    return stored
