"""What contracts follows of the other services: funding's commitments and payments
(``funding.commitment``), into one money view per pôle (``pole_money``), each event applied once
(its id saved with the change, in the same guarded update). Events naming no pôle are not the
correspondents' concern and are skipped."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from services.contracts.domain.money import MoneyEvent, PoleMoney, record
from services.contracts.store import MoneyRepository
from shared.cloudevents import CloudEvent
from shared.consumer import EventHandlers
from shared.decision import Decision
from shared.events.funding import CommitmentDecommitted, CommitmentMade, PaymentRecorded
from shared.store import ConcurrencyConflict
from shared.topics import FUNDING_COMMITMENT, Topic

TOPICS: tuple[Topic, ...] = (FUNDING_COMMITMENT,)


@dataclass(frozen=True)
class MoneyFollower:
    money: MoneyRepository

    async def follow(self, event: CloudEvent, data: MoneyEvent) -> None:
        if data.pole_id is None:
            return
        if await self.money.get(data.pole_id) is None:
            start = Decision.of(PoleMoney(pole_id=data.pole_id))
            with contextlib.suppress(ConcurrencyConflict):  # another delivery created it
                await self.money.add(data.pole_id, start, self.money.clock.now())
        await self.money.change(
            data.pole_id, lambda money, _: record(money, data), f"event:{event.id}"
        )


def reactions(follower: MoneyFollower) -> EventHandlers:
    return (
        EventHandlers()
        .on(CommitmentMade, follower.follow)
        .on(CommitmentDecommitted, follower.follow)
        .on(PaymentRecorded, follower.follow)
    )
