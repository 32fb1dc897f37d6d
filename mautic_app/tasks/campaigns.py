"""Campaign tasks: thin callers of ``services.campaign_engine`` taking ids. The engine's due work lives in the
database; beat only wakes it, and a run that leaves work queues the next run."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from mautic_app import outgoing
from mautic_app.db import session_scope
from mautic_app.services import campaign_actions, campaign_engine, campaigns
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)


@app.task(name=campaign_engine.RUN_TASK, ignore_result=True)
def run() -> int:
    """Run what is due now; queue another run while more is due."""
    done = campaign_engine.run_due()
    if done < 0:
        run.delay()
    return abs(done)


@app.task(name=campaigns.SYNC_TASK, ignore_result=True)
def sync_members(campaign_id: int) -> None:
    with session_scope() as session:
        joined = campaign_engine.sync_members(session=session, campaign_id=campaign_id)
    if joined["joined"]:
        run.delay()


def segments_changed(payload: dict[str, Any]) -> None:
    """Change-feed watcher (see ``changefeed.WATCHERS``): segments whose members changed bring their campaigns
    along. It runs after a commit and must not touch the database: the task asks which campaigns use them."""
    if set(payload.get("actions") or []) & {"members", "rebuilt"}:
        for segment_id in payload.get("ids") or []:
            if isinstance(segment_id, int):
                sync_segment.delay(segment_id)


@app.task(name="mautic.campaigns.sync_segment", ignore_result=True)
def sync_segment(segment_id: int) -> None:
    """A source segment's members changed: its campaigns follow."""
    with session_scope() as session:
        ids = campaign_engine.campaigns_of_segment(session=session, segment_id=segment_id)
    for campaign_id in ids:
        sync_members(campaign_id)


@app.task(name=campaign_engine.WEBHOOK_TASK, ignore_result=True, bind=True, max_retries=5)
def send_webhook(self, campaign_id: int, event_id: int, contact_id: int) -> None:
    """One webhook call, retried with growing waits when the receiver fails or cannot be reached."""
    with session_scope() as session:
        request = campaign_actions.webhook_request(session=session, campaign_id=campaign_id, event_id=event_id, contact_id=contact_id)
    if request is None:
        return
    try:
        status = outgoing.send(request["method"], request["url"], headers=request["headers"], content=request["body"].encode(),
                               total_seconds=request["timeout"]).status
    except (httpx.HTTPError, TimeoutError, outgoing.Refused) as exc:
        log.warning("webhook of campaign %s event %s: %s", campaign_id, event_id, exc)
        if isinstance(exc, outgoing.Refused):
            return
        raise self.retry(exc=exc, countdown=60 * 2 ** self.request.retries) from exc
    if status >= 500 or status == 429:
        raise self.retry(countdown=60 * 2 ** self.request.retries)
