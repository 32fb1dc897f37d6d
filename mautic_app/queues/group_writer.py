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
    results)``, when given, runs on the same thread after the requests have their answers: work the answer
    does not wait for (a click's redirect is looked up by ``write``, and the click written by ``then``)."""

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

    def behind(self) -> bool:
        """Whether a new item should be refused: too many wait, or one batch has written for too long
        (a long import holding SQLite's write lock, say)."""
        since = self._writing_since
        return len(self._waiting) >= self.max_waiting or (since is not None and time.monotonic() - since > self.max_lag_seconds)

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
                self._writing_since = time.monotonic()  # still busy: new items may be refused meanwhile
                try:
                    self._then([item for item, _, _ in batch], results)
                except Exception:  # noqa: BLE001  (the answers are out; the thread goes on)
                    log.exception("%s writer: the follow-up of a batch of %s failed", self.name, len(batch))
                finally:
                    self._writing_since = None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return  # the visitor went away; the item was written all the same
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
