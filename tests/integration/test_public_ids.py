"""Public ids are never handed out again (issue 15, point 6).

A site may still embed a deleted form or focus item, a script may still hold a deleted contact's or
segment's id: the next row created must never take that id. PostgreSQL's sequences never go back;
on SQLite the tables are AUTOINCREMENT (migration 0005 rebuilds the older ones), and
``db.allocate_ids`` follows the same rule.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import Session

from mautic_app import db as db_module
from mautic_app.models.companies import Company
from mautic_app.models.contacts import Contact
from mautic_app.models.focus import FocusItem
from mautic_app.models.forms import Form, FormAction, FormField
from mautic_app.models.points import PointAction, PointTrigger
from mautic_app.models.segments import Segment
from mautic_app.services.setup import PROJECT_ROOT

PUBLIC_TABLES = ("forms", "form_fields", "form_actions", "focus_items", "segments", "point_actions", "point_triggers",
                 "companies", "contacts")
_n = itertools.count(1)


def _makers(parent_form: int) -> dict[str, Callable[[], object]]:
    return {
        "forms": lambda: Form(name="A form", alias=f"form{next(_n)}"),
        "form_fields": lambda: FormField(form_id=parent_form, label="Email", alias=f"email{next(_n)}", type="email"),
        "form_actions": lambda: FormAction(form_id=parent_form, type="lead.changepoints"),
        "focus_items": lambda: FocusItem(name="A bar"),
        "segments": lambda: Segment(name="A segment", alias=f"segment{next(_n)}"),
        "point_actions": lambda: PointAction(name="Visited", type="url.hit", delta=5),
        "point_triggers": lambda: PointTrigger(name="Hot", points=50),
        "companies": lambda: Company(companyname=f"Company {next(_n)}"),
        "contacts": lambda: Contact(email=f"someone{next(_n)}@example.com"),
    }


def _create(session, make: Callable[[], object]) -> int:
    with session() as s:
        row = make()
        s.add(row)
        s.flush()
        return row.id


def _delete(session, model: type, row_id: int) -> None:
    with session() as s:
        s.delete(s.get(model, row_id))


def test_a_deleted_newest_rows_id_is_never_given_again(database, session):
    parent = _create(session, lambda: Form(name="Parent", alias=f"parent{next(_n)}"))
    makers = _makers(parent)
    assert set(makers) == set(PUBLIC_TABLES)
    for table, make in makers.items():
        model = type(make())
        first, newest = _create(session, make), _create(session, make)
        _delete(session, model, newest)
        again = _create(session, make)
        assert again > newest, f"{table}: the deleted row's id {newest} was given again ({again})"
        _delete(session, model, again)
        _delete(session, model, first)
        assert _create(session, make) > again, table


def test_allocated_ids_pass_deleted_ones_and_move_the_sequence(database, session):
    ids = [_create(session, Contact) for _ in range(3)]
    _delete(session, Contact, ids[-1])
    with session() as s:
        allocated = db_module.allocate_ids(s, "contacts", 2)
        assert allocated[0] > ids[-1] and allocated == [allocated[0], allocated[0] + 1]
        # Reserved at once: a row created before the allocated ones are written does not take one.
        between = Contact(email="between@example.com")
        s.add(between)
        s.flush()
        assert between.id > allocated[-1]
        s.add_all([Contact(id=i, email=f"allocated{i}@example.com") for i in allocated])
    assert _create(session, Contact) > between.id

    _delete(session, Contact, between.id)
    with session() as s:
        assert db_module.allocate_ids(s, "contacts", 1)[0] > between.id
    if database.backend == "sqlite":
        with session() as s:  # an explicit id above the sequence moves it (allocate_ids callers rely on it)
            top = s.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'contacts'")).scalar_one()
            s.add(Contact(id=top + 10, email="explicit@example.com"))
            s.flush()
            assert s.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'contacts'")).scalar_one() == top + 10


# ------------------------------------------------------------------ migrating an existing SQLite database


def _upgrade(engine: sa.Engine, revision: str, scripts: Path = PROJECT_ROOT / "alembic") -> None:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(scripts))
    cfg.attributes["configure_logger"] = False
    with engine.begin() as conn:  # as services.setup.migrate does
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


_FILL = {"INT": 0, "BOOL": 0, "FLOAT": 0.0, "DATETIME": "2024-05-01 10:00:00.000000", "JSON": "{}"}


def _insert(conn, table: str, **values) -> int:
    """A row of ``table`` as the schema of the moment has it: ``values``, and something in every other
    NOT NULL column without a default."""
    for _cid, name, kind, notnull, default, pk in conn.exec_driver_sql(f'PRAGMA table_info("{table}")'):
        if notnull and default is None and not pk and name not in values:
            values[name] = next((v for k, v in _FILL.items() if k in kind.upper()), f"{name} {next(_n)}")
    columns = ", ".join(f'"{c}"' for c in values)
    marks = ", ".join("?" for _ in values)
    return conn.exec_driver_sql(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', tuple(values.values())).lastrowid


def _contents(conn) -> dict[str, list]:
    tables = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('alembic_version', 'sqlite_sequence')"
    ).scalars().all()
    return {t: sorted((tuple(r) for r in conn.exec_driver_sql(f'SELECT * FROM "{t}"')), key=repr) for t in tables}


def _schema(conn) -> set[tuple]:
    """Every index and table by name (indexes with their definition; automatic ones by what they cover)."""
    rows = set()
    for kind, name, table, sql in conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master"):
        if kind == "index" and name.startswith("sqlite_autoindex_"):
            covered = tuple(r[2] for r in conn.exec_driver_sql(f'PRAGMA index_info("{name}")'))
            rows.add(("unique constraint", table, covered))
        elif kind == "index":
            rows.add((kind, name, table, sql))
        else:
            rows.add((kind, name, table))
    return rows


def _seed(conn) -> dict[str, int]:
    """Forms, focus items, segments, points, companies and contacts with children on every cascading
    foreign key, the newest of several deleted (their children go with them, foreign keys being on)."""
    ids: dict[str, int] = {}
    for i in (1, 2, 3):
        ids[f"contact{i}"] = _insert(conn, "contacts", email=f"c{i}@example.com")
    for i in (1, 2):
        ids[f"company{i}"] = _insert(conn, "companies", companyname=f"Company {i}")
    _insert(conn, "company_contacts", company_id=ids["company1"], contact_id=ids["contact1"], is_primary=1)
    for i in (1, 2, 3):
        ids[f"form{i}"] = _insert(conn, "forms", name=f"Form {i}", alias=f"form{i}")
    for i in (1, 2):
        form = ids[f"form{i}"]
        ids[f"field{i}"] = _insert(conn, "form_fields", form_id=form, label="Email", alias="email", type="email")
        ids[f"action{i}"] = _insert(conn, "form_actions", form_id=form, type="lead.changepoints")
        _insert(conn, "form_submissions", form_id=form, contact_id=ids["contact1"])
    ids["field3"] = _insert(conn, "form_fields", form_id=ids["form1"], label="Name", alias="name", type="text")
    for i in (1, 2):
        ids[f"focus{i}"] = _insert(conn, "focus_items", name=f"Bar {i}", form_id=ids[f"form{i}"])
        _insert(conn, "focus_stats", focus_id=ids[f"focus{i}"], type="view", contact_id=ids["contact1"])
    for i in (1, 2):
        ids[f"segment{i}"] = _insert(conn, "segments", name=f"Segment {i}", alias=f"segment{i}")
        _insert(conn, "segment_contacts", segment_id=ids[f"segment{i}"], contact_id=ids[f"contact{i}"])
    ids["group"] = _insert(conn, "point_groups", name="Group")
    _insert(conn, "point_group_scores", group_id=ids["group"], contact_id=ids["contact1"], score=3)
    for i in (1, 2):
        ids[f"point_action{i}"] = _insert(conn, "point_actions", name=f"Action {i}", type="url.hit", group_id=ids["group"])
        _insert(conn, "point_action_log", action_id=ids[f"point_action{i}"], contact_id=ids["contact1"])
        ids[f"trigger{i}"] = _insert(conn, "point_triggers", name=f"Trigger {i}", group_id=ids["group"])
        event = _insert(conn, "point_trigger_events", trigger_id=ids[f"trigger{i}"], type="lead.changetags")
        _insert(conn, "point_trigger_log", event_id=event, contact_id=ids["contact1"])
    for table, key in [("forms", "form3"), ("form_fields", "field3"), ("focus_items", "focus2"), ("segments", "segment2"),
                       ("point_actions", "point_action2"), ("point_triggers", "trigger2"), ("contacts", "contact3")]:
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE id = ?", (ids[key],))
    return ids


def test_migration_keeps_every_row_and_index_and_stops_reuse(tmp_path):
    engine = db_module.get_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _upgrade(engine, "0004")
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            ids = _seed(conn)
        with engine.connect() as conn:
            # A row already broken before migrating (written with foreign keys off) is not the migration's doing.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            _insert(conn, "form_actions", form_id=999, type="orphan")
            conn.commit()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        with engine.connect() as conn:
            before, schema = _contents(conn), _schema(conn)
            assert len(before["form_fields"]) == 2 and len(before["focus_stats"]) == 1 and len(before["segment_contacts"]) == 1
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            assert len(broken) == 1

        _upgrade(engine, "0005")  # the rebuild itself (later revisions add tables of their own)

        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # the pooled connection has it back
            assert _contents(conn) == before
            assert _schema(conn) == schema
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == broken
            for table in PUBLIC_TABLES:
                sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar_one()
                assert "AUTOINCREMENT" in sql, table
                top = conn.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar()
                seq = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).scalar()
                assert seq is not None and seq >= top, (table, seq, top)
            conn.exec_driver_sql("DELETE FROM form_actions WHERE form_id = 999")
            conn.commit()

        with Session(engine) as s:  # the constraints hold
            s.add(Form(name="Same alias", alias="form1"))
            with pytest.raises(sa.exc.IntegrityError):
                s.flush()
            s.rollback()
            s.add(FormField(form_id=ids["form1"], label="Again", alias="email", type="email"))
            with pytest.raises(sa.exc.IntegrityError):
                s.flush()
            s.rollback()
            s.add(FormAction(form_id=12345, type="lead.changepoints"))
            with pytest.raises(sa.exc.IntegrityError):
                s.flush()
            s.rollback()

        makers = _makers(ids["form1"])
        for table, make in makers.items():
            with Session(engine) as s:
                top = s.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar()
                newest = make()
                s.add(newest)
                s.commit()
                newest_id = newest.id
                assert newest_id > top, table
                s.delete(newest)
                s.commit()
                again = make()
                s.add(again)
                s.commit()
                assert again.id > newest_id, f"{table}: the deleted row's id {newest_id} was given again"

        with engine.begin() as conn:  # and cascades work again, on the rebuilt tables as their parents
            conn.exec_driver_sql("DELETE FROM forms WHERE id = ?", (ids["form1"],))
            assert conn.exec_driver_sql("SELECT count(*) FROM form_fields WHERE form_id = ?", (ids["form1"],)).scalar() == 0
            assert conn.exec_driver_sql("SELECT form_id FROM focus_items WHERE id = ?", (ids["focus1"],)).scalar() is None
            conn.exec_driver_sql("DELETE FROM point_triggers WHERE id = ?", (ids["trigger1"],))
            assert conn.exec_driver_sql("SELECT count(*) FROM point_trigger_log").scalar() == 0
    finally:
        engine.dispose()
        db_module.get_engine.cache_clear()


BREAKING = """
revision = "9999"
down_revision = {heads!r}
branch_labels = None
depends_on = None

