"""Form tasks: the writer of queued submissions, and re-posting a submission's results to another site."""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request

from mautic_app import hitqueue
from mautic_app.db import session_scope
from mautic_app.services import forms
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


@app.task(name="mautic.forms.repost", ignore_result=True, bind=True, max_retries=3, default_retry_delay=60)
def repost(self, submission_id: int) -> None:
    """POST the results, form-encoded with Mautic's names, to the action's URL; retried a few times if it fails."""
    with session_scope() as session:
        found = forms.repost_payload(session=session, submission_id=submission_id)
    if found is None:
        return
    url, data = found
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Mautic form re-post"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:  # noqa: S310  (http(s) only: checked on save)
            reply.read(1024)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        log.warning("re-posting submission %s to %s failed: %s", submission_id, url, exc)
        raise self.retry(exc=exc) from exc


@app.task(name="mautic.forms.record_queued_submissions", ignore_result=True)
def record_queued_submissions() -> int:
    """Store queued submissions in batches (Redis only); re-enqueue itself when it stops with more waiting.

    The submit route wakes it when no writer holds the lock; beat wakes it every few seconds too,
    so a lost wake-up delays submissions, never loses them.
    """
    if not hitqueue.enabled():
        return 0
    taken, more = hitqueue.drain_submissions()
    if more:
        record_queued_submissions.delay()
    return taken
