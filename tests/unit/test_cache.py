"""The named caches: loading once, clearing on their topics, never keeping a value read across a clear."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from mautic_app import cache, changefeed


@pytest.fixture(autouse=True)
def no_follower(monkeypatch):
    """These caches hear topics through ``changefeed``'s hearers; no process-wide follower is started."""
    monkeypatch.setattr(changefeed, "follow", lambda wait=2.0: None)


def made(*topics: str, max_size: int | None = None) -> cache.Cache:
    return cache.named(f"test-{uuid.uuid4().hex}", topics=topics, max_size=max_size)


def test_a_value_is_loaded_once_and_read_without_loading_until_cleared():
    loads = []
    c = made()
    assert c.peek("k") is None and c.peek("k", False) is False
    assert c.get_or_load("k", lambda: loads.append(1) or "v") == "v"
    assert c.get_or_load("k", lambda: loads.append(1) or "w") == "v"
    assert c.peek("k") == "v" and len(loads) == 1
    c.clear()
    assert c.peek("k") is None
    assert c.get_or_load("k", lambda: "w") == "w"


def test_none_is_a_value_too():
    c = made()
    assert c.get_or_load(7, lambda: None) is None
    assert c.peek(7, False) is None
    assert c.get_or_load(7, lambda: "read again") is None


def test_publications_clear_the_caches_of_their_topics_only():
    fields, forms = made("fields"), made("forms")
    fields.put(1, "f")
    forms.put(1, "g")
    changefeed._tell_hearers("fields", {"ids": [3], "actions": ["created"]})
    assert fields.peek(1) is None and forms.peek(1) == "g"


def test_a_topic_narrowed_to_actions_ignores_the_others():
    c = made("focus:saved,deleted")
    c.put(None, "index")
    changefeed._tell_hearers("focus", {"ids": [1], "actions": ["stat"]})
    assert c.peek(None) == "index"
    changefeed._tell_hearers("focus", {"ids": [1], "actions": ["stat", "saved"]})
    assert c.peek(None) is None
    c.put(None, "index")
    changefeed._tell_hearers("focus", {"ids": [1], "action": "deleted"})
    assert c.peek(None) is None
    c.put(None, "index")
    changefeed._tell_hearers("focus", {})  # nothing said about what changed: cleared to be safe
    assert c.peek(None) is None


def test_a_value_read_while_the_cache_was_cleared_is_not_kept():
    c = made("fields")

    def load_then_hear_a_change() -> str:
        changefeed._tell_hearers("fields", {"actions": ["updated"]})
        return "old"

    assert c.get_or_load("k", load_then_hear_a_change) == "old"  # the caller gets what it read...
    assert c.peek("k") is None  # ...but nobody else does
    as_of = cache.epoch()
    c.clear()
    c.put("k", "stale", as_of=as_of)
    assert c.peek("k") is None
    c.put("k", "fresh", as_of=cache.epoch())
    assert c.peek("k") == "fresh"


def test_a_bounded_cache_drops_the_least_recently_used():
    c = made(max_size=2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.peek("a") == 1  # a is now the most recent
    c.put("c", 3)
    assert (c.peek("a"), c.peek("b"), c.peek("c")) == (1, None, 3)
    c.pop("a")
    assert c.peek("a") is None


def test_concurrent_misses_read_once():
    c = made()
    loads = []
    go = threading.Event()

    def slow() -> str:
        loads.append(1)
        time.sleep(0.05)
        return "v"

    def reader(out: list[str]) -> None:
        go.wait()
        out.append(c.get_or_load("k", slow))

    results: list[str] = []
    threads = [threading.Thread(target=reader, args=(results,)) for _ in range(8)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    assert results == ["v"] * 8 and len(loads) == 1


def test_names_are_unique_and_clear_all_clears_every_cache():
    c = made()
    with pytest.raises(ValueError):
        cache.named(c.name)
    c.put(1, 1)
    cache.clear_all()
    assert c.peek(1) is None


def test_caches_with_topics_follow_the_change_feed_before_reading(monkeypatch):
    """The follower listens before the first read, so no change between the read and the listening is missed."""
    calls = []
    monkeypatch.setattr(changefeed, "follow", lambda wait=2.0: calls.append("follow"))
    made("fields").get_or_load(1, lambda: calls.append("load"))
    made().get_or_load(1, lambda: calls.append("load"))
    assert calls == ["follow", "load", "load"]
