"""CSV import of 200,000 rows into PostgreSQL through the import engine (the same batches the
Celery task runs), against PostgreSQL's ``COPY`` of the same file into a table like ``contacts``."""

from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

from bench.common import report, scratch_database, use_database

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "200000"))
COLUMNS = ["email", "firstname", "lastname", "city", "zipcode", "phone", "points"]


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            w.writerow([f"import{i}@example{i % 97}.com", f"First{i % 991}", f"Last{i % 1013}", f"City{i % 300}",
                        f"{10000 + i % 89999}", f"+1 555 {i % 10000:04d}", i % 100])


def run() -> None:
    folder = Path(tempfile.mkdtemp(prefix="mautic-bench-import-"))
    path = folder / "contacts.csv"
    write_csv(path, ROWS)
    print(f"wrote {ROWS:,} rows ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    with scratch_database("mautic_bench_import") as url:
        db = use_database(url, data_dir=folder)  # the bench's queued batch stays away from a running app
        from mautic_app.services import imports

        with db.get_engine().begin() as conn:
            conn.execute(sa.text("CREATE TABLE contacts_copy (LIKE contacts INCLUDING ALL)"))
            for column in ("date_added", "is_identified", "points"):
                conn.execute(sa.text(f"ALTER TABLE contacts_copy ALTER COLUMN {column} DROP NOT NULL"))
        pg_url = url.replace("postgresql+psycopg://", "postgresql://")
        t0 = time.perf_counter()
        with psycopg.connect(pg_url) as conn, conn.cursor() as cur:
            with cur.copy(f"COPY contacts_copy ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                    open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        copy_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        with db.session_scope() as session:
            row = imports.create_import(session=session, original_name="contacts.csv", path=path)
            imports.start_import(session=session, import_id=row.id, mapping={c: c for c in COLUMNS})
            import_id = row.id
        more = True
        while more:
            with db.session_scope() as session:
                more = imports.run_batch(session=session, import_id=import_id).more
        ours_s = time.perf_counter() - t0
        with db.session_scope() as session:
            summary = imports.progress(session=session, import_id=import_id)
        assert summary["inserted"] == ROWS, summary
        print(f"imported {summary['inserted']:,} contacts: {ROWS / ours_s:,.0f} rows/s (goal >= 10,000); "
              f"COPY {ROWS / copy_s:,.0f} rows/s", flush=True)
        report("CSV import 200k rows vs COPY", ours_s, copy_s, unit="s ", goal="goal: ratio <= 15")
