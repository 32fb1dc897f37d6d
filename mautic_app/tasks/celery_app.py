"""The one Celery app: imports, maintenance and, later, every other background job.

Start a worker with its embedded beat scheduler (from the project root)::

    celery -A mautic_app.tasks.celery_app worker -B --loglevel=INFO --concurrency=1

Broker: Redis when ``MAUTIC_REDIS_URL`` is set (also the result store). Otherwise kombu's
filesystem transport (made safe to share in ``mautic_app.broker``) under ``settings.celery_folder``, which needs no server and, with both
data folders the same, lets the web process and the worker share one queue; results are
ignored there (tasks report progress through the database, not results).

This module imports nothing of the app but its settings and broker, so ``db`` can send tasks by
name through :data:`app`; what the worker does when it starts (migrating the database, fresh
connections per process) is in ``tasks.maintenance``.
"""

from __future__ import annotations

import pkgutil
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab

from mautic_app import broker, tasks
from mautic_app.settings import Settings, get_settings


def task_modules() -> list[str]:
    """Every module of this package except this one, so a new task module needs no registration."""
    return [f"{tasks.__name__}.{m.name}" for m in pkgutil.iter_modules(tasks.__path__) if m.name != "celery_app"]

WRITERS_QUEUE = "writers"


def config(cfg: Settings) -> dict[str, Any]:
    """Celery settings for ``cfg``: Redis when configured, else the server-less filesystem broker.

    Nothing is written here (the app is configured on import): the broker makes its folders when first
    used (``broker.Channel``) and beat its schedule's folder when it starts (``tasks.maintenance``)."""
    folder = cfg.celery_folder
    schedule: dict[str, dict[str, Any]] = {
        "prune-change-feed": {"task": "mautic.maintenance.prune_change_feed", "schedule": timedelta(minutes=1)},
        "purge-expired-sessions": {"task": "mautic.maintenance.purge_expired_sessions", "schedule": crontab(minute=7)},
        "requeue-stalled-imports": {"task": "mautic.imports.requeue_stalled", "schedule": timedelta(minutes=1)},
        # Scheduled broadcasts start within 15 s of their time; a broadcast whose worker died resumes.
        "email-broadcasts": {"task": "mautic.emails.tick", "schedule": timedelta(seconds=15)},
        # Beat only wakes the campaign engine; what is due is found through the event log's index.
        "campaign-engine": {"task": "mautic.campaigns.run", "schedule": timedelta(seconds=15)},
        "bounce-mailbox": {"task": "mautic.bounces.check_mailbox", "schedule": timedelta(minutes=5)},
        # Changed contacts are re-evaluated within seconds; this catches time passing (relative dates).
        "rebuild-segments": {"task": "mautic.segments.rebuild_all", "schedule": timedelta(minutes=15)},
    }
    common: dict[str, Any] = {
        "timezone": "UTC",
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "beat_schedule_filename": str(folder / "beat-schedule"),
        "beat_schedule": schedule,
        # The queued writers (hits, form submissions) have their own worker: a long import never holds
        # live visitors back, and in a burst that worker yields the CPU to the web server (launcher).
        "task_routes": {"mautic.tracking.*": {"queue": WRITERS_QUEUE}, "mautic.forms.record_queued_submissions": {"queue": WRITERS_QUEUE}},
    }
    if cfg.redis_url:
        # Hits queue in Redis only; beat wakes their writer too, in case a wake-up was lost.
        schedule["record-queued-hits"] = {"task": "mautic.tracking.record_queued_hits", "schedule": timedelta(seconds=5)}
        schedule["record-queued-submissions"] = {"task": "mautic.forms.record_queued_submissions", "schedule": timedelta(seconds=5)}
        return common | {"broker_url": cfg.redis_url, "result_backend": cfg.redis_url}
    queue, processed, control = folder / "queue", folder / "processed", folder / "control"
    return common | {
        "broker_url": f"{broker.SCHEME}://localhost//",  # the host is ignored; naming it silences kombu's warning
        "broker_transport_options": {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "processed_folder": str(processed),
            "control_folder": str(control),
            "store_processed": False,
            "polling_interval": 0.5,
        },
    }


def make_app(cfg: Settings) -> Celery:
    celery = Celery("mautic_app", include=task_modules())
    celery.conf.update(config(cfg))
    return celery


app = make_app(get_settings())
