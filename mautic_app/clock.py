"""The time the campaign engine reads. Tests move it forward (``MAUTIC_CLOCK_FILE`` names a file holding an offset
in seconds) so a campaign's days pass in seconds, in every process at once (web, workers), without patching."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from mautic_app.models.base import utcnow

_cached: tuple[float, float] = (-1.0, 0.0)  # (file mtime, offset)


def offset() -> timedelta:
    global _cached
    name = os.environ.get("MAUTIC_CLOCK_FILE")
    if not name:
        return timedelta()
    path = Path(name)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return timedelta()
    if mtime != _cached[0]:
        try:
            _cached = (mtime, float(path.read_text().strip() or 0))
        except (OSError, ValueError):
            _cached = (mtime, 0.0)
    return timedelta(seconds=_cached[1])


def now() -> datetime:
    """Aware UTC, moved forward by the test clock's offset when one is set."""
    return utcnow() + offset()


def advance(by: timedelta) -> None:
    """Move the shared clock forward (tests only: the file must be named in the environment)."""
    name = os.environ.get("MAUTIC_CLOCK_FILE")
    if not name:
        raise RuntimeError("MAUTIC_CLOCK_FILE is not set: the clock only moves in tests")
    path = Path(name)
    current = offset()
    path.write_text(str((current + by).total_seconds()))
