"""One at a time per key, in one process: a queue per key instead of racing writers.

``KeyedLocks`` keeps an ``asyncio.Lock`` per key, created when someone asks for the key and
dropped when nobody holds or waits for it, so that it costs nothing for keys at rest::

    locks: KeyedLocks[str] = KeyedLocks()
    async with locks.one_at_a_time(line_id):
        ...  # read, decide, save: no other task of this process on line_id meanwhile

Waiters are served in the order they asked (``asyncio.Lock`` is FIFO); different keys never
wait for each other. A waiter cancelled while it waits leaves the queue (the next one is woken
if the lock was free), a holder cancelled inside the block releases the key on the way out.

It orders the tasks of one process only: across processes the store stays the arbiter (a
guarded save, conflicts retried). Holding a key while waiting for another can deadlock with a
task doing the reverse: never nest, or take keys in one fixed order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

KeyT = TypeVar("KeyT", bound=Hashable)


@dataclass
class _Queue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    """Tasks holding or waiting for the lock: the entry is dropped when it falls to 0."""


class KeyedLocks(Generic[KeyT]):
    def __init__(self) -> None:
        self._queues: dict[KeyT, _Queue] = {}

    @asynccontextmanager
    async def one_at_a_time(self, key: KeyT) -> AsyncIterator[None]:
        """Hold ``key`` for the block, after those who asked for it first."""
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue()
        queue.users += 1
        try:
            async with queue.lock:
                yield
        finally:
            queue.users -= 1
            if queue.users == 0:
                del self._queues[key]

    def __len__(self) -> int:
        """How many keys are held or waited for."""
        return len(self._queues)

    def waiting(self, key: KeyT) -> int:
        """How many tasks hold or wait for ``key``."""
        queue = self._queues.get(key)
        return 0 if queue is None else queue.users
