"""Alembic runs on ``SQLModel.metadata`` and the database URL from the app's settings."""

from __future__ import annotations

from contextlib import nullcontext
from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import mautic_app.models  # noqa: F401  (registers every table)
from mautic_app.db import get_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata

# Custom fields are columns the app adds at run time; autogenerate must never drop them.
RUNTIME_COLUMN_TABLES = {"contacts", "companies"}
# Dialect-specific expression indexes written by hand in migrations.
EXPRESSION_INDEXES = {"ix_contacts_last_active", "ix_contacts_email_lower", "ix_companies_name_lower"}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "column" and reflected and compare_to is None and obj.table.name in RUNTIME_COLUMN_TABLES:
        return False
    if type_ == "index" and reflected and compare_to is None and (
        (name or "").startswith("ix_cf_") or name in EXPRESSION_INDEXES
    ):
        return False
    return True


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection) -> None:
    if connection.dialect.name == "sqlite":
        _run_sqlite(connection)
    else:
        _migrate(connection)


def _migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_sqlite(connection) -> None:
    """Migrate SQLite in one transaction with foreign keys off, committed only if they all still hold.

    SQLite changes a table's definition by building a new table and dropping the old one; with
    ``foreign_keys=ON`` (every connection of the app) that drop deletes or nulls every row pointing at
    the old table through ``ON DELETE CASCADE``/``SET NULL``, or fails. The pragma is ignored inside a
    transaction, so it is set before ours begins, and restored after it ends, since the connection goes
    back to the pool. ``BEGIN IMMEDIATE`` takes the write lock first: a worker starting at the same
    time waits and then finds the schema migrated, and a failed migration leaves nothing half done.
    It commits itself (so the pragma can be restored); a caller's commit that follows has nothing left.
    """
    raw = connection.connection.driver_connection
    if raw.in_transaction:
        raise RuntimeError("SQLite migrations must start outside a transaction: foreign keys cannot be switched off inside one")
    foreign_keys = raw.execute("PRAGMA foreign_keys").fetchone()[0]
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with nullcontext() if connection.in_transaction() else connection.begin():
            raw.execute("BEGIN IMMEDIATE")
            before = _heads(connection)
            # Rows already broken are not this migration's doing; look only when something will run.
            broken_before = _foreign_key_violations(raw) if before != set(context.script.get_heads()) else set()
            _migrate(connection)
            if _heads(connection) != before and (broken := _foreign_key_violations(raw) - broken_before):
                raise RuntimeError(f"migrating would break {len(broken)} foreign keys (table, rowid, parent): {sorted(broken)[:20]}")
            raw.commit()
    except BaseException:
        if raw.in_transaction:
            raw.rollback()
        raise
    finally:
        raw.execute(f"PRAGMA foreign_keys={int(foreign_keys)}")


def _heads(connection) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def _foreign_key_violations(raw) -> set[tuple]:
    return {(table, rowid, parent) for table, rowid, parent, _fk in raw.execute("PRAGMA foreign_key_check")}


run_migrations()
