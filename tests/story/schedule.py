"""Phase 2 as a calendar of dated steps (Europe/Paris) on four tracks: the innovation-platforms
call, the pôles' contracts, the FUI's R&D project calls, and the money (the agencies'
commitments, every financer's payments). A step starts at its date, or late if its
track's previous step ran long: on time or not changes nothing, as long as the steps whose
date matters (before a deadline, within a year) end by their limit, several days ahead of it.
A step still running at its limit stops the story, rather than let a figure change.

On the simulated clock the tracks run side by side; on a manual clock they run one step
at a time in date order (the clock moves only when a step asks it to)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.clock import PARIS
from tests.story.cast import Cast
from tests.story.contract_plan import Signing
from tests.story.platform import Platform, StoryError
from tests.story.rd_figures import FuiCall
from tests.story.rd_plan import FILED_AFTER, agency_date, fui_call, paris_day
from tests.story.steps import (
    agencies,
    budget,
    call,
    contracts,
    evaluation,
    labels,
    notifications,
    rd,
)

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
    after_earlier: bool = False
    """Starts only once every step of every track dated before it has ended (payments: what
    they pay must have been decided)."""


def _signing(moment: Signing) -> Run:
    return lambda p, cast: contracts.sign(p, cast.contracts_2009, moment)


def _selection(year: int) -> Step:
    """Decided in ``year``: the State's grants are committed on that year's 35 M€."""
    return Step(
        paris(year, 6 if year == 2009 else 3, 1),
        lambda p, cast: call.select(p, cast, year),
        paris(year, 12, 15),
    )


def _co_financing(year: int) -> Step:
    return Step(
        paris(year, 6 if year == 2009 else 3, 15),
        lambda p, cast: call.co_finance(p, cast, year),
    )


def _payments(year: int) -> Step:
    """Each year's CP; 2012's once the last FUI call of the story is funded."""
    day = paris(2012, 7, 30) if year == 2012 else paris(year, 9, 15)
    return Step(day, lambda p, cast: budget.pay(p, cast, year), after_earlier=True)


def _agencies(year: int) -> Step:
    return Step(agency_date(year), lambda p, cast: agencies.commit(p, cast, year))


def fui_steps(call_: FuiCall) -> list[Step]:
    """One FUI call: the projects filed two weeks after it opens, screened and evaluated after
    its deadline, selected on its decision day (on that year's credits), co-financed."""
    decided = paris_day(call_.decided_on)
    return [
        Step(
            paris_day(call_.opens_on + FILED_AFTER),
            lambda p, cast: rd.open_and_file(p, cast, call_),
            done_by=paris_day(call_.deadline - timedelta(days=2)),
        ),
        Step(
            paris_day(call_.deadline + timedelta(days=3)),
            lambda p, cast: rd.screen_and_evaluate(p, cast, call_),
        ),
        Step(
            decided,
            lambda p, cast: rd.select(p, cast, call_),
            done_by=paris(call_.decided_on.year, 12, 15),
        ),
        Step(decided + timedelta(days=2), lambda p, cast: rd.co_finance(p, cast, call_)),
    ]


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
    _co_financing(2009),
    _selection(2010),
    _co_financing(2010),
]
CONTRACT_TRACK: list[Step] = [
    Step(paris(2008, 10, 6), lambda p, cast: contracts.draft(p, cast.contracts_2009)),
    Step(paris(2009, 1, 5), _signing("spring-2009"), done_by=paris(2009, 6, 12)),
    Step(paris(2009, 6, 15, 10), _signing("le-bourget"), done_by=paris(2009, 6, 29)),
    Step(paris(2009, 7, 2), contracts.signature_overdue),
    Step(paris(2009, 7, 6, 10), _signing("rhone-alpes")),
    *_yearly(2009),
    Step(paris(2010, 5, 11, 9), budget.amend_envelope),
    Step(paris(2010, 5, 11, 10), labels.decide),
    Step(paris(2010, 5, 17), contracts.extend_to_2012),
    Step(paris(2010, 6, 21), labels.draft_2010),
    Step(paris(2010, 7, 19), labels.sign_2010, done_by=paris(2010, 10, 22)),
    *_yearly(2010),
    *_yearly(2011),
    Step(paris(2012, 7, 2), evaluation.rate, done_by=paris(2013, 1, 15)),
]


def money_track(years: tuple[int, ...]) -> list[Step]:
    """The agencies' yearly commitments and every financer's yearly payments. Payments wait
    for funding to have made the commitments the story's steps call for; the payment's year
    is in its body, so a late payment changes no figure."""
    steps = [_agencies(year) for year in years]
    steps += [_payments(year) for year in (2009, 2010, 2011, 2012)]
    return sorted(steps, key=lambda s: s.at)


def tracks(cast: Cast) -> list[list[Step]]:
    rd_track = [step for n in cast.scale.fui_calls for step in fui_steps(fui_call(n))]
    money = money_track(cast.scale.agency_years)
    return [CALL_TRACK, CONTRACT_TRACK, sorted(rd_track, key=lambda s: s.at), money]


@dataclass
class Progress:
    """Which steps have ended, for the steps that wait for every earlier one."""

    steps: list[Step]
    ended: set[int] = field(default_factory=set)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def earlier_ended(self, step: Step) -> None:
        async with self.changed:
            await self.changed.wait_for(
                lambda: all(id(s) in self.ended for s in self.steps if s.at < step.at)
            )

    async def end(self, step: Step) -> None:
        async with self.changed:
            self.ended.add(id(step))
            self.changed.notify_all()


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


async def _play(
    p: Platform, cast: Cast, steps: list[Step], say: Callable[[str], None], progress: Progress
) -> None:
    for step in steps:
        await p.timeline.reach(step.at)
        if step.after_earlier:
            await progress.earlier_ended(step)
        late = (p.timeline.now() - step.at).days
        started = time.monotonic()
        with p.traces.step() as traced:
            line = await _before(p, step.done_by, step.run(p, cast))
        traced.label = f"{step.at:%Y-%m-%d}  {line}"
        note = f", {late} days late" if late else ""
        await progress.end(step)
        say(f"{traced.label}  [{time.monotonic() - started:.1f} s{note}]")


async def run_story(
    p: Platform, cast: Cast, say: Callable[[str], None], side_by_side: bool = True
) -> None:
    """Play the prelude, then every step at its date; ``side_by_side`` runs the tracks at
    once (the simulated clock runs on by itself), else one step at a time in date order."""
    for prelude in PRELUDE:
        with p.traces.step() as traced:
            traced.label = f"{'before':<10}  {await prelude(p, cast)}"
        say(traced.label)
    every = tracks(cast)
    progress = Progress([s for track in every for s in track])
    if side_by_side:
        await asyncio.gather(*(_play(p, cast, track, say, progress) for track in every))
    else:
        in_order = sorted(progress.steps, key=lambda s: s.at)
        await _play(p, cast, in_order, say, progress)
    await p.timeline.reach(END)
