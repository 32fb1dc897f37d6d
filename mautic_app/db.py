"""Engine and sessions shared by the UI, the HTTP routes and the Celery workers, and the work that
follows a commit.

After-commit work (live-update publications, watchers, Celery tasks) is asked for while the
transaction is open (:func:`enqueue`, :func:`call`); it runs once the outermost transaction has
committed and the session has given its connection back to the pool. Running it earlier, in
SQLAlchemy's ``after_commit``, kept the connection checked out while the work took another one:
under a burst every pooled connection was held by a thread waiting for one more, and the whole app
stopped answering (issue 15). A rolled-back transaction runs nothing. Tasks are sent by name
(``enqueue(session, "mautic.segments.rebuild", 7)``), so services never import the task modules
that import them.
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.pool import Pool
from sqlmodel import Session

from mautic_app.domain.locale_format import local_day
from mautic_app.domain.segments import sql_regexp
from mautic_app.settings import get_settings
from mautic_app.tasks.celery_app import app as celery

log = logging.getLogger(__name__)
SQLITE_BUSY_SECONDS = 15.0  # how long a write waits for SQLite's lock before it fails ("database is locked")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL lets the web process read while a worker imports; a busy timeout avoids spurious locks."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cur.close()


def take_sqlite_write_lock(conn: sa.Connection) -> None:
    """On SQLite, make the connection's transaction a writer now (``BEGIN IMMEDIATE``, waiting its turn
    for the lock up to the busy timeout) unless it is one already; elsewhere nothing.

    Reads before the first write otherwise run on a snapshot: two requests could both find no contact
    for one new e-mail, and a write after another connection's commit fails at once with "database is
    locked" (the busy timeout does not apply to it)."""
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        try:
            raw.execute("BEGIN IMMEDIATE")
        except raw.OperationalError as exc:  # as SQLAlchemy reports the database's own errors
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, exc) from exc


def _savepoint_takes_the_write_lock(conn: sa.Connection, _name: str) -> None:
    """A savepoint opened outside a transaction begins a deferred one on SQLite. Savepoints here wrap
    writes (a batch with a one-by-one fallback), so such a transaction starts as a writer."""
    take_sqlite_write_lock(conn)


def _sqlite_functions(dbapi_conn, _record) -> None:
    """REGEXP on RE2 (linear time, bounded value), replacing SQLAlchemy's, which runs Python's backtracking ``re``;
    and ``local_day(time, zone)``, the date a UTC time falls on in a user's zone (PostgreSQL has ``timezone()``)."""
    dbapi_conn.create_function("regexp", 2, sql_regexp, deterministic=True)
    dbapi_conn.create_function("local_day", 2, local_day, deterministic=True)


