"""Contracts and pôles on the kernel's ``Repository`` (state, events and idempotency id saved in
one guarded update, events published with the source ``/poles/contracts``), and the queries the
reads and the clock job make on the store.

A contract's document keeps, beside the contract itself, ``next_clock_at`` (a BSON date: when
the clock job must look at it next) and ``history`` (every event it produced, kept by the
repository for the history read: the outbox is emptied once published).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection

from services.contracts.domain.clocks import next_clock_at
from services.contracts.domain.contract import Contract
from services.contracts.domain.money import PoleMoney
from services.contracts.domain.pole import PoleRecord
from shared.clock import Clock
from shared.decision import Decision
from shared.errors import NotFound
from shared.reference.poles import all_poles
from shared.repository import Aggregates, Repository
from shared.store import ConcurrencyConflict, Document, ensure_indexes

SERVICE = "contracts"
CONTRACTS = "contracts"
POLES = "poles"
MONEY = "pole_money"

ModelT = TypeVar("ModelT", bound=BaseModel)


def json_document(state: BaseModel) -> Document:
    """The stored form of a contract or a pôle: its JSON form (instants as ISO 8601 text)."""
    return state.model_dump(mode="json")


def contract_document(contract: Contract) -> Document:
    """A contract's JSON form, with ``next_clock_at`` (a BSON date) for the clock job's query."""
    return {**json_document(contract), "next_clock_at": next_clock_at(contract)}


class ServiceRepository(Repository[ModelT]):
    """A repository of this service: events from ``/poles/contracts``, documents in JSON form
    (unless told), and a command naming a missing aggregate refused with ``no <what> <id>``."""

    def __init__(
        self,
        aggregates: Aggregates,
        model: type[ModelT],
        clock: Clock,
        what: str,
        *,
        history: bool = False,
        to_document: Callable[[ModelT], Document] = json_document,
    ) -> None:
        super().__init__(
            aggregates,
            model,
            service=SERVICE,
            clock=clock,
            what=what,
            history=history,
            to_document=to_document,
            not_found=lambda aggregate_id: NotFound(f"no {what} {aggregate_id}"),
        )


class ContractRepository(ServiceRepository[Contract]):
    def __init__(self, aggregates: Aggregates, clock: Clock) -> None:
        super().__init__(
            aggregates, Contract, clock, "contract", history=True, to_document=contract_document
        )


class PoleRepository(ServiceRepository[PoleRecord]):
    def __init__(self, aggregates: Aggregates, clock: Clock) -> None:
        super().__init__(aggregates, PoleRecord, clock, "pôle")

    async def load_reference(self) -> None:
        """Insert the pôles of the reference list not stored yet; never touch stored ones, whose
        label may have changed since (a restart must not undo the decisions of 2010)."""
        poles = all_poles()
        # Asked together, the loads are one search by _id (the store groups them), where one
        # at a time they queued 77 times behind a busy store's work at each start.
        stored = await asyncio.gather(*(self.get(pole.id) for pole in poles))
        for pole, found in zip(poles, stored, strict=True):
            if found is not None:
                continue
            record = Decision.of(PoleRecord.from_reference(pole))
            with contextlib.suppress(ConcurrencyConflict):  # another instance inserted it
                await self.add(pole.id, record, self.clock.now())


class MoneyRepository(ServiceRepository[PoleMoney]):
    """Each pôle's money as funding reports it (``services.contracts.reactions``)."""

    def __init__(self, aggregates: Aggregates, clock: Clock) -> None:
        super().__init__(aggregates, PoleMoney, clock, "money of pôle")


def state_filter(**values: str | None) -> Document:
    """A query on the stored states: each given field equals its value (or, for a list, holds
    it)."""
    return {f"state.{name}": value for name, value in values.items() if value is not None}


async def index(collection: AsyncCollection[Document], *fields: str) -> None:
    await ensure_indexes(collection, *(f"state.{field}" for field in fields))


class ContractQueries:
    """Contracts by pôle, region and status (without their history), and those the clock must
    look at."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await index(self.collection, "pole_id", "region_codes", "status", "next_clock_at")

    async def find(
        self, *, pole_id: str | None = None, region: str | None = None, status: str | None = None
    ) -> list[Contract]:
        query = state_filter(pole_id=pole_id, region_codes=region, status=status)
        found = self.collection.find(query, {"state.history": 0}).sort("_id", 1)
        return [Contract.model_validate(d["state"]) for d in await found.to_list(None)]

    async def due(self, now: datetime) -> list[str]:
        """The contracts with a clock event due at ``now``."""
        documents = await self.collection.find(
            {"state.next_clock_at": {"$lte": now}}, {"_id": 1}
        ).to_list(None)
        return [d["_id"] for d in documents]


class PoleQueries:
    """Pôles by label status and region."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await index(self.collection, "status", "region_codes")

    async def find(
        self, *, status: str | None = None, region: str | None = None
    ) -> list[PoleRecord]:
        query = state_filter(status=status, region_codes=region)
        found = self.collection.find(query).sort("_id", 1)
        return [PoleRecord.model_validate(d["state"]) for d in await found.to_list(None)]

    async def lapsing(self, now: datetime) -> list[str]:
        """The pôles whose label lapses at ``now`` and has not yet (a few group-3 pôles)."""
        return [p.pole_id for p in await self.find(status="reconfiguring") if p.lapse_due(now)]
