"""Retrying a decision on a contended document, with a little jitter so that many writers racing
on one line (several instances, many requests) do not keep colliding in step."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared.store import retry_on_conflict

ResultT = TypeVar("ResultT")
JITTER_SECONDS = 0.002


async def retry_contended(attempt: Callable[[], Awaitable[ResultT]], attempts: int) -> ResultT:
    tries = 0

    async def jittered() -> ResultT:
        nonlocal tries
        if tries:
            await asyncio.sleep(random.uniform(0, JITTER_SECONDS * min(tries, 25)))
        tries += 1
        return await attempt()

    return await retry_on_conflict(jittered, attempts)