def day_in_zone(session: Session, column: Any, timezone: str) -> sa.ColumnElement[Any]:
    """The date ``column`` (a stored UTC time) falls on in ``timezone``, for grouping counts by a user's days."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone(timezone, column))
    return sa.func.date(column) if timezone == "UTC" else sa.func.local_day(column, timezone)


class NestedCheckout(RuntimeError):
    """A thread asked the pool for a connection while it held one (see :func:`forbid_nested_checkouts`)."""


_held: dict[int, set[int]] = {}  # thread → ids of the pooled connections it holds
_held_lock = threading.Lock()
_on_nested: list[Callable[[str], None]] = []


def forbid_nested_checkouts(on_nested: Callable[[str], None] | None = None) -> None:
    """Refuse, with :class:`NestedCheckout`, any checkout by a thread that already holds a connection.

    A thread that waits for a second connection while holding one deadlocks as soon as every
    pooled connection is held that way (a burst did it, issue 15). The test suites and the app
    started with ``MAUTIC_STRICT_CONNECTIONS=1`` run with this on, so such code fails at once
    instead of under load; ``on_nested`` also hears of each one (with the stack), for callers
    that catch the error.
    """
    if on_nested is not None:
        _on_nested.append(on_nested)
    if not event.contains(Pool, "checkout", _checkout):
        event.listen(Pool, "checkout", _checkout)
        event.listen(Pool, "checkin", _checkin)
        event.listen(Pool, "detach", _checkin)


def _checkout(_dbapi_conn, record, _proxy) -> None:
    thread = threading.get_ident()
    with _held_lock:
        held = _held.setdefault(thread, set())
        nested = bool(held - {id(record)})
        if not nested:
            held.add(id(record))
    if nested:
        where = "".join(traceback.format_stack(limit=25)[:-1])
        message = f"a second database connection was taken by a thread that holds one:\n{where}"
        log.error(message)
        for hear in _on_nested:
            hear(message)
        raise NestedCheckout(message)


def _checkin(_dbapi_conn, record) -> None:
    with _held_lock:
        for thread, held in list(_held.items()):
            if id(record) in held:
                held.discard(id(record))
                if not held:
                    del _held[thread]
                return


if os.environ.get("MAUTIC_STRICT_CONNECTIONS") == "1":
    forbid_nested_checkouts()


@cache
def get_engine(url: str | None = None) -> sa.Engine:
    url = url or get_settings().database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _sqlite_functions)
        event.listen(engine, "savepoint", _savepoint_takes_the_write_lock)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_PENDING = "after_commit"  # session.info key: {key: action} in the order asked
_READY = "after_commit_ready"
_SCRATCH = "after_commit_scratch"


def call(session: OrmSession, action: Callable[[], None], *, key: Hashable | None = None) -> None:
    """Run ``action()`` after ``session`` commits and lets go of its connection; the same ``key``
    asked twice in one transaction runs once (the first action is kept)."""
    pending: dict[Hashable, Callable[[], None]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(key if key is not None else object(), action)


def scratch(session: OrmSession, name: str) -> dict[str, Any]:
    """A dict that lives as long as the session's current transaction: what a service gathers for
    its after-commit work (it is dropped, with that work, when the transaction does not commit)."""
    scratches: dict[str, dict[str, Any]] = session.info.setdefault(_SCRATCH, {})
    return scratches.setdefault(name, {})


def enqueue(session: OrmSession, task: str, *args: Any) -> None:
    """Send the Celery task named ``task`` with ``args`` after the commit (once per task and args)."""
    call(session, lambda: send_task(task, *args), key=("task", task, args))


def send_task(task: str, *args: Any) -> None:
    """Send now. Never raises: every task sent this way is also caught up by a beat job when the
    broker is down (stalled imports, the scheduled segment rebuild)."""
    try:
        celery.send_task(task, args=list(args))
    except Exception:  # noqa: BLE001
        log.exception("could not queue task %s%r", task, args)


@event.listens_for(OrmSession, "after_commit")
def _committed(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy also calls after_commit when a savepoint is released
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending.items())


@event.listens_for(OrmSession, "after_rollback")
def _rolled_back(session: OrmSession) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


@event.listens_for(OrmSession, "after_transaction_end")
def _released(session: OrmSession, transaction: SessionTransaction) -> None:
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


def allocate_ids(session: Session, table: str, n: int) -> list[int]:
    """Ids for ``n`` new rows of ``table``, so children can be written without a RETURNING round trip per row
    (``services.bulk`` writes new rows this way).

    On SQLite they follow both max(id) and the table's ``sqlite_sequence`` entry (AUTOINCREMENT tables:
    a deleted newest row's id is never given again), and the entry is moved past them at once (inserting
    them would move it too). max(id) is stable only while the transaction holds the write lock, so it
    is taken first (:func:`take_sqlite_write_lock`): without it another writer could commit a row with
    one of these ids between the read and the insert.
    """
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        ids: list[int] = session.execute(
            sa.text("SELECT array_agg(nextval(pg_get_serial_sequence(:t, 'id'))) FROM generate_series(1, :n)"), {"t": table, "n": n}
        ).scalar_one()
        return ids
    take_sqlite_write_lock(session.connection())
    last = session.execute(sa.text(  # one statement for a table with a sequence entry (an AUTOINCREMENT one that has had rows)
        f"UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max(id) FROM {table}), 0)) + :n "  # noqa: S608 (constant names)
        "WHERE name = :t RETURNING seq"), {"t": table, "n": n}).scalar()
    if last is None:
        last = session.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one() + n  # noqa: S608
    return list(range(last - n + 1, last + 1))


def insert(session: Session, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the session's dialect, which has ``on_conflict_do_nothing``."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def among(session: Session, column: Any, values: list[Any]) -> Any:
    """``column IN values``; on PostgreSQL one array parameter, so the statement's text is the same
    whatever the number of values (parsed once, not once per count), and its plan does not turn to a
    full scan when hundreds of values are listed."""
    if session.connection().dialect.name == "postgresql":
        kind = sa.Text() if isinstance(column.type, sa.types.NullType) else column.type  # registry columns are untyped text
        if isinstance(kind, sa.Integer):  # ids: sent as the array's text, made in C (the driver encodes a list item by item)
            ids = "{" + ",".join(map(str, map(int, values))) + "}"
            return column == sa.any_(sa.cast(sa.bindparam(None, ids, type_=sa.Text), ARRAY(kind)))
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(kind)))
    return column.in_(values)


def refresh_statistics(engine: sa.Engine, tables: tuple[str, ...]) -> None:
    """ANALYZE those of ``tables`` (PostgreSQL) that have changed by more than their known size.

    An import or a burst of visitors can take a table from nothing to millions of rows faster than
    autovacuum looks; with stale statistics PostgreSQL scans the whole table for every lookup, and
    every foreign-key check of every inserted row keeps the whole-table plan it made when the table
    was small (a timeline line cost 180 us instead of 20). Tripling thresholds keep this to a few
    ANALYZEs as a table grows. It runs outside the caller's transaction so no lock is held meanwhile.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        stale = conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relname = ANY(:tables) AND (c.reltuples < 0 OR s.n_mod_since_analyze > greatest(2 * c.reltuples, 1000))"
        ), {"tables": list(tables)}).scalars().all()
        for table in stale:
            conn.execute(sa.text(f'ANALYZE "{table}"'))


def rows_changed(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (SQLAlchemy types ``Session.execute``'s answer as a plain
    Result, though for these statements it is a CursorResult, which counts them)."""
    return cast("sa.CursorResult[Any]", result).rowcount or 0
