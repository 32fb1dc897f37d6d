"""A real Celery worker broadcasting through a real SMTP server is killed with SIGKILL half way; started again,
it sends every remaining contact exactly once and nobody twice. What was in flight at the kill (at most one
batch) is marked "delivery unknown" and not sent again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlmodel import select

import mautic_app.settings as settings_module
from mautic_app import db
from mautic_app.models import Email, EmailSegment, EmailStat
from mautic_app.services import contacts, email_sends, segments
from mautic_app.settings import PROJECT_ROOT
from mautic_app.tasks.celery_app import make_app
from tests.integration.smtp_sink import smtp_sink

CONTACTS = 240
BATCH = 20
TIMEOUT = 90


def _start_worker(database, tmp_path, dsn: str, name: str) -> subprocess.Popen:
    env = os.environ | {
        "MAUTIC_DATA_DIR": str(tmp_path),
        "MAUTIC_DATABASE_URL": database.url,
        "MAUTIC_REDIS_URL": "",
        "MAUTIC_MAILER_DSN": dsn,
        "MAUTIC_EMAIL_BATCH_SIZE": str(BATCH),
    }
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mautic_app.tasks.celery_app", "worker", "-B", "--loglevel=INFO", "--concurrency=1"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait(session, send_id: int, until, worker: subprocess.Popen, tmp_path, name: str) -> dict:
    deadline = time.monotonic() + TIMEOUT
    progress: dict = {}
    while time.monotonic() < deadline:
        with session() as s:
            progress = email_sends.progress(session=s, send_id=send_id)
        if until(progress):
            return progress
        assert worker.poll() is None, (tmp_path / f"{name}.log").read_text(errors="replace")[-4000:]
        time.sleep(0.05)
    raise AssertionError(f"broadcast stuck at {progress}\n{(tmp_path / f'{name}.log').read_text(errors='replace')[-4000:]}")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_sigkill_in_the_middle_of_a_broadcast(database, session, tmp_path, monkeypatch):
    client = make_app(settings_module.get_settings())  # the worker's broker folder
    monkeypatch.setattr(db, "send_task", lambda task, *args: client.send_task(task, args=list(args)))
    with smtp_sink() as sink:
        sink.delay = 0.02  # the broadcast lasts a few seconds, so the kill lands in the middle
        with session() as s:
            ids = [contacts.create(session=s, values={"email": f"k{i}@example.com", "firstname": f"K{i}"})[0] for i in range(CONTACTS)]
            seg = segments.save_segment(session=s, values={"name": "Everyone"})
            segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
            e = Email(name="Kill test", email_type="list", subject="Hello {contactfield=firstname}",
                      custom_html="<p>Hi {contactfield=firstname}</p>", from_address="news@example.org")
            s.add(e)
            s.flush()
            s.add(EmailSegment(email_id=e.id, segment_id=seg.id))
            s.flush()
            send_id = email_sends.start_broadcast(session=s, email_id=e.id).id
        first = _start_worker(database, tmp_path, sink.dsn, "first")
        try:
            _wait(session, send_id, lambda p: p["sent"] >= CONTACTS // 4, first, tmp_path, "first")
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        finally:
            _stop(first)
        at_kill = len(sink.messages)
        assert at_kill < CONTACTS, "the broadcast finished before the kill: make it slower"
        second = _start_worker(database, tmp_path, sink.dsn, "second")
        try:
            done = _wait(session, send_id, lambda p: p["status"] == "finished", second, tmp_path, "second")
        finally:
            _stop(second)
        received = Counter(sink.to())
        with session() as s:
            stats = s.exec(select(EmailStat).where(EmailStat.send_id == send_id)).all()
    assert max(received.values()) == 1, [a for a, n in received.items() if n > 1]  # nobody twice
    by_status = Counter(st.status for st in stats)
    assert len(stats) == CONTACTS and set(by_status) <= {"sent", "unknown"}
    assert by_status["unknown"] <= BATCH  # at most the batch in flight
    for st in stats:
        if st.status == "sent":
            assert received[st.email_address] == 1, st.email_address  # everyone else exactly once
    assert set(received) | {st.email_address for st in stats if st.status == "unknown"} == {f"k{i}@example.com" for i in range(CONTACTS)}
    assert (done["sent"], done["unknown"]) == (by_status["sent"], by_status["unknown"])
