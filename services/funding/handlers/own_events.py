"""The service consuming its own money events: it finishes what a decision implies for a second
document and keeps every movement of money for rebuilding balances.

A decision saves one document with its event in the outbox; the relay publishes it at least once,
even if the process died right after the save. Reading it back here makes the second step
resumable across crashes and restarts: the commitment document is built (insert with the
commitment's id: a duplicate means it is built), the line gets back a de-commitment, the receiving
line gets a transfer (both idempotent by their ids), and each movement is stored once.
"""

from __future__ import annotations

from services.funding.domain.money import money_movements
from services.funding.handlers.budget import Budget
from services.funding.store import FundingStore
from shared.cloudevents import CloudEvent
from shared.events.base import EventData
from shared.events.funding import CommitmentDecommitted, CommitmentMade, LineTransferred


class OwnEvents:
    def __init__(self, budget: Budget, store: FundingStore) -> None:
        self.budget = budget
        self.store = store

    async def money_moved(self, event: CloudEvent, data: EventData) -> None:
        if isinstance(data, CommitmentMade):
            await self.budget.build_commitment(data)
        elif isinstance(data, CommitmentDecommitted):
            await self.budget.give_back(data)
        elif isinstance(data, LineTransferred):
            await self.budget.receive(data)
        await self.store.record_movements(event.id, money_movements(data))
