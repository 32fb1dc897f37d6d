"""Form tasks: the writer of queued submissions, and re-posting a submission's results to another site."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx

from mautic_app import outgoing
from mautic_app.db import session_scope
from mautic_app.queues import form_posts, redis_queue
from mautic_app.services import email_sends, forms
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)


@app.task(name="mautic.forms.repost", ignore_result=True, bind=True, max_retries=3, default_retry_delay=60)
def repost(self, submission_id: int) -> None:
    """POST the results, form-encoded with Mautic's names, to the action's URL, through ``outgoing``
    (public addresses only); retried a few times if the other site fails, never when it is refused."""
    with session_scope() as session:
        found = forms.repost_payload(session=session, submission_id=submission_id)
    if found is None:
        return
    url, data = found
    try:
        reply = outgoing.send("POST", url, content=urlencode(data).encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Mautic form re-post"})
    except outgoing.Refused as exc:
        log.warning("re-posting submission %s to %s refused: %s", submission_id, url, exc)
        return
    except (httpx.HTTPError, OSError) as exc:  # TimeoutError is an OSError
        failure: Exception = exc
    else:
        if reply.ok:
            return
        failure = RuntimeError(f"the site answered {reply.status}")
    log.warning("re-posting submission %s to %s failed: %s", submission_id, url, failure)
    raise self.retry(exc=failure)


@app.task(name="mautic.forms.record_queued_submissions", ignore_result=True)
def record_queued_submissions() -> int:
    """Store queued submissions in batches (Redis only); re-enqueue itself when it stops with more waiting.

    The submit route wakes it when no writer holds the lock; beat wakes it every few seconds too,
    so a lost wake-up delays submissions, never loses them.
    """
    if not redis_queue.enabled():
        return 0
    taken, more = form_posts.drain_submissions()
    if more:
        record_queued_submissions.delay()
    return taken


@app.task(name=forms.EMAIL_RESULTS_TASK, ignore_result=True, bind=True, max_retries=3, default_retry_delay=60)
def email_results(self, submission_id: int) -> None:
    """A submission's "E-mail the results" actions; retried a few times if the mail server fails."""
    with session_scope() as session:
        notices = forms.results_notice(session=session, submission_id=submission_id)
    for to, subject, html, text in notices:
        try:
            email_sends.send_notice(to_addresses=to, subject=subject, html=html, text=text)
        except email_sends.SendError as exc:
            log.warning("e-mailing the results of submission %s failed: %s", submission_id, exc)
            raise self.retry(exc=exc) from exc
