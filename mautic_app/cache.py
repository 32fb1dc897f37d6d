"""Named caches of what the app reads often and changes rarely, cleared in every process by the change feed.

A module makes its cache once, naming the change-feed topics that make it stale::

    FIELDS: Cache[tuple[str, str], list[FieldSpec]] = cache.named("fields", topics=["fields"])

This process clears it right after its own commit that publishes one of those topics; every other
process (the web server, each Celery worker) as soon as its change-feed follower hears the topic.
So a field, form or setting saved anywhere is read everywhere at once, and nothing expires on a
timer. A topic can be narrowed to some actions (``"focus:saved"``): statistics published on the
same topic then leave the cache alone.

A value is kept only if no clear came between the start of its read and its arrival, so a slow
read never puts stale data back. A read through a session counts from the start of that session's
transaction (SQLite reads from a snapshot taken then), and a transaction that changes what a
cache holds reads it for itself alone (:func:`changed_in`): nobody else sees its uncommitted rows.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from mautic_app import changefeed

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

_MISSING: Any = object()
# session.info: {"epoch": clears seen when the transaction began, "changed": names of the caches it changes,
# "own": (name, key) → what it read of those itself}
_SESSION_KEY = "cache"
_epoch = 0  # how many clears this process has made (any cache)
_epoch_lock = threading.Lock()
_caches: weakref.WeakValueDictionary[str, Cache[Any, Any]] = weakref.WeakValueDictionary()


def epoch() -> int:
    """A point in this process's clears: a value read after it may be kept if no clear of its cache followed."""
    return _epoch


def _tick() -> int:
    global _epoch
    with _epoch_lock:
        _epoch += 1
        return _epoch


class Cache(Generic[K, V]):
    """A thread-safe map of loaded values, cleared whole when one of its topics is published.

    ``max_size`` bounds caches whose keys come from outside (credentials, ids in URLs): the least
    recently used entry goes first.
    """

    def __init__(self, name: str, *, topics: Iterable[str] = (), max_size: int | None = None) -> None:
        self.name = name
        self.topics: dict[str, frozenset[str]] = {}  # topic → the actions that clear (empty: any)
        for topic in topics:
            base, _, actions = topic.partition(":")
            self.topics[base] = self.topics.get(base, frozenset()) | frozenset(a for a in actions.split(",") if a)
        self.max_size = max_size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # one read at a time: a burst after a clear makes one query, not one each
        self._cleared_at = 0

    @overload
    def peek(self, key: K) -> V | None: ...
    @overload
    def peek(self, key: K, default: D) -> V | D: ...
    def peek(self, key: K, default: Any = None) -> Any:
        """The kept value without reading anything (for the event loop's hot paths), else ``default``."""
        if self.max_size is None:
            return self._entries.get(key, default)
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._entries.move_to_end(key)
            return value

    def get_or_load(self, key: K, loader: Callable[[], V], *, session: Session | None = None) -> V:
        """The kept value, or ``loader()``'s, kept unless a clear came while it was read.

        ``session``: the loader reads through it (so its transaction's start is when the read began).
        """
        value = self.peek(key, _MISSING)
        if value is not _MISSING:
            return value
        state = _state(session) if session is not None else None
        if state is not None and self.name in state["changed"]:
            own: dict[tuple[str, K], V] = state["own"]
            if (self.name, key) not in own:
                own[(self.name, key)] = loader()
            return own[(self.name, key)]
        as_of = state["epoch"] if state is not None else epoch()
        if self.topics:
            changefeed.follow()
        with self._loading:
            value = self.peek(key, _MISSING)
            if value is _MISSING:
                value = loader()
                self.put(key, value, as_of=as_of)
            return value

    def put(self, key: K, value: V, *, as_of: int | None = None) -> None:
        """Keep ``value``; with ``as_of`` (an :func:`epoch` taken before it was read) only if no clear came since."""
        with self._lock:
            if as_of is not None and self._cleared_at > as_of:
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            if self.max_size is not None and len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every value, and refuse the values of reads already under way."""
        at = _tick()
        with self._lock:
            self._entries.clear()
            self._cleared_at = at

    def clears_on(self, topic: str, payload: dict[str, Any]) -> bool:
        if topic not in self.topics:
            return False
        actions = set(payload.get("actions") or ()) | ({payload["action"]} if payload.get("action") else set())
        return not self.topics[topic] or not actions or bool(self.topics[topic] & actions)


def named(name: str, *, topics: Iterable[str] = (), max_size: int | None = None) -> Cache[Any, Any]:
    """A cache of this process, cleared whenever one of ``topics`` is published anywhere (see the module)."""
    if name in _caches:
        raise ValueError(f"a cache named {name!r} exists already")
    made: Cache[Any, Any] = Cache(name, topics=topics, max_size=max_size)
    _caches[name] = made
    return made


def clear_all() -> None:
    """Forget everything (tests pointing the app at another database; a forked child, whose parent's
    caches no follower of its own has kept up to date)."""
    for each in list(_caches.values()):
        each.clear()


def changed_in(session: Session, *caches: Cache[Any, Any]) -> None:
    """``session``'s transaction changes what ``caches`` hold: until it ends, its own reads of them go to
    the database and are kept for it alone. Its commit then publishes the topics that clear them."""
    state = _state(session)
    names = {c.name for c in caches}
    state["changed"] |= names
    state["own"] = {k: v for k, v in state["own"].items() if k[0] not in names}


def _state(session: Session) -> dict[str, Any]:
    state: dict[str, Any] = session.info.setdefault(_SESSION_KEY, {"epoch": epoch(), "changed": set(), "own": {}})
    return state


def _heard(topic: str, payload: dict[str, Any]) -> None:
    for each in list(_caches.values()):
        if each.clears_on(topic, payload):
            each.clear()


@event.listens_for(Session, "after_begin")
def _began(session: Session, _transaction: SessionTransaction, _connection: Any) -> None:
    _state(session)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_SESSION_KEY, None)


changefeed.hear(_heard)
os.register_at_fork(after_in_child=clear_all)
