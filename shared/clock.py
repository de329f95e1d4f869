"""Time comes from an injected clock, so that tests and the demo can replay 2008-2012 in minutes.

Domain time (deadlines, receipts, overdue checks) always comes from a ``Clock``; infrastructure
time (leases, retries) uses the machine's monotonic or wall clock directly.

Every instant a clock gives is truncated to the millisecond: the store (BSON dates) keeps
milliseconds, so an instant that carried microseconds would read ``…32.787853Z`` in a receipt and
an event and ``…32.787000Z`` once stored and read back. Cut at the source, one instant reads the
same in the answer, the event, the stored document and every API read.

Every instant a clock gives is in UTC, whatever zone it was started or set in: an API writes an
instant ``…Z`` and never ``…+01:00`` for the same moment. Dates shown to people (French e-mails,
the demo's report) are converted to Paris time where they are formatted (``PARIS``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def to_millisecond(instant: datetime) -> datetime:
    """``instant`` truncated (not rounded) to the millisecond, as the store keeps it."""
    return instant.replace(microsecond=instant.microsecond - instant.microsecond % 1000)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, in UTC, to the millisecond."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return to_millisecond(datetime.now(UTC))


class SimulatedClock:
    """Reads ``start`` at the real instant ``anchor`` (Unix seconds; default: now) and runs
    ``speed`` times faster than real time. Processes given the same three values agree on the
    time, whenever each of them started: the demo runs 2008-2012 in minutes this way.

    ``start`` may be given in any zone (the demo gives Paris time); the clock counts elapsed time
    from it in UTC, so that it never jumps or runs back across a change of summer time."""

    def __init__(self, start: datetime, speed: float = 1.0, anchor: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        elapsed = (time.time() - self._anchor) * self._speed
        return to_millisecond(self._start + timedelta(seconds=elapsed)).astimezone(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests.

    It keeps the instants it is given exactly (so that advancing by 400 µs three times moves it
    by 1.2 ms, and a start given in Paris time stays one) and, like every clock, gives them
    truncated to the millisecond and in UTC on ``now()``."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the manual clock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return to_millisecond(self._now).astimezone(UTC)

    def set(self, instant: datetime) -> None:
        self._now = instant

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def clock_from_settings(start: datetime | None, speed: float, anchor: float | None) -> Clock:
    return SystemClock() if start is None else SimulatedClock(start, speed, anchor)
