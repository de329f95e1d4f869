"""The funding service's documents.

- ``line_journal``: the versions of each budget line (``services.funding.journal``), each with
  the decision it applied and its events;
- ``commitment_journal``: the versions of each commitment (payments, de-commitments);
- ``commitments``: the newest version of each commitment, for queries (kept up to date after
  each save and by the service consuming its own events);
- ``ledgers``: other financers' promises, _id from (financer, source event, item), never changed;
- ``money_events``: _id ``<event id>:<line id>``, the movements of money, written by the service
  consuming its own money events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.funding.domain.commitment import CommitmentState
from services.funding.domain.line import LineChange, LineState
from services.funding.domain.money import Movement
from services.funding.journal import JournalStore
from shared.events.base import EventData, OutboxEntry, new_outbox_entry
from shared.events.funding import PromiseRecorded
from shared.store import AggregateStore, ConcurrencyConflict, Document, EventsQueued, Loaded
from shared.topics import FUNDING_COMMITMENT, FUNDING_LEDGER

LINE_JOURNAL = "line_journal"
COMMITMENT_JOURNAL = "commitment_journal"
COMMITMENTS = "commitments"
LEDGERS = "ledgers"
MONEY_EVENTS = "money_events"
OUTBOX_COLLECTIONS = (LINE_JOURNAL, COMMITMENT_JOURNAL, LEDGERS)
VIEW_ATTEMPTS = 10
SOURCE = "poles.funding"


def outbox_entries(events: Sequence[EventData], time: datetime) -> list[OutboxEntry]:
    """Wrap events for an outbox, keyed so that one commitment's (or line's, or financer's)
    events share a partition and stay in order."""
    return [new_outbox_entry(data, source=SOURCE, key=_key(data), time=time) for data in events]


def _key(data: EventData) -> str:
    fields = data.model_dump()
    if data.topic == FUNDING_COMMITMENT:
        return str(fields["commitment_id"])
    if data.topic == FUNDING_LEDGER:
        return str(fields["financer"])
    return str(fields["line_id"])


class FundingStore:
    def __init__(self, db: AsyncDatabase[Document], on_events: EventsQueued) -> None:
        self.lines = JournalStore(db[LINE_JOURNAL], on_events)
        self.commitments = JournalStore(db[COMMITMENT_JOURNAL], on_events)
        self.commitment_view = db[COMMITMENTS]
        self.ledgers = AggregateStore(db[LEDGERS], on_events)
        self.money_events = db[MONEY_EVENTS]

    async def create_indexes(self) -> None:
        await self.lines.create_indexes()
        await self.commitments.create_indexes()
        for field in ("state.line_id", "state.pole_id", "state.region_codes"):
            await self.commitment_view.create_index(field)
        await self.ledgers.collection.create_index("state.financer")
        await self.money_events.create_index([("line_id", 1), ("at", 1)])

    # lines

    async def load_line(self, line_id: str) -> tuple[Loaded, LineState] | None:
        loaded = await self.lines.load(line_id)
        return None if loaded is None else (loaded, LineState.model_validate(loaded.state))

    async def create_line(
        self, state: LineState, events: Sequence[EventData], now: datetime
    ) -> bool:
        """Insert a line; False if it already exists (loading the envelope again is harmless)."""
        try:
            await self.lines.create(
                state.line_id, state.model_dump(mode="json"), outbox_entries(events, now)
            )
        except ConcurrencyConflict:
            return False
        return True

    async def save_line(
        self, loaded: Loaded, change: LineChange, decision_id: str, now: datetime
    ) -> None:
        await self.lines.save(
            loaded,
            change.state.model_dump(mode="json"),
            outbox_entries(change.events, now),
            decision_id,
            change.answer,
        )

    async def all_lines(self, line_ids: Sequence[str]) -> list[LineState]:
        found = [await self.load_line(line_id) for line_id in line_ids]
        return [line for _, line in filter(None, found)]

    # commitments

    async def load_commitment(self, commitment_id: str) -> tuple[Loaded, CommitmentState] | None:
        loaded = await self.commitments.load(commitment_id)
        return None if loaded is None else (loaded, CommitmentState.model_validate(loaded.state))

    async def create_commitment(self, state: CommitmentState) -> bool:
        """Insert a commitment built from its ``made`` event; False if it is already there."""
        try:
            await self.commitments.create(state.commitment_id, state.model_dump())
        except ConcurrencyConflict:
            return False
        finally:
            await self.refresh_commitment_view(state.commitment_id)
        return True

    async def save_commitment(
        self, loaded: Loaded, state: CommitmentState, events: Sequence[EventData], now: datetime
    ) -> None:
        await self.commitments.save(loaded, state.model_dump(), outbox_entries(events, now))
        await self.refresh_commitment_view(state.commitment_id)

    async def refresh_commitment_view(self, commitment_id: str) -> None:
        """Copy the newest version to the query view. Writers of the view may race; each one
        checks after writing that the view holds the newest version, and writes again if not."""
        for _ in range(VIEW_ATTEMPTS):
            loaded = await self.commitments.load(commitment_id)
            if loaded is None:
                return
            document = {"version": loaded.version, "state": loaded.state}
            try:
                await self.commitment_view.replace_one(
                    {"_id": commitment_id}, document, upsert=True
                )
            except DuplicateKeyError:
                continue
            shown = await self.commitment_view.find_one({"_id": commitment_id}, {"version": 1})
            newest = await self.commitments.load(commitment_id)
            if shown is not None and newest is not None and shown["version"] == newest.version:
                return

    async def find_commitments(self, query: Document, limit: int = 0) -> list[CommitmentState]:
        cursor = self.commitment_view.find(query, {"state": 1}).sort("state.committed_at")
        documents = await cursor.to_list(limit or None)
        return [CommitmentState.model_validate(document["state"]) for document in documents]

    async def paid_by_line(self) -> dict[str, int]:
        rows = await self.commitment_view.aggregate(
            [{"$group": {"_id": "$state.line_id", "paid": {"$sum": "$state.paid_cents"}}}]
        )
        return {row["_id"]: int(row["paid"]) async for row in rows}

    # ledgers

    async def create_ledger_entry(self, entry: PromiseRecorded, now: datetime) -> bool:
        """Insert a promise with its event; False if this (financer, source, item) is recorded."""
        try:
            await self.ledgers.create(
                entry.entry_id, entry.model_dump(), outbox_entries([entry], now)
            )
        except ConcurrencyConflict:
            return False
        return True

    async def ledger_entries(self, query: Document) -> list[PromiseRecorded]:
        cursor = self.ledgers.collection.find(query, {"state": 1}).sort("state.recorded_at")
        return [PromiseRecorded.model_validate(doc["state"]) for doc in await cursor.to_list(None)]

    # money movements

    async def record_movements(self, event_id: str, movements: Sequence[Movement]) -> None:
        """Keep each movement once, whatever the number of deliveries of its event."""
        for movement in movements:
            document: dict[str, Any] = {
                "_id": f"{event_id}:{movement.line_id}",
                "line_id": movement.line_id,
                "at": movement.at,
                "amount_cents": movement.amount_cents,
                "committed_cents": movement.committed_cents,
                "paid_cents": movement.paid_cents,
            }
            try:
                await self.money_events.insert_one(document)
            except DuplicateKeyError:
                continue

    async def movements(self, line_ids: Sequence[str], until: datetime) -> list[Movement]:
        query = {"line_id": {"$in": list(line_ids)}, "at": {"$lte": until}}
        documents = await self.money_events.find(query, {"_id": 0}).to_list(None)
        return [Movement(**document) for document in documents]
