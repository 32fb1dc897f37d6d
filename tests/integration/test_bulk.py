"""services.bulk, the one writer imports, queued form posts and tracked hits store contacts, IP links and
timeline lines through: on PostgreSQL (COPY, UPDATE FROM unnest) and on SQLite (executemany)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from mautic_app import db as db_module
from mautic_app.models import ContactDevice, ContactIpAddress, IpAddress
from mautic_app.services import bulk, contacts, fields, timeline


def _field(session, label: str, type: str) -> str:
    with session() as s:
        return fields.create_field(session=s, obj="contact", label=label, type=type).alias


def test_new_contacts_come_back_in_row_order_with_their_custom_fields(database, session):
    size, tier = _field(session, "Shoe size", "number"), _field(session, "Tier", "text")
    rows = [
        {"public_id": "visitor-1"},  # anonymous: no identifying value
        {"email": "ann@example.com", size: 38, tier: "gold"},
        {"firstname": "Bob", tier: "silver", "points": 5},
        {size: 44},
        {"email": "cy@example.com", "date_identified": datetime(2024, 5, 1, tzinfo=UTC)},
    ]
    with session() as s:
        ids = bulk.new_contacts(session=s, rows=rows, source="form")
    assert ids == sorted(ids) and len(set(ids)) == len(rows)
    with session() as s:
        stored = contacts.read_many(session=s, ids=ids)
        lines = {i: [(e.event_type, e.details) for e in timeline.events(session=s, contact_id=i)] for i in ids}
    for contact_id, row in zip(ids, rows, strict=True):
        got = stored[contact_id]
        assert {k: got[k] for k in row if k != "date_identified"} == {k: v for k, v in row.items() if k != "date_identified"}
        assert got["preferred_profile_image"] == "gravatar" and got["date_added"] is not None
    assert [stored[i]["is_identified"] for i in ids] == [False, True, True, False, True]
    assert [stored[i]["date_identified"] is not None for i in ids] == [False, True, True, False, True]
    assert stored[ids[4]]["date_identified"].replace(tzinfo=UTC) == datetime(2024, 5, 1, tzinfo=UTC)
    assert [stored[i]["points"] for i in ids] == [0, 0, 5, 0, 0]
    for contact_id, identified in zip(ids, [False, True, True, False, True], strict=True):
        assert sorted(lines[contact_id]) == sorted([("created", {"source": "form"})] + ([("identified", {})] if identified else []))


def test_new_rows_of_a_model_table_get_ids_in_row_order(database, session):
    with session() as s:
        (owner,) = bulk.new_contacts(session=s, rows=[{"public_id": "owner"}])
        now = datetime.now(UTC)
        ids = bulk.insert_new_rows(session=s, table=ContactDevice, columns=("contact_id", "tracking_id", "client_info", "date_added"),
                                   rows=[(owner, f"device-{n}", {"name": f"Browser {n}"}, now) for n in range(4)])
    with session() as s:
        stored = {d.id: (d.tracking_id, d.client_info) for d in s.query(ContactDevice).filter(ContactDevice.id.in_(ids))}
    assert [stored[i] for i in ids] == [(f"device-{n}", {"name": f"Browser {n}"}) for n in range(4)]


def test_updates_are_one_statement_per_set_of_columns(database, session):
    tier = _field(session, "Tier", "text")
    with session() as s:
        a, b, c, d = bulk.new_contacts(session=s, rows=[{"city": "Oslo"}, {"city": "Rome"}, {"email": "c@example.com"}, {"city": "Bonn"}])
    statements: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:
        if statement.lstrip().upper().startswith("UPDATE CONTACTS"):
            statements.append(statement)

    engine = db_module.get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        with session() as s:
            current = contacts.read_many(session=s, ids=[a, b, c, d])
            identified = bulk.update_contacts(session=s, current=current, changes={
                a: {"city": "Paris", tier: "gold"}, b: {"city": "Lyon", tier: "silver"},
                c: {"firstname": "Cy", tier: "bronze"}, d: {}})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements  # (city, tier) for a and b; (firstname, tier) for c; nothing for d
    assert identified == []  # c already had an e-mail
    with session() as s:
        stored = contacts.read_many(session=s, ids=[a, b, c, d])
    assert [(stored[i]["city"], stored[i][tier]) for i in (a, b, d)] == [("Paris", "gold"), ("Lyon", "silver"), ("Bonn", None)]
    assert (stored[c]["firstname"], stored[c][tier]) == ("Cy", "bronze")
    assert all(stored[i]["date_modified"] is not None for i in (a, b, c)) and stored[d]["date_modified"] is None

    with session() as s:
        current = contacts.read_many(session=s, ids=[a, b])
        identified = bulk.update_contacts(session=s, current=current, changes={a: {"lastname": "Doe"}, b: {"city": "Nice"}})
    assert identified == [a]
    with session() as s:
        stored = contacts.read_many(session=s, ids=[a, b])
    assert stored[a]["is_identified"] and stored[a]["date_identified"] is not None
    assert not stored[b]["is_identified"] and stored[b]["date_identified"] is None


def test_an_ip_address_is_stored_once_and_linked_once_per_contact(database, session):
    with session() as s:
        a, b = bulk.new_contacts(session=s, rows=[{"public_id": "a"}, {"public_id": "b"}])
        first = bulk.link_ips(session=s, pairs=[(a, "192.0.2.1"), (a, "192.0.2.1"), (b, "192.0.2.1"), (a, "2001:db8::1")])
    assert first == [(a, "192.0.2.1"), (b, "192.0.2.1"), (a, "2001:db8::1")]
    with session() as s:
        again = bulk.link_ips(session=s, pairs=[(b, "192.0.2.1"), (b, "2001:db8::1"), (a, "198.51.100.7")])
    assert again == [(b, "2001:db8::1"), (a, "198.51.100.7")]
    with session() as s:
        links = s.execute(sa.select(ContactIpAddress.contact_id, IpAddress.ip_address)
                          .join(IpAddress, IpAddress.id == ContactIpAddress.ip_id)).all()
        addresses = s.execute(sa.select(IpAddress.ip_address)).scalars().all()
    assert sorted(links) == sorted([(a, "192.0.2.1"), (b, "192.0.2.1"), (a, "2001:db8::1"), (b, "2001:db8::1"), (a, "198.51.100.7")])
    assert sorted(addresses) == sorted(["192.0.2.1", "2001:db8::1", "198.51.100.7"])


def test_timeline_lines_are_written_with_their_details(database, session):
    with session() as s:
        ids = bulk.new_contacts(session=s, rows=[{"public_id": f"p{n}"} for n in range(3)])
    shared = {"import_id": 7, "file": "people.csv", "action": "created"}  # one object for many lines
    at = datetime(2024, 3, 2, 10, 30, tzinfo=UTC)
    with session() as s:
        bulk.log_events(session=s, events=[
            *({"contact_id": i, "event_type": "imported", "details": shared} for i in ids),
            {"contact_id": ids[0], "event_type": "page_hit", "occurred_at": at, "details": {"url": "https://shop.example/"}},
            {"contact_id": ids[1], "event_type": "tags", "user_id": 1, "details": {"added": ["vip"], "removed": []}},
        ])
        bulk.log_events(session=s, events=[])
    with session() as s:
        lines = {i: {e.event_type: e for e in timeline.events(session=s, contact_id=i)} for i in ids}
    assert all(lines[i]["imported"].details == shared for i in ids)
    assert lines[ids[0]]["page_hit"].occurred_at.replace(tzinfo=UTC) == at
    assert lines[ids[0]]["page_hit"].details == {"url": "https://shop.example/"}
    assert (lines[ids[1]]["tags"].user_id, lines[ids[1]]["tags"].details) == (1, {"added": ["vip"], "removed": []})
    assert lines[ids[2]]["imported"].user_id is None


def test_new_ids_on_sqlite_are_taken_under_the_write_lock(database, session):
    """Ids follow max(id), which holds only while no other writer can commit: a device another process
    stores while they are read waits for this transaction instead of taking one of them."""
    if database.backend != "sqlite":
        pytest.skip("PostgreSQL's ids come from its sequence")
    with session() as s:
        (owner,) = bulk.new_contacts(session=s, rows=[{"public_id": "owner"}])
    competitor: list[str] = []

    def compete(_conn, _cursor, statement, _params, _context, _many) -> None:
        if competitor or "max(id) FROM contact_devices" not in statement:
            return
        other = sqlite3.connect(database.url.removeprefix("sqlite:///"), timeout=0.2)
        try:
            other.execute("INSERT INTO contact_devices (contact_id, tracking_id, client_info, date_added) "
                          "VALUES (?, 'elsewhere', '{}', '2024-01-01 00:00:00')", (owner,))
            other.commit()
            competitor.append("stored")
        except sqlite3.OperationalError as exc:
            competitor.append(str(exc))
        finally:
            other.close()

    engine = db_module.get_engine()
    event.listen(engine, "before_cursor_execute", compete)
    try:
        with session() as s:
            s.execute(sa.select(1))  # a reader so far
            ids = bulk.insert_new_rows(session=s, table=ContactDevice, columns=("contact_id", "tracking_id", "client_info"),
                                       rows=[(owner, "here", {}), (owner, "there", {})])
    finally:
        event.remove(engine, "before_cursor_execute", compete)
    assert competitor == ["database is locked"]
    with session() as s:
        assert sorted(s.execute(sa.select(ContactDevice.id).where(ContactDevice.contact_id == owner)).scalars()) == ids
