"""The embedded default's group-commit writer: every request hears its own item's result, batches form
while a write is under way, and a writer far behind refuses at once instead of queueing without bound."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from mautic_app.queues.group_writer import Busy, GroupWriter


def test_each_item_gets_its_own_result_and_items_arriving_during_a_write_share_the_next_batch():
    batches: list[list[int]] = []
    release = threading.Event()

    def write(items: list[int]) -> list[int]:
        if not batches:
            release.wait(5)  # the first batch is slow: everything sent meanwhile waits for the next one
        batches.append(items)
        return [i * 10 for i in items]

    writer = GroupWriter("test", write, batch=100)

    async def scenario():
        first = asyncio.create_task(writer.submit(0))
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(writer.submit(i)) for i in range(1, 51)]
        await asyncio.sleep(0.05)
        release.set()
        return await first, await asyncio.gather(*rest)

    first, rest = asyncio.run(scenario())
    assert first == 0 and rest == [i * 10 for i in range(1, 51)]
    assert batches == [[0], list(range(1, 51))]


def test_a_failed_batch_fails_each_of_its_requests_and_the_writer_goes_on():
    def write(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("no")
        return items

    writer = GroupWriter("test", write)

    async def scenario():
        with pytest.raises(ValueError):
            await writer.submit("bad")
        return await writer.submit("good")

    assert asyncio.run(scenario()) == "good"


def test_a_writer_far_behind_refuses_at_once():
    release = threading.Event()
    writer = GroupWriter("test", lambda items: release.wait(5) and items, max_waiting=3, max_lag_seconds=60)

    async def scenario():
        stuck = asyncio.create_task(writer.submit("in the batch"))
        for _ in range(500):  # until the writer thread has taken it (a fixed pause lost that race on a busy machine)
            if writer._writing_since is not None:
                break
            await asyncio.sleep(0.01)
        waiting = [asyncio.create_task(writer.submit(n)) for n in range(3)]
        await asyncio.sleep(0.05)
        with pytest.raises(Busy):
            await writer.submit("one too many")
        release.set()
        return await stuck, await asyncio.gather(*waiting)

    assert asyncio.run(scenario()) == ("in the batch", [0, 1, 2])


def test_a_batch_writing_for_too_long_refuses_new_items():
    release = threading.Event()
    writer = GroupWriter("test", lambda items: release.wait(5) and items, max_lag_seconds=0.05)

    async def scenario():
        stuck = asyncio.create_task(writer.submit(1))
        await asyncio.sleep(0.2)
        with pytest.raises(Busy):
            await writer.submit(2)
        release.set()
        return await stuck

    assert asyncio.run(scenario()) == 1


def test_then_runs_after_the_answers_are_out_and_its_failure_answers_nobody_wrong():
    """A click's redirect is answered when its group is looked up; the write follows on a second thread, so the
    next lookups do not wait behind it, and groups answered meanwhile are written together."""
    release, followed = threading.Event(), []

    def then(items: list[int], results: list[int]) -> None:
        release.wait(5)  # the answers must not wait for this
        followed.append((items, results))
        if 2 in items:
            raise RuntimeError("the write failed")

    writer = GroupWriter("test", lambda items: [i + 1 for i in items], then=then)

    async def scenario():
        first = await asyncio.wait_for(writer.submit(1), 2)
        second = await asyncio.wait_for(writer.submit(2), 2)  # while the first group's follow-up still waits
        release.set()
        return first, second, await writer.submit(3), await writer.submit(4)

    assert asyncio.run(scenario()) == (2, 3, 4, 5)
    deadline = time.monotonic() + 5
    while sum(len(items) for items, _ in followed) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [i for items, _ in followed for i in items] == [1, 2, 3, 4]
    assert [r for _, results in followed for r in results] == [2, 3, 4, 5]
