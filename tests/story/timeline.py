"""The story's time: how it waits for the next dated step.

The demo shares a ``SimulatedClock`` with every service (same start, speed and anchor) and
sleeps until the clock reads the step's instant; the end-to-end test moves a ``ManualClock``
that the services were given. Either way the services, not the story, read the time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from shared.clock import ManualClock, SimulatedClock


class Timeline(Protocol):
    def now(self) -> datetime: ...

    async def reach(self, instant: datetime) -> None:
        """Return once the platform's clock reads ``instant`` or later."""
        ...


class SimulatedTimeline:
    def __init__(self, clock: SimulatedClock, speed: float) -> None:
        self.clock = clock
        self.speed = speed

    def now(self) -> datetime:
        return self.clock.now()

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed

    async def reach(self, instant: datetime) -> None:
        ahead = (instant - self.now()).total_seconds()
        if ahead > 0:
            await asyncio.sleep(self.real_seconds(ahead))


class ManualTimeline:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()

    async def reach(self, instant: datetime) -> None:
        if instant > self.clock.now():
            self.clock.set(instant)
