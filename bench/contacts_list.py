"""Contacts list at 1,000,000 contacts in PostgreSQL: first page by last active, and an
``email:`` prefix search, through the service, against the same queries written by hand."""

from __future__ import annotations

import os
import time

import sqlalchemy as sa

from bench.common import median_ms, report, scratch_database, use_database

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "1000000"))

FILL = """
INSERT INTO contacts (date_added, is_identified, points, firstname, lastname, email, city, last_active, preferred_profile_image)
SELECT now() - (g % 365) * interval '1 day',
       g % 5 <> 0,
       g % 100,
       CASE WHEN g % 5 <> 0 THEN 'First' || (g % 997) END,
       CASE WHEN g % 5 <> 0 THEN 'Last' || (g % 1009) END,
       CASE WHEN g % 5 <> 0 THEN 'user' || g || '@example' || (g % 50) || '.com' END,
       'City' || (g % 300),
       CASE WHEN g % 7 = 0 THEN NULL ELSE now() - ((g::bigint * 7919) % 5000000) * interval '1 second' END,
       'gravatar'
FROM generate_series(1, :n) AS g
"""


def run() -> None:
    with scratch_database("mautic_bench_list") as url:
        db = use_database(url)
        from mautic_app.services import contacts

        engine = db.get_engine()
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text(FILL), {"n": CONTACTS})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE contacts"))
        print(f"filled {CONTACTS:,} contacts in {time.perf_counter() - t0:.1f} s", flush=True)

        probe = "user12345"
        order = "ORDER BY last_active DESC NULLS LAST, id DESC LIMIT 30"
        cap = contacts.UI_COUNT_CAP + 1
        hand_page = sa.text(f"SELECT * FROM contacts {order}")
        hand_count = sa.text("SELECT count(*) FROM (SELECT id FROM contacts LIMIT :cap) t")
        hand_search = sa.text(f"SELECT * FROM contacts WHERE lower(email) LIKE :p {order}")
        hand_search_count = sa.text("SELECT count(*) FROM (SELECT id FROM contacts WHERE lower(email) LIKE :p LIMIT :cap) t")

        def ours(search: str):
            def call():
                with db.session_scope() as session:
                    page = contacts.list_contacts(session=session, search=search, order_by="last_active", direction="desc", limit=30)
                    assert len(page.rows) > 0
            return call

        def hand(page_sql, count_sql, params):
            def call():
                with engine.connect() as conn:
                    rows = conn.execute(page_sql, params).mappings().all()
                    conn.execute(count_sql, params | {"cap": cap}).scalar()
                    assert rows
            return call

        report("list first page (last active) + capped count", median_ms(ours("")), median_ms(hand(hand_page, hand_count, {})),
               goal="goal: ratio <= 1.5, < 100 ms")
        report(f"email:{probe} prefix search + count", median_ms(ours(f"email:{probe}")),
               median_ms(hand(hand_search, hand_search_count, {"p": probe + "%"})), goal="goal: ratio <= 1.5, < 100 ms")
