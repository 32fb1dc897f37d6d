"""A real Celery worker (filesystem broker, SQLite) runs an import from the queue to the end."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

import mautic_app.settings as settings_module
from mautic_app import db
from mautic_app.services import imports
from mautic_app.settings import PROJECT_ROOT
from mautic_app.tasks.celery_app import make_app

TIMEOUT = 60


@pytest.fixture
def worker(database, tmp_path):
    """``celery worker -B`` as documented, sharing this test's data folder and database."""
    env = os.environ | {
        "MAUTIC_DATA_DIR": str(tmp_path),
        "MAUTIC_DATABASE_URL": database.url,
        "MAUTIC_REDIS_URL": "",
        "MAUTIC_IMPORT_BATCH_SIZE": "7",  # several batches, so the task has to queue its successors
    }
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mautic_app.tasks.celery_app", "worker", "-B", "--loglevel=INFO", "--concurrency=1"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    yield proc
    proc.terminate()  # warm shutdown: the worker stops its own pool and beat
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_worker_imports_a_queued_file(database, session, worker, monkeypatch, tmp_path):
    client = make_app(settings_module.get_settings())  # same broker folder as the worker
    monkeypatch.setattr(db, "send_task", lambda task, *args: client.send_task(task, args=list(args)))
    data = "email,firstname,tags\n" + "".join(f"w{i}@example.com,Worker {i},queued\n" for i in range(30)) + "broken,Row,\n"
    with session() as s:
        imp = imports.create_import(session=s, original_name="worker.csv", data=data.encode())
        imports.start_import(session=s, import_id=imp.id, mapping={"email": "email", "firstname": "firstname", "tags": "tags"})
    deadline = time.monotonic() + TIMEOUT
    progress = {}
    while time.monotonic() < deadline and worker.poll() is None:
        with session() as s:
            progress = imports.progress(session=s, import_id=imp.id)
        if progress["done"]:
            break
        time.sleep(0.3)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert progress.get("status") == "imported", f"import did not finish: {progress}\n--- worker log ---\n{log[-4000:]}"
    assert (progress["inserted"], progress["failed"], progress["processed_rows"]) == (30, 1, 31)
    with session() as s:
        assert s.execute(sa.text("SELECT count(*) FROM contact_tags")).scalar() == 30
        assert imports.failures(session=s, import_id=imp.id)[0]["row"] == 32
    assert log.count("mautic.imports.run_batch") >= 5  # 31 rows in batches of 7


def test_celery_config_for_each_broker(tmp_path):
    from mautic_app.tasks.celery_app import config, task_modules

    base = settings_module.get_settings()
    embedded = config(dataclasses.replace(base, data_dir=tmp_path, redis_url=None))
    options = embedded["broker_transport_options"]
    assert embedded["broker_url"].startswith("mauticfs://") and "result_backend" not in embedded
    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "celery" / "queue")
    assert options["store_processed"] is False
    assert not (tmp_path / "celery").exists()  # configuring (on import) writes nothing
    with make_app(dataclasses.replace(base, data_dir=tmp_path, redis_url=None)).connection_for_write() as conn:
        assert conn.default_channel is not None  # the broker makes its folders when first used
    assert all((tmp_path / "celery" / name).is_dir() for name in ("queue", "processed", "control"))
    assert embedded["task_ignore_result"] is True
    assert {e["task"] for e in embedded["beat_schedule"].values()} == {
        "mautic.maintenance.prune_change_feed", "mautic.maintenance.purge_expired_sessions", "mautic.imports.requeue_stalled",
        "mautic.segments.rebuild_all", "mautic.emails.tick", "mautic.bounces.check_mailbox", "mautic.campaigns.run",
    }
    redis = config(dataclasses.replace(base, data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0"))
    assert redis["broker_url"] == redis["result_backend"] == "redis://127.0.0.1:6379/0"
    assert "mautic.tracking.record_queued_hits" in {e["task"] for e in redis["beat_schedule"].values()}
    assert redis["task_routes"] == {"mautic.tracking.*": {"queue": "writers"}, "mautic.forms.record_queued_submissions": {"queue": "writers"}}
    assert {"mautic_app.tasks.imports", "mautic_app.tasks.maintenance", "mautic_app.tasks.tracking",
            "mautic_app.tasks.segments"} <= set(task_modules())


def test_beat_tasks_run(database, session, monkeypatch):
    from mautic_app.tasks import imports as import_tasks
    from mautic_app.tasks import maintenance

    sent = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: sent.append(args) if task == imports.BATCH_TASK else None)
    with session() as s:
        imp = imports.create_import(session=s, original_name="x.csv", data=b"email\na@example.com\n")
        imports.start_import(session=s, import_id=imp.id, mapping={"email": "email"})
        imp.options = {**imp.options, "heartbeat": "2000-01-01T00:00:00+00:00"}
    assert sent == [(imp.id, 0)]
    assert import_tasks.requeue_stalled() == 1 and sent == [(imp.id, 0), (imp.id, 0)]
    assert import_tasks.requeue_stalled() == 0
    import_tasks.run_import_batch(imp.id, 0)  # the task body, inline
    with session() as s:
        assert imports.progress(session=s, import_id=imp.id)["inserted"] == 1
    assert maintenance.prune_change_feed() >= 0 and maintenance.purge_expired_sessions() == 0
