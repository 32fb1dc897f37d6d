"""Segment tasks: re-evaluating changed contacts, rebuilding a segment, the scheduled full rebuild."""

from __future__ import annotations

import logging
import time
from typing import Any

from mautic_app import changefeed
from mautic_app.db import session_scope
from mautic_app.services import segments
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)
CHUNK = 1000
_filtered: tuple[float, bool] = (0.0, False)  # (when looked, whether any segment has filters)


def contacts_changed(payload: dict[str, Any]) -> None:
    """Change-feed watcher (see ``changefeed.WATCHERS``): queue the changed contacts' re-evaluation."""
    global _filtered
    ids = [i for i in payload.get("ids") or [] if isinstance(i, int)]
    if not ids:
        return
    if time.monotonic() - _filtered[0] > 5:  # a busy site commits many times a second: look now and then
        with session_scope() as session:
            _filtered = (time.monotonic(), segments.any_filtered(session=session))
    if not _filtered[1]:
        return
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
