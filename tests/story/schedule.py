"""Phase 2 as a calendar of dated steps (Europe/Paris) on three tracks: the innovation-platforms
call, the pôles' contracts, and the State's payments. A step starts at its date, or late if its
track's previous step ran long: on time or not changes nothing, as long as the steps whose
date matters (before a deadline, within a year) end by their limit, several days ahead of it.
A step still running at its limit stops the story, rather than let a figure change.

On the simulated clock the tracks run side by side; on a manual clock they run one step
at a time in date order (the clock moves only when a step asks it to)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from shared.clock import PARIS
from tests.story.cast import Cast
from tests.story.contract_plan import Signing
from tests.story.platform import Platform, StoryError
from tests.story.steps import budget, call, contracts, evaluation, labels, notifications

Run = Callable[[Platform, Cast], Awaitable[str]]


def paris(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=PARIS)


START = paris(2008, 9, 30, 0)
END = paris(2012, 8, 1)


@dataclass(frozen=True)
class Step:
    at: datetime
    run: Run
    done_by: datetime | None = None
    """The latest instant the step may end, if its date matters."""


def _signing(moment: Signing) -> Run:
    return lambda p, cast: contracts.sign(p, cast.contracts_2009, moment)


def _selection(year: int) -> Step:
    """Decided in ``year``: the State's grants are committed on that year's 35 M€."""
    return Step(
        paris(year, 6 if year == 2009 else 3, 1),
        lambda p, cast: call.select(p, cast, year),
        paris(year, 12, 15),
    )


def _payments(year: int) -> Step:
    return Step(paris(year, 9, 15), lambda p, cast: budget.pay(p, cast, year))


def _yearly(period: int) -> list[Step]:
    """January: the pôles report the year past by the 31st (some late); February: the overdue
    reports are flagged and the late ones come."""

    def reports(late: bool) -> Run:
        return lambda p, cast: contracts.report(p, cast, period, late)

    return [
        Step(paris(period + 1, 1, 4), reports(late=False), done_by=paris(period + 1, 1, 30)),
        Step(paris(period + 1, 2, 3), lambda p, cast: contracts.report_overdue(p, cast, period)),
        Step(paris(period + 1, 2, 14), reports(late=True)),
    ]


PRELUDE: list[Run] = [budget.show_envelope, notifications.subscribe]
"""Before the clock starts: what exists already, and who listens."""

CALL_TRACK: list[Step] = [
    Step(paris(2008, 10, 1, 0), call.open_and_collect, done_by=paris(2008, 12, 1)),
    Step(paris(2008, 12, 3), call.refuse_late),
    Step(paris(2008, 12, 5), call.screen),
    Step(paris(2009, 1, 12), call.vote),
    Step(paris(2009, 3, 9), call.commission_studies),
    Step(paris(2009, 5, 11), call.complete_studies),
    _selection(2009),
    _selection(2010),
]
CONTRACT_TRACK: list[Step] = [
    Step(paris(2008, 10, 6), lambda p, cast: contracts.draft(p, cast.contracts_2009)),
    Step(paris(2009, 1, 5), _signing("spring-2009"), done_by=paris(2009, 6, 12)),
    Step(paris(2009, 6, 15, 10), _signing("le-bourget"), done_by=paris(2009, 6, 29)),
    Step(paris(2009, 7, 2), contracts.signature_overdue),
    Step(paris(2009, 7, 6, 10), _signing("rhone-alpes")),
    *_yearly(2009),
    Step(paris(2010, 5, 11, 10), labels.decide),
    Step(paris(2010, 5, 17), contracts.extend_to_2012),
    Step(paris(2010, 6, 21), labels.draft_2010),
    Step(paris(2010, 7, 19), labels.sign_2010, done_by=paris(2010, 10, 22)),
    *_yearly(2010),
    *_yearly(2011),
    Step(paris(2012, 7, 2), evaluation.rate, done_by=paris(2013, 1, 15)),
]

MONEY_TRACK: list[Step] = [_payments(2009), _payments(2010), _payments(2011)]
"""Payments wait for funding to have made the commitments the signatures and selections call
for; the payment's year is in its body, so a late payment changes no figure."""
TRACKS = (CALL_TRACK, CONTRACT_TRACK, MONEY_TRACK)


async def _before(p: Platform, limit: datetime | None, job: Awaitable[str]) -> str:
    """``job``'s answer, or StoryError (and ``job`` cancelled) once the clock reads ``limit``."""
    task = asyncio.ensure_future(job)
    while not task.done():
        if limit is not None and p.timeline.now() >= limit:
            task.cancel()
            raise StoryError(
                f"a step was still running on {limit:%d %B %Y}, its last moment: this machine "
                "is too slow (or too busy) for the clock's speed; try a lower --speed"
            )
        await asyncio.wait({task}, timeout=0.05)
    return task.result()


async def _play(p: Platform, cast: Cast, steps: list[Step], say: Callable[[str], None]) -> None:
    for step in steps:
        await p.timeline.reach(step.at)
        late = (p.timeline.now() - step.at).days
        started = time.monotonic()
        line = await _before(p, step.done_by, step.run(p, cast))
        note = f", {late} days late" if late else ""
        say(f"{step.at:%Y-%m-%d}  {line}  [{time.monotonic() - started:.1f} s{note}]")


async def run_story(
    p: Platform, cast: Cast, say: Callable[[str], None], side_by_side: bool = True
) -> None:
    """Play the prelude, then every step at its date; ``side_by_side`` runs the tracks at
    once (the simulated clock runs on by itself), else one step at a time in date order."""
    for prelude in PRELUDE:
        say(f"{'before':<10}  {await prelude(p, cast)}")
    if side_by_side:
        await asyncio.gather(*(_play(p, cast, track, say) for track in TRACKS))
    else:
        await _play(
            p, cast, sorted([s for track in TRACKS for s in track], key=lambda s: s.at), say
        )
    await p.timeline.reach(END)
