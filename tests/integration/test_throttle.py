"""Sign-in rate limits with their real stores: Redis (shared by every web process) and process memory."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from mautic_app import throttle
from tests.integration.conftest import REDIS_URL

IP = "203.0.113.77"


def _use(monkeypatch, change_settings, redis_url: str | None) -> None:
    """Limits in Redis or in memory, for an installation of their own (its own database URL)."""
    own = f"sqlite:///throttle-{uuid.uuid4().hex}.db"
    change_settings(redis_url=redis_url, database_url=own)
    monkeypatch.setattr(throttle, "_memory", throttle._MemoryStore())


@pytest.fixture(params=["memory", "redis"])
def store(request, monkeypatch, change_settings) -> None:
    _use(monkeypatch, change_settings, REDIS_URL if request.param == "redis" else None)


@pytest.fixture
def redis_store(monkeypatch, change_settings) -> None:
    _use(monkeypatch, change_settings, REDIS_URL)


def test_five_free_failures_then_waits_that_double_and_success_clears(store):
    assert [throttle.attempt(username="ann", ip=IP) for _ in range(6)] == [0] * 6  # the sixth starts a wait
    assert throttle.wait_seconds(username="ANN", ip="198.51.100.1") == 1
    assert throttle.attempt(username="ann", ip=IP) == 1  # refused during the wait, and nothing recorded
    assert throttle.wait_seconds(username="ann", ip=IP) == 1
    time.sleep(1.05)
    assert throttle.wait_seconds(username="ann", ip=IP) == 0
    assert throttle.attempt(username="ann", ip=IP) == 0
    assert throttle.wait_seconds(username="ann", ip=IP) == 2
    throttle.succeeded(username="ann", ip=IP)
    assert throttle.wait_seconds(username="ann", ip=IP) == 0
    assert throttle.attempt(username="ann", ip=IP) == 0
    assert throttle.wait_seconds(username="ann", ip=IP) == 0


def test_a_burst_of_concurrent_tries_lets_through_only_the_free_ones(store):
    """Tries are counted before their passwords are checked, atomically: a burst cannot all pass the check."""
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda n: throttle.attempt(username="bob", ip=f"198.51.100.{n}"), range(40)))
    assert sorted(waits) == [0] * 6 + [1] * 34
    assert throttle.wait_seconds(username="bob", ip=IP) == 1


def test_redis_keys_expire_and_every_process_sees_the_same_limits(redis_store):
    for _ in range(6):
        throttle.attempt(username="cy", ip=IP)
    other_process = throttle._RedisStore(REDIS_URL)
    assert other_process.wait(throttle._keys("cy", IP)) == 1
    client = other_process.client
    account, address = throttle._keys("cy", IP)
    assert 0 < client.pttl(f"{account.name}:wait") <= 1000 and not client.exists(f"{address.name}:wait")
    # Failures are forgotten 15 minutes after the wait they imposed ends.
    forget = throttle.FORGET_AFTER_SECONDS * 1000
    assert forget < client.pttl(f"{account.name}:failures") <= forget + 1000
    assert forget - 1000 < client.pttl(f"{address.name}:failures") <= forget
    throttle.succeeded(username="cy", ip=IP)
    assert not client.exists(*(f"{k.name}:{part}" for k in throttle._keys("cy", IP) for part in ("failures", "wait")))
