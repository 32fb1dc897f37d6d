"""One writer thread per process for the public routes' writes on the embedded default (no Redis).

SQLite lets one transaction write at a time. A request that wrote its own hit held a worker
thread and a pooled connection while it waited for that lock, so a burst of visitors emptied
the thread pool and the connection pool, and every page, the API and ``/ping`` waited behind
them. Here requests hand their item to one thread and wait on the event loop, holding nothing;
the thread writes whatever has gathered in one transaction (a group commit) and answers each
request once that transaction has committed, so a 2xx still means stored. When the writer is
far behind, :meth:`GroupWriter.submit` refuses at once with :class:`Busy`: the route answers 503
with ``Retry-After`` instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2
Item = TypeVar("Item")
Result = TypeVar("Result")


class Busy(Exception):
    """The writer is too far behind to take more now."""


class GroupWriter(Generic[Item, Result]):
    """``write(items)`` runs on the writer thread with up to ``batch`` items and returns one result per
    item; each :meth:`submit` returns its item's result or raises what ``write`` raised. ``then(items,
    results)``, when given, is work the answers do not wait for (a click's redirect is looked up by ``write``,
    and the click written by ``then``): it runs on a second thread, over every group answered meanwhile, so
    the next lookups never wait behind the last group's writes."""

    def __init__(self, name: str, write: Callable[[list[Item]], list[Result]], *, batch: int = 500,
                 max_waiting: int = 2000, max_lag_seconds: float = 3.0,
                 then: Callable[[list[Item], list[Result]], None] | None = None) -> None:
        self.name = name
        self._write = write
        self._then = then
        self.batch = batch
        self.max_waiting = max_waiting
        self.max_lag_seconds = max_lag_seconds
        self._waiting: list[tuple[Item, asyncio.AbstractEventLoop, asyncio.Future[Result]]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._writing_since: float | None = None
        self._answered: list[tuple[Item, Result]] = []  # waiting for ``then``
        self._then_wake = threading.Condition()
        self._then_thread: threading.Thread | None = None
        self._then_since: float | None = None

    def behind(self) -> bool:
        """Whether a new item should be refused: too many wait, or one batch has written for too long
        (a long import holding SQLite's write lock, say)."""
        now = time.monotonic()
        return (len(self._waiting) >= self.max_waiting or len(self._answered) >= self.max_waiting
                or any(since is not None and now - since > self.max_lag_seconds for since in (self._writing_since, self._then_since)))

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        with self._wake:
            if self.behind():
                raise Busy(self.name)
            self._waiting.append((item, loop, future))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"{self.name}-writer", daemon=True)
                self._thread.start()
            self._wake.notify()
        return await future

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting:
                    self._wake.wait()
                batch, self._waiting = self._waiting[:self.batch], self._waiting[self.batch:]
                self._writing_since = time.monotonic()
            results: list[Any] = [None] * len(batch)
            error: BaseException | None = RuntimeError(f"{self.name} writer stopped")
            try:
                written = self._write([item for item, _, _ in batch])
                if len(written) != len(batch):
                    raise RuntimeError(f"{self.name} writer returned {len(written)} results for {len(batch)} items")
                results, error = written, None
            except Exception as exc:  # noqa: BLE001  (every request of the batch hears it; the thread goes on)
                log.exception("%s writer: a batch of %s failed", self.name, len(batch))
                error = exc
            finally:  # whatever happened, nobody is left waiting
                self._writing_since = None
                for (_, loop, future), result in zip(batch, results, strict=True):
                    try:
                        loop.call_soon_threadsafe(_settle, future, result, error)
                    except RuntimeError:
                        pass  # that request's event loop has closed: nobody is waiting
            if error is None and self._then is not None:
                with self._then_wake:
                    self._answered.extend((item, result) for (item, _, _), result in zip(batch, results, strict=True))
                    if self._then_thread is None or not self._then_thread.is_alive():
                        self._then_thread = threading.Thread(target=self._run_then, name=f"{self.name}-follow-up", daemon=True)
                        self._then_thread.start()
                    self._then_wake.notify()

    def _run_then(self) -> None:
        assert self._then is not None
        while True:
            with self._then_wake:
                while not self._answered:
                    self._then_wake.wait()
                done, self._answered = self._answered[:self.max_waiting], self._answered[self.max_waiting:]
                self._then_since = time.monotonic()
            try:
                self._then([item for item, _ in done], [result for _, result in done])
            except Exception:  # noqa: BLE001  (the answers are out; the thread goes on)
                log.exception("%s writer: the follow-up of %s items failed", self.name, len(done))
            finally:
                self._then_since = None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return  # the visitor went away; the item was written all the same
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
