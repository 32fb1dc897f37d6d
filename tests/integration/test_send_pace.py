"""The transport's rate limit is shared: batches reserved one after another (by any process, through Redis)
wait their turn, so two broadcasts at once still keep to "messages per second at most"."""

from __future__ import annotations

import os
import secrets
from types import SimpleNamespace

import pytest

from mautic_app import send_pace


@pytest.fixture(params=["memory", "redis"])
def store(request, monkeypatch):
    url = "" if request.param == "memory" else os.environ.get("MAUTIC_TEST_REDIS", "redis://127.0.0.1:6379/15")
    monkeypatch.setattr(send_pace, "get_settings", lambda: SimpleNamespace(redis_url=url))
    return f"smtp:test-{secrets.token_hex(4)}"


def test_batches_wait_their_turn_at_the_rate(store):
    waits = [send_pace.reserve(store, 25, 50.0) for _ in range(4)]  # four batches of half a second each
    assert waits[0] == pytest.approx(0, abs=0.05)
    for i, wait in enumerate(waits[1:], start=1):
        assert wait == pytest.approx(0.5 * i, abs=0.1)
    assert send_pace.reserve(store, 25, 0) == 0 and send_pace.reserve("smtp:other-" + store, 10, 50.0) == pytest.approx(0, abs=0.05)


def test_an_unreachable_redis_lets_sending_go_on(monkeypatch):
    monkeypatch.setattr(send_pace, "get_settings", lambda: SimpleNamespace(redis_url="redis://127.0.0.1:1/0"))
    assert send_pace.reserve("smtp:x", 100, 1.0) == 0.0
