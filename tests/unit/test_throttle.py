"""Sign-in rate limits in process memory (the embedded default), on a clock the tests move."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from mautic_app import throttle

IP = "203.0.113.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch, change_settings) -> Clock:
    """A fresh in-memory store, and time that moves only when a test says so."""
    fake = Clock()
    monkeypatch.setattr(throttle, "time", SimpleNamespace(monotonic=fake.monotonic))
    change_settings(redis_url=None)
    monkeypatch.setattr(throttle, "_memory", throttle._MemoryStore())
    return fake


def fail(times: int, username: str = "ann", ip: str = IP) -> list[int]:
    """Wrong passwords, one after another: each try is let through, and the wait it leaves is returned."""
    waits = []
    for _ in range(times):
        assert throttle.attempt(username=username, ip=ip) == 0
        waits.append(throttle.wait_seconds(username=username, ip=ip))
    return waits


def test_the_wait_doubles_from_one_second_after_the_free_failures_up_to_fifteen_minutes():
    assert [throttle.wait_after(n, 5) for n in range(1, 12)] == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32]
    assert throttle.wait_after(16, 5) == 900 and throttle.wait_after(10_000, 5) == 900


def test_an_account_waits_after_five_failures_and_tries_during_the_wait_change_nothing(clock):
    assert fail(5) == [0, 0, 0, 0, 0]
    assert throttle.wait_seconds(username="ann", ip=IP) == 0
    assert fail(1) == [1]
    for _ in range(10):  # refused tries: nothing recorded, the wait neither grows nor ends
        assert throttle.attempt(username="ann", ip=IP) == 1
        assert throttle.wait_seconds(username="ann", ip=IP) == 1
    clock.now += 0.4
    assert throttle.wait_seconds(username="ann", ip=IP) == 1  # whole seconds, rounded up
    clock.now += 0.6
    assert throttle.wait_seconds(username="ann", ip=IP) == 0
    assert fail(1) == [2]
    clock.now += 2
    assert fail(1) == [4]


def test_the_account_is_matched_without_case_and_from_any_address(clock):
    fail(3, username="Ann")
    fail(2, username=" ANN ", ip="198.51.100.1")
    assert fail(1, username="ann", ip="198.51.100.2") == [1]
    assert throttle.wait_seconds(username="aNN", ip="198.51.100.3") == 1
    assert throttle.wait_seconds(username="bob", ip="198.51.100.3") == 0


def test_an_address_waits_after_twenty_failures_whatever_the_accounts(clock):
    for n in range(20):
        assert fail(1, username=f"user{n}") == [0]
    assert fail(1, username="someone-else") == [1]
    assert throttle.wait_seconds(username="admin", ip=IP) == 1
    assert throttle.wait_seconds(username="admin", ip="198.51.100.9") == 0
    assert throttle.wait_seconds(username="admin", ip="") == 0  # an unknown address counts for its accounts only


def test_a_burst_of_tries_is_counted_one_after_another(clock):
    """Each try is counted before its password is checked: only the free ones and the one that starts a wait pass."""
    assert [throttle.attempt(username="ann", ip=IP) for _ in range(40)] == [0] * 6 + [1] * 34


def test_success_clears_the_account_and_the_address(clock):
    fail(6)
    throttle.succeeded(username="ANN", ip=IP)
    assert throttle.wait_seconds(username="ann", ip=IP) == 0
    assert fail(5) == [0, 0, 0, 0, 0]  # the free failures start over


def test_failures_are_forgotten_fifteen_minutes_after_the_last_wait_ends(clock):
    assert fail(6) == [0, 0, 0, 0, 0, 1]
    clock.now += 1
    assert fail(1) == [2]
    clock.now += 2 + 15 * 60 - 1
    assert fail(1) == [4]  # still remembered one second before
    clock.now += 4 + 15 * 60
    assert fail(5) == [0, 0, 0, 0, 0]


def test_the_table_in_memory_is_bounded(clock):
    store = throttle._MemoryStore(size=50)
    for n in range(500):
        store.attempt(throttle._keys(f"user{n}", f"198.51.{n // 250}.{n % 250}"))
    assert len(store.records) == 50
    store.attempt(throttle._keys("last", IP))
    assert throttle._keys("last", IP)[0].name in store.records


def test_user_names_and_addresses_are_not_kept_in_clear(clock):
    names = [k.name for k in throttle._keys("Mallory\0:" + "x" * 10_000, IP)]
    assert all(len(n) < 80 and "allory" not in n and IP not in n for n in names)


def test_when_redis_does_not_answer_sign_ins_go_ahead_with_a_warning(monkeypatch, caplog, change_settings):
    change_settings(redis_url="redis://127.0.0.1:1/0")
    monkeypatch.setattr(throttle, "_redis_stores", {})
    with caplog.at_level(logging.WARNING, logger="mautic_app.throttle"):
        assert fail(30) == [0] * 30
        assert throttle.wait_seconds(username="ann", ip=IP) == 0
        throttle.succeeded(username="ann", ip=IP)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Redis" in warnings[0].getMessage()  # once a minute, not once a sign-in
