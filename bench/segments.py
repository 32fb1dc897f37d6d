"""Segments in PostgreSQL with 1,000,000 contacts and 5,000,000 page hits.

- Full rebuild from empty of a five-filter segment (text startsWith, number gte, tag in, relative
  date, page hit URL) through ``services.segments.rebuild``, against one hand-written
  ``INSERT ... SELECT`` producing the same members in the same run. Ours also writes a timeline line
  per member; the hand-written one does not.
- Incremental: 1,000 changed contacts re-evaluated against 20 segments (``update_contacts``).
- Live count while editing: ``preview`` of the same five filters (the builder's count and sample).
"""

from __future__ import annotations

import os
import time

import sqlalchemy as sa

from bench.common import report, scratch_database, use_database

CONTACTS = int(os.environ.get("BENCH_SEGMENT_CONTACTS", "1000000"))
HITS = int(os.environ.get("BENCH_SEGMENT_HITS", "5000000"))

FILL_CONTACTS = """
INSERT INTO contacts (date_added, is_identified, points, firstname, email, city, date_identified, preferred_profile_image)
SELECT now() - (g % 365) * interval '1 day', true, (g::bigint * 7919) % 101, 'First' || (g % 997), 'user' || g || '@example.com',
       CASE WHEN g % 10 = 0 THEN 'Berlin' WHEN g % 20 = 1 THEN 'Bern' ELSE 'City' || (g % 300) END,
       now() - ((g::bigint * 104729) % 10368000) * interval '1 second', 'gravatar'
FROM generate_series(1, :n) AS g
"""
FILL_TAGS = """
INSERT INTO tags (tag) VALUES ('vip'), ('newsletter');
INSERT INTO contact_tags (contact_id, tag_id)
SELECT id, (SELECT id FROM tags WHERE tag = 'vip') FROM contacts WHERE id % 5 = 0;
INSERT INTO contact_tags (contact_id, tag_id)
SELECT id, (SELECT id FROM tags WHERE tag = 'newsletter') FROM contacts WHERE id % 3 = 0;
"""
FILL_HITS = """
INSERT INTO page_hits (contact_id, date_hit, url, url_hash, tracking_id, code, source, is_unique, browser_languages, query)
SELECT 1 + floor(random() * :contacts)::int, now() - (g % 2592000) * interval '1 second',
       CASE WHEN random() < 0.1 THEN 'https://shop.example/pricing' ELSE 'https://shop.example/p/' || (g % 1000) END,
       md5(g::text), 't' || (g % 100000), 200, 'mtc', false, '[]', '{}'
FROM generate_series(1, :n) AS g
"""
FILTERS = [
    {"glue": "and", "field": "city", "operator": "startsWith", "value": "Ber"},
    {"glue": "and", "field": "points", "operator": "gte", "value": 50},
    {"glue": "and", "field": "tags", "operator": "in", "value": ["vip"]},
    {"glue": "and", "field": "date_identified", "operator": "gte", "value": "-30 days"},
    {"glue": "and", "field": "hit_url", "operator": "contains", "value": "/pricing"},
]
HAND_WHERE = """
FROM contacts c
WHERE c.city ILIKE 'Ber%' AND c.points >= 50
  AND EXISTS (SELECT 1 FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id = c.id AND t.tag ILIKE 'vip')
  AND c.date_identified >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '30 days'
  AND EXISTS (SELECT 1 FROM page_hits h WHERE h.contact_id = c.id AND h.url ILIKE '%/pricing%')
"""
HAND_WRITTEN = "INSERT INTO segment_contacts (segment_id, contact_id, date_added, manually_added, manually_removed) " \
               "SELECT :sid, c.id, now(), false, false " + HAND_WHERE
HAND_COUNT = "SELECT count(*) " + HAND_WHERE


