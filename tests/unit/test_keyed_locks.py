"""``KeyedLocks``: one holder per key, served in order, keys independent, nothing kept at rest,
and cancellation leaves the queue working."""

from __future__ import annotations

import asyncio

import pytest

from shared.keyed_locks import KeyedLocks


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_one_holder_per_key_served_in_the_order_asked() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[int] = []
    inside: list[int] = []
    release = asyncio.Event()

    async def worker(number: int) -> None:
        async with locks.one_at_a_time("line"):
            inside.append(number)
            assert len(inside) == 1, f"two holders at once: {inside}"
            order.append(number)
            if number == 0:
                await release.wait()
            await asyncio.sleep(0)
            inside.remove(number)

    tasks = []
    for number in range(8):
        tasks.append(asyncio.create_task(worker(number)))
        await settle()  # each asks in turn, behind the first, which holds the key
    assert order == [0]
    assert locks.waiting("line") == 8
    release.set()
    await asyncio.gather(*tasks)
    assert order == list(range(8))


async def test_different_keys_do_not_wait_for_each_other() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold(key: str) -> None:
        async with locks.one_at_a_time(key):
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold("a"))
    await held.wait()
    async with asyncio.timeout(1):
        async with locks.one_at_a_time("b"):
            assert locks.waiting("a") == 1
            assert len(locks) == 2
    release.set()
    await holder


async def test_a_key_is_forgotten_when_nobody_holds_or_waits_for_it() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    async with locks.one_at_a_time("a"):
        assert len(locks) == 1
    assert len(locks) == 0
    with pytest.raises(RuntimeError):
        async with locks.one_at_a_time("b"):
            raise RuntimeError("a failed decision")
    assert len(locks) == 0
    assert locks.waiting("b") == 0
    await asyncio.gather(*(hold_briefly(locks, key) for key in "abcabc"))
    assert len(locks) == 0


async def hold_briefly(locks: KeyedLocks[str], key: str) -> None:
    async with locks.one_at_a_time(key):
        await asyncio.sleep(0.001)


async def take(
    locks: KeyedLocks[str], served: list[str], name: str, wait: asyncio.Event | None = None
) -> None:
    """Hold the key ``line``, note it in ``served``, and keep it until ``wait`` is set."""
    async with locks.one_at_a_time("line"):
        served.append(name)
        if wait is not None:
            await wait.wait()


async def test_a_waiter_cancelled_leaves_the_queue_and_the_next_one_goes_on() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    release = asyncio.Event()
    served: list[str] = []

    first = asyncio.create_task(take(locks, served, "first", release))
    await settle()
    cancelled = asyncio.create_task(take(locks, served, "cancelled"))
    await settle()
    last = asyncio.create_task(take(locks, served, "last"))
    await settle()
    assert locks.waiting("line") == 3
    cancelled.cancel()
    await settle()
    assert locks.waiting("line") == 2
    release.set()
    await asyncio.gather(first, last)
    assert cancelled.cancelled()
    assert served == ["first", "last"]
    assert len(locks) == 0


async def test_a_holder_cancelled_releases_the_key() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    held = asyncio.Event()

    async def hold_forever() -> None:
        async with locks.one_at_a_time("line"):
            held.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold_forever())
    await held.wait()
    waiter = asyncio.create_task(hold_briefly(locks, "line"))
    await settle()
    holder.cancel()
    async with asyncio.timeout(1):
        await waiter
    assert holder.cancelled()
    assert len(locks) == 0


async def test_a_waiter_cancelled_as_the_key_is_handed_to_it_passes_it_on() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    release = asyncio.Event()
    served: list[str] = []

    first = asyncio.create_task(take(locks, served, "first", release))
    await settle()
    second = asyncio.create_task(take(locks, served, "second"))
    third = asyncio.create_task(take(locks, served, "third"))
    await settle()
    release.set()
    await asyncio.sleep(0)  # first releases and wakes second, which has not run yet
    second.cancel()
    async with asyncio.timeout(1):
        await asyncio.gather(first, third)
    assert served in (["first", "third"], ["first", "second", "third"])
    assert len(locks) == 0