from alembic import op


def upgrade():
    op.execute("CREATE TABLE scratch (x INTEGER)")
    op.execute("DELETE FROM forms")  # foreign keys are off while migrating: the fields are left pointing nowhere


def downgrade():
    pass
"""


def test_a_migration_that_breaks_foreign_keys_is_undone_whole(tmp_path):
    scripts = tmp_path / "alembic"
    shutil.copytree(PROJECT_ROOT / "alembic", scripts, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = Config()
    cfg.set_main_option("script_location", str(scripts))
    heads = tuple(ScriptDirectory.from_config(cfg).get_heads())
    (scripts / "versions" / "9999_breaks_foreign_keys.py").write_text(BREAKING.format(heads=heads[0] if len(heads) == 1 else heads))
    engine = db_module.get_engine(f"sqlite:///{tmp_path / 'broken.db'}")
    try:
        _upgrade(engine, "head")
        with engine.begin() as conn:
            form = _insert(conn, "forms", name="Form", alias="form")
            _insert(conn, "form_fields", form_id=form, label="Email", alias="email", type="email")
        with pytest.raises(RuntimeError, match="would break 1 foreign keys"):
            _upgrade(engine, "9999", scripts)
        with engine.connect() as conn:
            assert set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()) == set(heads)
            assert conn.exec_driver_sql("SELECT count(*) FROM forms").scalar() == 1
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'scratch'").scalar() == 0
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
        db_module.get_engine.cache_clear()
