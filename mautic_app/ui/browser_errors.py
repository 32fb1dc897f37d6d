"""Error reports that browsers send over the event socket.

Reflex's report handler is open before sign-in (a page can fail anywhere), so anyone can send
reports of any size: each is cut short, and only so many a minute reach the log.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("mautic_app.browser")

MAX_CHARS = 2000
PER_MINUTE = 30
_lock = threading.Lock()
_window = [0.0, 0]  # start of the current minute, reports logged in it


def log_browser_error(exception: Exception) -> None:
    now = time.monotonic()
    with _lock:
        if now - _window[0] >= 60:
            _window[0], _window[1] = now, 0
        _window[1] += 1
        if _window[1] > PER_MINUTE:
            return
    text = str(exception)
    log.error("Error in a browser: %s%s", text[:MAX_CHARS], " [cut]" if len(text) > MAX_CHARS else "")
