"""Writing many rows at once: the one way imports, queued form posts and tracked hits store contacts,
their IP addresses, their timeline lines and the rows that hang off them.

A batch writer pays per statement, not per row, so here every kind of write is one statement for the
whole batch, whatever its size: PostgreSQL's COPY for new rows, ``UPDATE ... FROM unnest(arrays)`` for
changes (one per set of changed columns), a plain executemany elsewhere. New rows get their ids first
(:func:`mautic_app.db.allocate_ids`), so the rows that point at them are written without a
RETURNING round trip, and ids come back in the order the rows were given.

The contacts table is the field registry's (custom fields are columns of their own), so every
contact-level write here goes through ``fields.table``, never the SQLModel table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from mautic_app.db import allocate_ids, among
from mautic_app.domain.fields import is_anonymous
from mautic_app.models import ContactEvent, ContactIpAddress, IpAddress
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import fields as field_service

AnyTable = type[SQLModel] | sa.TableClause  # a model, or a registry table (contacts and companies with their custom fields)


def _table(target: AnyTable) -> sa.TableClause:
    """The table rows go to: a registry table as it is, a model's own table."""
    return target if isinstance(target, sa.TableClause) else table_of(target)


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# ---------------------------------------------------------------- rows of any table


def insert_rows(*, session: Session, table: AnyTable, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows given as value tuples in ``columns`` order: COPY on PostgreSQL (the physical limit
    for a busy site's hits and an import's contacts), an executemany elsewhere.

    JSON columns take Python values. On PostgreSQL each distinct object is encoded once, so details
    shared by many rows (every "imported" line of a batch) cost one ``json.dumps``.
    """
    if not rows:
        return
    t = _table(table)
    session.flush()  # rows pending in the session (the contacts these rows name, say) go first
    if not _on_postgresql(session):
        session.execute(sa.insert(t), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    as_json = [i for i, c in enumerate(columns) if isinstance(t.c[c].type, sa.JSON)]
    encoded: dict[int, str] = {}  # id(value) → its JSON; the rows keep every value alive meanwhile

    def encode(value: Any) -> str:
        text = encoded.get(id(value))
        if text is None:
            text = encoded[id(value)] = json.dumps(value)
        return text

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(t.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    driver = session.connection().connection.driver_connection
    assert driver is not None, "a connection checked out of the pool has its driver's"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        if not as_json:
            for row in rows:
                copy.write_row(row)
            return
        for row in rows:
            values = list(row)
            for i in as_json:
                values[i] = encode(values[i])
            copy.write_row(values)


def insert_new_rows(*, session: Session, table: AnyTable, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """:func:`insert_rows` for rows that get new ids; returns the ids in row order."""
    t = _table(table)
    ids = allocate_ids(session, t.name, len(rows))
    insert_rows(session=session, table=t, columns=("id", *columns),
                rows=[(row_id, *row) for row_id, row in zip(ids, rows, strict=True)])
    return ids


def unnested(**columns: tuple[Sequence[Any], sa.types.TypeEngine[Any]]) -> sa.Select[Any]:
    """PostgreSQL: ``SELECT unnest(:a) AS a, unnest(:b) AS b, ...``, one array parameter per column.

    The arrays are unnested side by side into rows, so one statement, with the same text and
    cached, handles any number of rows instead of one bind parameter per value.
    """
    selected: list[sa.ColumnElement[Any]] = []
    for name, (values, kind) in columns.items():
        if isinstance(kind, sa.JSON):  # JSON travels as text and is cast back
            array = sa.func.unnest(sa.bindparam(None, [json.dumps(v) for v in values], type_=postgresql.ARRAY(sa.Text())))
            selected.append(sa.cast(array, kind).label(name))
        else:
            selected.append(sa.func.unnest(sa.bindparam(None, list(values), type_=postgresql.ARRAY(kind))).label(name))
    return sa.select(*selected)


def update_rows(*, session: Session, table: AnyTable, changes: Mapping[int, Mapping[str, Any]]) -> None:
    """Set values on rows by id, one statement per set of changed columns: on PostgreSQL an
    ``UPDATE ... FROM unnest(arrays)``, elsewhere an executemany. Rows with nothing to set are skipped."""
    t = _table(table)
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for row_id, values in changes.items():
        if values:
            groups[tuple(sorted(values))].append(row_id)
    for columns, ids in groups.items():
        if _on_postgresql(session):
            source = unnested(id=(ids, t.c.id.type), **{c: ([changes[i][c] for i in ids], t.c[c].type) for c in columns}).subquery("v")
            session.execute(sa.update(t).where(t.c.id == source.c.id).values({c: source.c[c] for c in columns}))
            continue
        # The parameters are prefixed: a bind parameter may not take the name of a column it sets.
        statement = sa.update(t).where(t.c.id == sa.bindparam("b_id")).values(
            {c: sa.bindparam(f"b_{c}", type_=t.c[c].type) for c in columns})
        session.execute(statement, [{"b_id": i, **{f"b_{c}": changes[i][c] for c in columns}} for i in ids])


# ---------------------------------------------------------------- contacts


def new_contacts(*, session: Session, rows: Sequence[dict[str, Any]], source: str | None = None,
                 events: list[Event] | None = None) -> list[int]:
    """Create contacts from values by column of the contacts table (custom fields included); returns
    their ids in row order.

    What every new contact gets unless its row says otherwise: added now, no points, the gravatar
    image. Whether it is identified follows its values (``date_identified`` now when it is). With a
    ``source`` each gets its "created" timeline line (``{"source": source}``, at its ``date_added``) and,
    when identified, its "identified" line: added to ``events`` when given, for the caller to write
    with the rest of its batch, else written now. An import writes its own "imported" lines instead.
    """
    if not rows:
        return []
    now = utcnow()
    t = field_service.table(session=session)
    ids = allocate_ids(session, t.name, len(rows))
    fixed = ("id", "date_added", "is_identified", "date_identified", "points", "preferred_profile_image")
    given = [c for c in dict.fromkeys(k for row in rows for k in row) if c not in fixed]
    values: list[tuple[Any, ...]] = []
    lines: list[Event] = []
    for contact_id, row in zip(ids, rows, strict=True):
        identified = not is_anonymous(row)
        added: datetime = row.get("date_added") or now
        identified_at: datetime | None = row.get("date_identified") or (now if identified else None)
        values.append((contact_id, added, identified, identified_at, row.get("points") or 0,
                       row.get("preferred_profile_image") or "gravatar", *map(row.get, given)))
        if source is not None:
            by = row.get("created_by")
            lines.append({"contact_id": contact_id, "event_type": "created", "occurred_at": added, "user_id": by,
                          "details": {"source": source}})
            if identified and identified_at is not None:
                lines.append({"contact_id": contact_id, "event_type": "identified", "occurred_at": identified_at, "user_id": by,
                              "details": {}})
    insert_rows(session=session, table=t, columns=(*fixed, *given), rows=values)
    if events is None:
        log_events(session=session, events=lines)
    else:
        events += lines
    return ids


def update_contacts(*, session: Session, changes: Mapping[int, dict[str, Any]],
                    current: Mapping[int, Mapping[str, Any]]) -> list[int]:
    """Write changed values onto existing contacts (``current``: their stored values), one statement per
    set of changed columns; returns the contacts these changes identified, in the order given.

    A contact's identified flag follows its values (``date_identified`` now, unless the change sets
    it, when it becomes identified), and ``date_modified`` is now unless the change sets it.
    """
    now = utcnow()
    writes: dict[int, dict[str, Any]] = {}
    identified: list[int] = []
    for contact_id, values in changes.items():
        if not values:
            continue
        old = current[contact_id]
        row = dict(values)
        is_identified = not is_anonymous({**old, **values})
        if is_identified != bool(old.get("is_identified")):
            row["is_identified"] = is_identified
            if is_identified:
                identified.append(contact_id)
                row.setdefault("date_identified", now)
        row.setdefault("date_modified", now)
        writes[contact_id] = row
    update_rows(session=session, table=field_service.table(session=session), changes=writes)
    return identified


# ---------------------------------------------------------------- IP addresses

IP_CHUNK = 900  # values per look-up: below SQLite's bound-parameter limit


def link_ips(*, session: Session, pairs: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """Link contacts to IP addresses (normalised), creating the addresses that are new: the one way
    every writer (a form post, a tracked hit, an import, a contact's edit) records where a contact was
    seen. Returns the (contact, address) pairs that were not linked before, in the order given, for
    the caller's "IP address added" events. Two writers adding one new address at once (a double
    click, an office behind one NAT) is no error: the second insert does nothing and its row is used."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return []
    addresses = sorted({ip for _, ip in wanted})
    known = _ip_ids(session, addresses)
    if missing := [ip for ip in addresses if ip not in known]:
        dialect = postgresql if _on_postgresql(session) else sqlite
        session.execute(dialect.insert(table_of(IpAddress)).on_conflict_do_nothing(), [{"ip_address": ip} for ip in missing])
        known |= _ip_ids(session, missing)
    contact_ids = sorted({c for c, _ in wanted})
    linked: set[tuple[int, int]] = set()
    for start in range(0, len(contact_ids), IP_CHUNK):
        linked.update(session.execute(sa.select(col(ContactIpAddress.contact_id), col(ContactIpAddress.ip_id)).where(
            among(session, col(ContactIpAddress.contact_id), contact_ids[start:start + IP_CHUNK]))).tuples())
    new = [(c, ip) for c, ip in wanted if (c, known[ip]) not in linked]
    insert_rows(session=session, table=ContactIpAddress, columns=("contact_id", "ip_id"), rows=[(c, known[ip]) for c, ip in new])
    return new


def _ip_ids(session: Session, addresses: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(addresses), IP_CHUNK):
        found.update(session.execute(sa.select(col(IpAddress.ip_address), col(IpAddress.id)).where(
            among(session, col(IpAddress.ip_address), addresses[start:start + IP_CHUNK]))).tuples().all())
    return found


# ---------------------------------------------------------------- timeline


class Event(TypedDict):
    """A timeline line: when it happened (default now) and who did it (default nobody) are optional."""

    contact_id: int
    event_type: str
    details: dict[str, Any]
    occurred_at: NotRequired[datetime]
    user_id: NotRequired[int | None]


EVENT_COLUMNS = ("contact_id", "event_type", "occurred_at", "user_id", "details")


def log_events(*, session: Session, events: Iterable[Event]) -> None:
    """Many timeline lines in one statement (imports, bulk actions, the queued writers); one line at a
    time is ``timeline.log``."""
    now = utcnow()
    insert_rows(session=session, table=ContactEvent, columns=EVENT_COLUMNS, rows=[
        (e["contact_id"], e["event_type"], e.get("occurred_at") or now, e.get("user_id"), e["details"]) for e in events])