def run() -> None:
    with scratch_database("mautic_bench_segments") as url:
        os.environ.pop("MAUTIC_REDIS_URL", None)
        db = use_database(url)
        from mautic_app.services import segments

        engine = db.get_engine()
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text(FILL_CONTACTS), {"n": CONTACTS})
        analyze = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # Before the rows that refer to contacts: foreign-key checks planned on an empty table scan it.
        analyze.execute(sa.text("VACUUM ANALYZE contacts"))
        with engine.begin() as conn:
            for statement in FILL_TAGS.strip().split(";"):
                if statement.strip():
                    conn.execute(sa.text(statement))
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT setseed(0.42)"))  # the same hits every run
            conn.execute(sa.text(FILL_HITS), {"n": HITS, "contacts": CONTACTS})
        analyze.execute(sa.text("VACUUM ANALYZE"))
        analyze.close()
        print(f"filled {CONTACTS:,} contacts and {HITS:,} page hits in {time.perf_counter() - t0:.1f} s", flush=True)

        with db.session_scope() as session:
            ours = segments.save_segment(session=session, values={"name": "Bench five filters", "filters": FILTERS}).id
            theirs = segments.save_segment(session=session, values={"name": "Hand written"}).id
            others = [segments.save_segment(session=session, values={"name": f"Other {i}", "filters": [
                {"field": "points", "operator": "gte", "value": i * 5},
                {"field": "city", "operator": "startsWith", "value": f"City{i}"},
            ]}).id for i in range(19)]

        def by_hand() -> tuple[int, float]:
            start = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM segment_contacts WHERE segment_id = :sid"), {"sid": theirs})
                rows = conn.execute(sa.text(HAND_WRITTEN), {"sid": theirs}).rowcount
            return rows, time.perf_counter() - start

        by_hand()  # the first run reads the tables into memory: neither side gets that cost
        expected, hand = by_hand()
        t0 = time.perf_counter()
        with db.session_scope() as session:
            result = segments.rebuild(session=session, segment_id=ours)
        mine = time.perf_counter() - t0
        hand = min(hand, by_hand()[1])
        with engine.connect() as conn:
            differ = conn.execute(sa.text(
                "SELECT count(*) FROM (SELECT contact_id FROM segment_contacts WHERE segment_id = :a "
                "EXCEPT SELECT contact_id FROM segment_contacts WHERE segment_id = :b) d"), {"a": ours, "b": theirs}).scalar_one()
        same = result["added"] == expected and differ == 0
        report(f"full rebuild, 5 filters ({expected:,} members)", mine, hand, unit="s",
               goal=f"goal: ratio <= 2 and < 30 s; same members: {'yes' if same else 'NO'}")

        for sid in others:
            with db.session_scope() as session:
                segments.rebuild(session=session, segment_id=sid)
        with engine.connect() as conn:
            changed = list(conn.execute(sa.text("SELECT id FROM contacts ORDER BY id LIMIT 1000 OFFSET 5000")).scalars())
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE contacts SET points = (points + 37) % 101, city = 'Berlin' WHERE id = ANY(:ids)"),
                         {"ids": changed})
        t0 = time.perf_counter()
        with db.session_scope() as session:
            moved = segments.update_contacts(session=session, contact_ids=changed)
        incremental = time.perf_counter() - t0
        one = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT count(*) FROM contacts WHERE id = ANY(:ids)"), {"ids": changed}).scalar_one()
        floor = time.perf_counter() - one
        print(f"{'incremental: 1,000 contacts x 20 segments':<48} {incremental:9.2f} s  "
              f"({sum(a + r for a, r in moved.values()):,} memberships changed; reading the 1,000 alone: {floor * 1000:.1f} ms)  "
              f"goal: < 1 s", flush=True)

        t0 = time.perf_counter()
        with db.session_scope() as session:
            preview = segments.preview(session=session, filters=FILTERS)
        count_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.connect() as conn:  # the builder's count alone (the preview also reads a sample)
            conn.execute(sa.text(HAND_COUNT)).scalar_one()
        count_hand = time.perf_counter() - t0
        report(f"live count while editing ({preview['total']:,})", count_time, count_hand, unit="s", goal="goal: < 1 s")
