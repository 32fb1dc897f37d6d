"""E-mail tasks: thin wrappers around ``services.email_sends`` taking ids (a broadcast runs as a chain of
short runs, each queueing the next, so pause and cancel act within a batch and no task runs for minutes)."""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from mautic_app.db import get_engine, session_scope
from mautic_app.services import email_sends
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)


@app.task(name=email_sends.BROADCAST_TASK, ignore_result=True)
def send_broadcast(send_id: int, chain: str) -> None:
    if email_sends.run_broadcast(send_id=send_id, chain=chain):
        send_broadcast.delay(send_id, chain)


@app.task(name=email_sends.DELIVER_TASK, ignore_result=True)
def deliver(stat_id: int) -> None:
    email_sends.deliver(stat_id=stat_id)


@app.task(name=email_sends.DELIVER_MANY_TASK, ignore_result=True)
def deliver_many(stat_ids: list[int]) -> None:
    email_sends.deliver_many(stat_ids=stat_ids)


@app.task(name="mautic.emails.tick", ignore_result=True)
def tick() -> int:
    """Beat, every 15 s: start scheduled broadcasts that are due, restart broadcasts whose worker died."""
    with session_scope() as session:
        found = email_sends.due_and_stalled(session=session)
    if found:
        log.info("started or restarted broadcasts %s", found)
    return len(found)


@signals.worker_ready.connect
def resume_broadcasts(sender: Any = None, **_kwargs: Any) -> None:
    """A worker that starts picks up at once the broadcasts a killed worker of this machine was running
    (its process is gone, so the lease needs no waiting out)."""
    if app.conf.task_default_queue not in (app.amqp.queues.consume_from or {}):
        return  # the writers' worker (-Q writers) sends nothing
    try:
        tick()
    except Exception:  # noqa: BLE001  (the beat sweep catches up; the worker must start regardless)
        log.exception("could not resume broadcasts")
    finally:
        get_engine().dispose()


@app.task(name=email_sends.SEND_COPY_TASK, ignore_result=True, bind=True, max_retries=3, default_retry_delay=60)
def send_copy(self, email_id: int, to_address: str, contact_id: int | None) -> None:
    """A template e-mail to a user (a form's "send an e-mail to a user"), filled in for the contact."""
    try:
        email_sends.send_copy(email_id=email_id, to_address=to_address, contact_id=contact_id)
    except email_sends.SendError as exc:
        log.warning("e-mail %s to user %s not sent: %s", email_id, to_address, exc)
        if "did not take" in str(exc):  # the server's refusal may pass; a deleted e-mail or bad address will not
            raise self.retry(exc=exc) from exc
