"""The campaign dry run in the background: a thin caller of ``services.campaign_dry_run``.

``campaign_dry_run.queue(campaign_id=..., days=...)`` sends it; the task keeps its progress and then its result with
``campaign_dry_run.store`` (Redis when the app has one, else a file in the shared data folder, for a day), where the
web process reads it with ``campaign_dry_run.stored``. The dry run itself only reads the database."""

from __future__ import annotations

import logging
from typing import Any

from mautic_app.db import session_scope
from mautic_app.services import campaign_dry_run
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)


@app.task(name=campaign_dry_run.TASK, ignore_result=True)
def dry_run(campaign_id: int, days: int = 30) -> dict[str, Any]:
    """Simulate ``days`` of the campaign and keep the forecast; returns it too."""

    def progress(share: float) -> None:
        campaign_dry_run.store(campaign_id, {"status": "running", "days": days, "progress": round(share, 3)})

    try:
        with session_scope() as session:
            result = campaign_dry_run.dry_run(session=session, campaign_id=campaign_id, days=days, on_progress=progress)
    except (LookupError, ValueError) as exc:  # the campaign is gone, or the days are out of range: nothing to retry
        campaign_dry_run.store(campaign_id, {"status": "failed", "days": days, "error": str(exc)})
        return {}
    except Exception as exc:
        log.exception("dry run of campaign %s failed", campaign_id)
        campaign_dry_run.store(campaign_id, {"status": "failed", "days": days, "error": f"{type(exc).__name__}: {exc}"[:500]})
        raise
    campaign_dry_run.store(campaign_id, {"status": "done", "progress": 1.0, **result})
    return result
