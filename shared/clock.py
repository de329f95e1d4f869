"""Time comes from an injected clock, so that tests and the demo can replay 2008-2012 in minutes.

Domain time (deadlines, receipts, overdue checks) always comes from a ``Clock``; infrastructure
time (leases, retries) uses the machine's monotonic or wall clock directly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Reads ``start`` at the real instant ``anchor`` (Unix seconds; default: now) and runs
    ``speed`` times faster than real time. Processes given the same three values agree on the
    time, whenever each of them started: the demo runs 2008-2012 in minutes this way."""

    def __init__(self, start: datetime, speed: float = 1.0, anchor: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        self._start = start
        self._speed = speed
        self._anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        elapsed = (time.time() - self._anchor) * self._speed
        return self._start + timedelta(seconds=elapsed)


class ManualClock:
    """A clock that moves only when told to: for tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the manual clock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def clock_from_settings(start: datetime | None, speed: float, anchor: float | None) -> Clock:
    return SystemClock() if start is None else SimulatedClock(start, speed, anchor)
