"""Segment tasks: re-evaluating changed contacts, rebuilding a segment, the scheduled full rebuild."""

from __future__ import annotations

import logging
from typing import Any

from mautic_app import changefeed
from mautic_app.db import session_scope
from mautic_app.services import segments
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)
CHUNK = 1000


def contacts_changed(payload: dict[str, Any]) -> None:
    """Change-feed watcher (see ``changefeed.WATCHERS``): queue the changed contacts' re-evaluation.

    It runs after a commit and must not touch the database: whether any segment has filters is
    the task's question, asked with the segments as they are when it runs (a cached answer here
    kept a contact out of a segment saved a second earlier).
    """
    ids = [i for i in payload.get("ids") or [] if isinstance(i, int)]
    for start in range(0, len(ids), CHUNK):
        update_contacts.delay(ids[start:start + CHUNK])


@app.task(name="mautic.segments.update_contacts", ignore_result=True)
def update_contacts(contact_ids: list[int]) -> None:
    with session_scope() as session:
        segments.update_contacts(session=session, contact_ids=contact_ids)


@app.task(name="mautic.segments.rebuild", ignore_result=True)
def rebuild(segment_id: int) -> None:
    """Rebuild one segment; its open pages see "rebuilding" and then the new counts."""
    changefeed.publish("segments", {"ids": [segment_id], "actions": ["rebuilding"]})
    try:
        with session_scope() as session:
            segments.rebuild(session=session, segment_id=segment_id)
    except segments.SegmentError:
        log.warning("segment %s is gone; nothing to rebuild", segment_id)
    finally:
        changefeed.publish("segments", {"ids": [segment_id], "actions": ["rebuilt"]})


@app.task(name="mautic.segments.rebuild_all", ignore_result=True)
def rebuild_all() -> int:
    """Beat: every published segment, one task each (so one slow segment holds up no other)."""
    with session_scope() as session:
        ids = segments.published_ids(session=session)
    for segment_id in ids:
        rebuild.delay(segment_id)
    return len(ids)
