"""Browser error reports reach the log cut short, and only so many a minute (anyone can send them)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from mautic_app.ui import browser_errors


def test_reports_are_cut_short_and_limited_per_minute(monkeypatch, caplog):
    now = [100.0]
    monkeypatch.setattr(browser_errors, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(browser_errors, "_window", [0.0, 0])
    with caplog.at_level(logging.ERROR, logger="mautic_app.browser"):
        for _ in range(100):
            browser_errors.log_browser_error(Exception("x" * 1_000_000))
        logged = [r.getMessage() for r in caplog.records]
        assert len(logged) == browser_errors.PER_MINUTE
        assert all(len(m) < browser_errors.MAX_CHARS + 100 and m.endswith("[cut]") for m in logged)
        now[0] += 60
        browser_errors.log_browser_error(Exception("TypeError: x is undefined"))
    assert caplog.records[-1].getMessage() == "Error in a browser: TypeError: x is undefined"
