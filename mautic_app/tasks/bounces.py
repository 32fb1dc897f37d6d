"""Reading the bounce mailbox: beat, every five minutes, when one is set up."""

from __future__ import annotations

import logging

from mautic_app.db import session_scope
from mautic_app.services import bounces
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)


@app.task(name="mautic.bounces.check_mailbox", ignore_result=True)
def check_mailbox() -> int:
    with session_scope() as session:
        settings = bounces.mailbox_settings(session=session)
    raw = bounces.fetch_unseen(settings)  # no connection held while the mail server answers
    if not raw:
        return 0
    with session_scope() as session:
        found = bounces.record_reports(session=session, raw_messages=raw)
    log.info("bounce mailbox: %s messages, %s bounces or complaints", len(raw), found)
    return found
