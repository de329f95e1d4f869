"""A hot line in one process: concurrent decisions on one aggregate wait their turn instead of
racing (no lost insert, no reload), each applied once; decisions that touch two lines (transfers
both ways at once) never wait for each other while holding one."""

from __future__ import annotations

import asyncio

from services.funding.journal import Applied, Decisions
from services.funding.tests.memory import Funding, MemoryChain
from services.funding.tests.support import M_EUR, line, terms, transfer
from shared.events.funding import YearAmount
from shared.store import ConcurrencyConflict, Document, Loaded

ASK = 1_000_00
PLATFORMS = "intervention.platforms"


class SlowChain(MemoryChain):
    """A chain whose every statement lets other tasks run, as a store's round trip does; it
    counts the inserts that lost a race."""

    def __init__(self, chain: MemoryChain) -> None:
        super().__init__(chain.name)
        self.follow_ups = chain.follow_ups
        self.conflicts = 0

    async def load(self, aggregate_id: str) -> Loaded | None:
        await asyncio.sleep(0)
        return await super().load(aggregate_id)

    async def applied(self, aggregate_id: str, decision_id: str) -> Applied | None:
        await asyncio.sleep(0)
        return await super().applied(aggregate_id, decision_id)

    async def _add(self, entry: Document, with_events: bool) -> None:
        await asyncio.sleep(0)
        try:
            await super()._add(entry, with_events)
        except ConcurrencyConflict:
            self.conflicts += 1
            raise


async def slow_funding() -> tuple[Funding, SlowChain]:
    lines = SlowChain(Funding().lines)
    return await Funding(lines=lines).loaded(), lines


async def test_twenty_concurrent_commitments_on_one_line_are_decided_in_turn() -> None:
    f, lines = await slow_funding()
    asks = [terms("animation", (2010, ASK), commitment_id=f"c-{n}") for n in range(20)]

    answers = await asyncio.gather(*(f.budget.commit(ask) for ask in asks))
    again = await asyncio.gather(*(f.budget.commit(ask) for ask in asks[:5]))

    assert [a["outcome"] for a in answers] == ["committed"] * 20
    assert again == answers[:5]
    assert lines.conflicts == 0
    line = await f.books.lines.get("animation")
    assert line is not None
    assert line.committed_cents == 20 * ASK
    assert len(f.books.lines.queues) == 0
    made = [e for e in lines.published if e.type == "funding.commitment.made.v1"]
    assert len(made) == len({e.data["commitment_id"] for e in made}) == 20


async def test_transfers_both_ways_at_once_complete() -> None:
    f, lines = await slow_funding()
    there = transfer(M_EUR, transfer_id="t-there")
    back = transfer(M_EUR // 2, transfer_id="t-back").model_copy(
        update={
            "line_id": PLATFORMS,
            "from_line_id": PLATFORMS,
            "to_line_id": "intervention.rd",
            "years": [YearAmount(year=2010, amount_cents=M_EUR // 2)],
        }
    )
    commits = [terms("intervention.rd", (2010, ASK), commitment_id=f"c-{n}") for n in range(5)]

    async with asyncio.timeout(5):
        answers = await asyncio.gather(
            f.budget.transfer(there),
            f.budget.transfer(back),
            *(f.budget.commit(ask) for ask in commits),
        )

    assert [a["outcome"] for a in answers] == ["transferred"] * 2 + ["committed"] * 5
    rd = await f.books.lines.get("intervention.rd")
    platforms = await f.books.lines.get(PLATFORMS)
    assert rd is not None
    assert platforms is not None
    assert rd.amount_cents == line("intervention.rd").amount_cents - M_EUR // 2
    assert platforms.amount_cents == line(PLATFORMS).amount_cents + M_EUR // 2
    assert not [e for e in lines.entries.values() if "pending" in e]
    assert len(f.books.lines.queues) == 0


def test_decisions_are_noted_only_without_a_gap() -> None:
    decisions = Decisions()
    decisions.saw(1, None)
    decisions.saw(2, "d-2")
    decisions.saw(4, "d-4")  # version 3 unseen: not noted
    decisions.saw(2, "d-2")
    assert (decisions.upto, decisions.versions) == (2, {"d-2": 2})
    decisions.saw(3, "d-3")
    assert (decisions.upto, decisions.versions) == (3, {"d-2": 2, "d-3": 3})
