"""Sleeping until woken or until the next poll, in a way that still stops when cancelled."""

from __future__ import annotations

import asyncio


async def woken_or_timed_out(wake: asyncio.Event, seconds: float) -> None:
    """Return when ``wake`` is set or after ``seconds``, whichever comes first.

    Not ``asyncio.wait_for(wake.wait(), seconds)``: on Python 3.11 it can swallow a cancellation
    that arrives just as the event is set, and a ``while True`` loop built on it never stops, so
    the service hangs at shutdown (seen in notify's tests about one run in three).
    """
    waiter = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait([waiter], timeout=seconds)
    finally:
        waiter.cancel()


def stop_if_cancelled() -> None:
    """Raise ``CancelledError`` if the running task was asked to stop and something it awaited
    swallowed the request (a library that catches ``CancelledError`` and goes on): Python counts
    the requests (``Task.cancelling``). Every background loop calls it once a turn; without it a
    swallowed request left a loop running and the service's shutdown waiting for it for ever
    (seen in the test suite: funding's and notify's apps now and then never stopped)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
