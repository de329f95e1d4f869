"""As-of reads against what the live API showed (issue 16, part 1): while the short story plays,
the live views of the demo's dossier and of a budget line are read as the story's clock reaches
a few instants; after it, the log's answers for those instants must be what was shown then.

The story plays one step at a time in date order (``side_by_side=False``) and a step waits for
what it caused, so nothing moves while a view is taken: the instants below fall between steps,
each after the effects of the steps before it have settled (the payments of a year wait for its
commitments)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.integration.test_asof_calls import part_of
from tests.story.as_of import DATES
from tests.story.cast import Cast
from tests.story.platform import Json, Platform, send
from tests.story.schedule import paris
from tests.story.timeline import Timeline

LINE = "intervention.platforms"
"""The line the innovation-platforms call commits: loaded, then the 2009 selections and
payments, the 2010 amendment (a lower amount and 2011 ceiling), a refusal."""
INSTANTS = (*DATES, paris(2010, 1, 1, 0), paris(2011, 1, 1, 0))
"""The demo's two dates, then the first of January after each year of selections."""
MONEY = ("amount_cents", "committed_cents", "paid_cents", "available_cents")


@dataclass(frozen=True)
class Live:
    dossier: Json
    line: Json


@dataclass
class WatchedTimeline:
    """A timeline that, on its way to an instant, stops at each watched one to ``look``."""

    timeline: Timeline
    instants: tuple[datetime, ...] = INSTANTS
    look: Callable[[], Awaitable[Live]] | None = None
    seen: dict[datetime, Live] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.timeline.now()

    async def reach(self, instant: datetime) -> None:
        for watched in self.instants:
            if watched not in self.seen and self.now() < watched <= instant:
                await self.timeline.reach(watched)
                assert self.look is not None, "nobody to look"
                self.seen[watched] = await self.look()
        await self.timeline.reach(instant)


def the_dossier(cast: Cast) -> str:
    """The demo's dossier (``tests.story.as_of``): the call's first pre-selected one."""
    return cast.dossier_id(cast.preselected()[0])


async def look(p: Platform, cast: Cast) -> Live:
    state = p.tokens("state")
    dossier = await send(p.calls, "GET", f"/dossiers/{the_dossier(cast)}", state)
    return Live(dossier, await send(p.funding, "GET", f"/lines/{LINE}", state))


async def check_as_of(p: Platform, cast: Cast, seen: dict[datetime, Live]) -> None:
    """At each watched instant, the dossier rebuilt from the log is the live view's part it
    carries, and the line's balance is the live line's money."""
    assert set(seen) == set(INSTANTS), sorted(seen)
    state = p.tokens("state")
    statuses = []
    for instant, live in sorted(seen.items()):
        at: dict[str, Any] = {"at": instant.isoformat()}
        answer = await p.calls.get(f"/dossiers/{the_dossier(cast)}", params=at, headers=state)
        assert answer.status_code == 200, answer.text
        rebuilt = answer.json()
        assert rebuilt == part_of(rebuilt, live.dossier), instant
        statuses.append(rebuilt["status"])
        answer = await p.funding.get(f"/lines/{LINE}/balance", params=at, headers=state)
        assert answer.status_code == 200, answer.text
        balance = answer.json()
        assert {k: balance[k] for k in MONEY} == {k: live.line[k] for k in MONEY}, instant
    assert len(set(statuses)) > 1, statuses  # the dossier moved between the instants
    money = [tuple(live.line[k] for k in MONEY) for _, live in sorted(seen.items())]
    assert len(set(money)) > 2, money  # and so did the line
