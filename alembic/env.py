"""Alembic runs on ``SQLModel.metadata`` and the database URL from the app's settings."""

from __future__ import annotations

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
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
