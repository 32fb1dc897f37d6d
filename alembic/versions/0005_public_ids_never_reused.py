"""public ids never reused on SQLite

Forms, their fields and actions, focus items, segments, point actions and triggers (contacts and
companies have been so from the start) get AUTOINCREMENT on SQLite: without it SQLite hands out
max(id)+1, so deleting the newest form and creating another gave the new one the deleted one's id,
and a site still embedding the deleted form showed the new one. PostgreSQL's sequences never reuse
an id: nothing to do there.

SQLite cannot add AUTOINCREMENT to a table, so each table is rebuilt the way SQLite documents
(https://www.sqlite.org/lang_altertable.html#otheralter): create the new table from the old one's
own definition (changed only in its id column), copy every row, drop the old table, rename the new
one, create the old indexes again. alembic/env.py runs this with foreign keys off (otherwise the drop
would cascade to every form field, submission, focus item...) and checks them all before committing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000
"""
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("forms", "form_fields", "form_actions", "focus_items", "segments", "point_actions", "point_triggers",
          "companies", "contacts")

_AUTOINCREMENT = re.compile(r"\bAUTOINCREMENT\b", re.I)
_CREATE = re.compile(r'^\s*CREATE\s+TABLE\s+("?)(\w+)\1\s*\(', re.I)
_ID_COLUMN = re.compile(r'^(\s*)("?)id\2\s+INTEGER\s+NOT\s+NULL\s*,', re.I | re.M)
_ID_KEY = re.compile(r',\s*PRIMARY\s+KEY\s*\(\s*("?)id\1\s*\)', re.I)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("rebuilding tables with foreign keys on would cascade deletes to their children (see alembic/env.py)")
    for table in TABLES:
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}).scalar()
        if sql is None:
            raise RuntimeError(f"table {table} is missing")
        if not _AUTOINCREMENT.search(sql):
            _rebuild(bind, table, sql)
        _sequence_past_max(bind, table)


def downgrade() -> None:
    """Nothing: AUTOINCREMENT only keeps ids from being reused, which the earlier schema does not mind."""


def _with_autoincrement(table: str, sql: str, new_name: str) -> str:
    """``sql`` (the table's CREATE TABLE) for ``new_name``, its id column the AUTOINCREMENT primary key."""
    if not _CREATE.match(sql) or len(_ID_COLUMN.findall(sql)) != 1 or len(_ID_KEY.findall(sql)) != 1:
        raise RuntimeError(f"{table}: unexpected definition, not rebuilt with AUTOINCREMENT:\n{sql}")
    sql = _CREATE.sub(f'CREATE TABLE "{new_name}" (', sql, count=1)
    sql = _ID_COLUMN.sub(r"\1\2id\2 INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", sql, count=1)
    return _ID_KEY.sub("", sql, count=1)


def _shape(bind, table: str) -> tuple:
    """Columns, foreign keys and indexes (the automatic ones by what they cover, not their name)."""
    columns = bind.exec_driver_sql(f'PRAGMA table_xinfo("{table}")').fetchall()
    keys = bind.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")').fetchall()
    indexes = set()
    for _seq, name, unique, origin, partial in bind.exec_driver_sql(f'PRAGMA index_list("{table}")'):
        covered = tuple(row[2] for row in bind.exec_driver_sql(f'PRAGMA index_xinfo("{name}")'))
        indexes.add((None if name.startswith("sqlite_autoindex_") else name, unique, origin, partial, covered))
    return [tuple(c) for c in columns], sorted(tuple(k) for k in keys), indexes


def _rebuild(bind, table: str, sql: str) -> None:
    new = f"_autoincrement_{table}"
    extras = bind.execute(sa.text(  # indexes of its own and triggers: dropped with the table, made again after
        "SELECT sql FROM sqlite_master WHERE tbl_name = :t AND type IN ('index', 'trigger') AND sql IS NOT NULL "
        "ORDER BY type, name"), {"t": table}).scalars().all()
    shape = _shape(bind, table)
    count = bind.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar()
    columns = ", ".join(f'"{c[1]}"' for c in shape[0] if c[6] == 0)  # stored columns (not generated ones)

    bind.exec_driver_sql(f'DROP TABLE IF EXISTS "{new}"')
    bind.exec_driver_sql(_with_autoincrement(table, sql, new))
    bind.exec_driver_sql(f'INSERT INTO "{new}" ({columns}) SELECT {columns} FROM "{table}"')
    bind.exec_driver_sql(f'DROP TABLE "{table}"')
    bind.exec_driver_sql(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for statement in extras:
        bind.exec_driver_sql(statement)

    if _shape(bind, table) != shape:
        raise RuntimeError(f"{table}: the rebuilt table differs from the old one: {shape} / {_shape(bind, table)}")
    if bind.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar() != count:
        raise RuntimeError(f"{table}: rows were lost in the rebuild")


def _sequence_past_max(bind, table: str) -> None:
    """The next id is above every id there is (the copy moves it there already; this makes sure)."""
    top = bind.exec_driver_sql(f'SELECT max(id) FROM "{table}"').scalar()
    if top is None:
        return
    seq = bind.execute(sa.text("SELECT max(seq) FROM sqlite_sequence WHERE name = :t"), {"t": table}).scalar()
    if seq is None:
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :top)"), {"t": table, "top": top})
    elif seq < top:
        bind.execute(sa.text("UPDATE sqlite_sequence SET seq = :top WHERE name = :t"), {"t": table, "top": top})
