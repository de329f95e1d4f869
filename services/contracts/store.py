"""Repositories of contracts and pôles on the kernel's AggregateStore (state + outbox + processed).

A contract's document keeps, beside the contract itself, ``next_clock_at`` (a BSON date: when
the clock job must look at it next) and ``history`` (every event it produced, for the history
read: the outbox is emptied once published).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.contracts.domain.clocks import next_clock_at
from services.contracts.domain.contract import Contract
from services.contracts.domain.pole import PoleRecord
from shared.events.base import EventData, OutboxEntry, new_outbox_entry
from shared.reference.poles import all_poles
from shared.store import (
    AggregateStore,
    ConcurrencyConflict,
    Document,
    EventsQueued,
    Loaded,
    Processed,
)

CONTRACTS = "contracts"
POLES = "poles"
SOURCE = "contracts"


def outbox_entries(events: Sequence[EventData], key: str, now: datetime) -> list[OutboxEntry]:
    return [new_outbox_entry(e, source=SOURCE, key=key, time=now) for e in events]


class ContractRepository:
    def __init__(self, db: AsyncDatabase[Document], on_events: EventsQueued) -> None:
        self.collection = db[CONTRACTS]
        self._store = AggregateStore(self.collection, on_events)

    async def create_indexes(self) -> None:
        for field in ("pole_id", "region_codes", "status", "next_clock_at"):
            await self.collection.create_index(f"state.{field}")

    async def load(self, contract_id: str) -> tuple[Loaded, Contract] | None:
        loaded = await self._store.load(contract_id)
        return None if loaded is None else (loaded, Contract.model_validate(loaded.state))

    async def add(
        self,
        contract: Contract,
        events: Sequence[EventData],
        now: datetime,
        processed: Processed | None,
    ) -> None:
        entries = outbox_entries(events, contract.contract_id, now)
        await self._store.create(
            contract.contract_id, _document(contract, [], entries), entries, processed
        )

    async def save(
        self,
        loaded: Loaded,
        contract: Contract,
        events: Sequence[EventData],
        now: datetime,
        processed: Processed | None,
    ) -> None:
        entries = outbox_entries(events, contract.contract_id, now)
        state = _document(contract, loaded.state.get("history", []), entries)
        await self._store.save(loaded, state, entries, processed)

    async def history(self, contract_id: str) -> list[dict[str, Any]] | None:
        document = await self.collection.find_one({"_id": contract_id}, {"state.history": 1})
        return None if document is None else list(document["state"].get("history", []))

    async def find(
        self, *, pole_id: str | None = None, region: str | None = None, status: str | None = None
    ) -> list[Contract]:
        query: Document = {}
        if pole_id is not None:
            query["state.pole_id"] = pole_id
        if region is not None:
            query["state.region_codes"] = region
        if status is not None:
            query["state.status"] = status
        documents = (
            await self.collection.find(query, {"state.history": 0}).sort("_id", 1).to_list(None)
        )
        return [Contract.model_validate(d["state"]) for d in documents]

    async def due(self, now: datetime) -> list[str]:
        """The contracts with a clock event due at ``now``."""
        documents = await self.collection.find(
            {"state.next_clock_at": {"$lte": now}}, {"_id": 1}
        ).to_list(None)
        return [d["_id"] for d in documents]


def _document(contract: Contract, history: list[Document], entries: list[OutboxEntry]) -> Document:
    state = contract.model_dump(mode="json")
    state["next_clock_at"] = next_clock_at(contract)
    state["history"] = history + [
        {"id": e.id, "type": e.type, "time": e.time.isoformat(), "data": e.data} for e in entries
    ]
    return state


class PoleRepository:
    def __init__(self, db: AsyncDatabase[Document], on_events: EventsQueued) -> None:
        self.collection = db[POLES]
        self._store = AggregateStore(self.collection, on_events)

    async def create_indexes(self) -> None:
        for field in ("status", "region_codes"):
            await self.collection.create_index(f"state.{field}")

    async def load_reference(self) -> None:
        """Insert the pôles of the reference list not stored yet; never touch stored ones, whose
        label may have changed since (a restart must not undo the decisions of 2010)."""
        stored = {d["_id"] for d in await self.collection.find({}, {"_id": 1}).to_list(None)}
        for pole in all_poles():
            if pole.id in stored:
                continue
            record = PoleRecord.from_reference(pole)
            with contextlib.suppress(ConcurrencyConflict):  # another instance inserted it
                await self._store.create(pole.id, record.model_dump(mode="json"))

    async def load(self, pole_id: str) -> tuple[Loaded, PoleRecord] | None:
        loaded = await self._store.load(pole_id)
        return None if loaded is None else (loaded, PoleRecord.model_validate(loaded.state))

    async def save(
        self,
        loaded: Loaded,
        pole: PoleRecord,
        events: Sequence[EventData],
        now: datetime,
        processed: Processed | None,
    ) -> None:
        entries = outbox_entries(events, pole.pole_id, now)
        await self._store.save(loaded, pole.model_dump(mode="json"), entries, processed)

    async def find(
        self, *, status: str | None = None, region: str | None = None
    ) -> list[PoleRecord]:
        query: Document = {}
        if status is not None:
            query["state.status"] = status
        if region is not None:
            query["state.region_codes"] = region
        documents = await self.collection.find(query).sort("_id", 1).to_list(None)
        return [PoleRecord.model_validate(d["state"]) for d in documents]
