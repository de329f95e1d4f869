"""Aggregates kept as an append-only chain of versions, for the documents whose concurrent
writers must never both win: budget lines and commitments.

Why not the kernel's ``AggregateStore`` (one document rewritten under a version guard)? A budget
line takes thousands of commitments, far more than the last ``processed`` ids a document keeps,
and every change to money must stay readable as it was decided. A chain of versions keeps each
decision for good, so a source event commits at most once even when redelivered months later,
and the chain is the line's history. (Both stores rely on the same atomic primitive: an insert on
a unique ``_id`` here, a guarded single-document update there; the local FerretDB makes the latter
atomic, see deploy/local/ferretdb/atomic.go.)

So each save inserts version n+1 of the aggregate with ``_id = "<aggregate id>:<n+1>"``: of two
writers that read version n, exactly one insert succeeds, the other gets ConcurrencyConflict and
decides again on the new version. An entry is never changed afterwards, but for its outbox, which
the kernel's relay publishes and pulls as for any document. An entry may record the decision it
applied (``decision_id`` and the answer given), so that a decision is taken once per aggregate.
The chain is also the aggregate's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.events.base import OutboxEntry
from shared.store import EPOCH, ConcurrencyConflict, Document, EventsQueued, Loaded


class JournalStore:
    def __init__(self, collection: AsyncCollection[Document], on_events: EventsQueued) -> None:
        self.collection = collection
        self._on_events = on_events
        self._known: dict[str, int] = {}

    async def create_indexes(self) -> None:
        await self.collection.create_index([("aggregate_id", 1), ("version", -1)])
        await self.collection.create_index([("aggregate_id", 1), ("decision_id", 1)])

    async def load(self, aggregate_id: str) -> Loaded | None:
        """The newest version: from the last version this process saw, step forward by _id."""
        version = self._known.get(aggregate_id) or await self._newest_version(aggregate_id)
        if version == 0:
            return None
        document = await self._entry(aggregate_id, version)
        while (following := await self._entry(aggregate_id, version + 1)) is not None:
            document, version = following, version + 1
        assert document is not None, f"{aggregate_id} lost its version {version}"
        self._known[aggregate_id] = version
        return Loaded(id=aggregate_id, version=version, state=document["state"], processed=())

    async def create(
        self, aggregate_id: str, state: Document, events: Sequence[OutboxEntry] = ()
    ) -> None:
        """Insert version 1; ConcurrencyConflict if the aggregate exists."""
        await self._insert(aggregate_id, 1, state, events, None, None)

    async def save(
        self,
        loaded: Loaded,
        state: Document,
        events: Sequence[OutboxEntry] = (),
        decision_id: str | None = None,
        answer: dict[str, Any] | None = None,
    ) -> None:
        """Insert the version after ``loaded``; ConcurrencyConflict if another writer did."""
        await self._insert(loaded.id, loaded.version + 1, state, events, decision_id, answer)

    async def answer_for(self, aggregate_id: str, decision_id: str) -> dict[str, Any] | None:
        """The answer given when the aggregate applied ``decision_id``, if it did."""
        document = await self.collection.find_one(
            {"aggregate_id": aggregate_id, "decision_id": decision_id}, {"answer": 1}
        )
        return None if document is None else dict(document["answer"])

    async def _insert(
        self,
        aggregate_id: str,
        version: int,
        state: Document,
        events: Sequence[OutboxEntry],
        decision_id: str | None,
        answer: dict[str, Any] | None,
    ) -> None:
        document: Document = {
            "_id": entry_id(aggregate_id, version),
            "aggregate_id": aggregate_id,
            "version": version,
            "state": state,
            "decision_id": decision_id,
            "answer": answer,
            "saved_at": datetime.now(UTC),
            "outbox": [entry.model_dump() for entry in events],
            "outbox_lease_until": EPOCH,
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError as error:
            raise ConcurrencyConflict(aggregate_id) from error
        self._known[aggregate_id] = version
        if events:
            self._on_events(self.collection.name, document["_id"])

    async def _entry(self, aggregate_id: str, version: int) -> Document | None:
        return await self.collection.find_one(
            {"_id": entry_id(aggregate_id, version)}, {"state": 1}
        )

    async def _newest_version(self, aggregate_id: str) -> int:
        newest = await self.collection.find_one(
            {"aggregate_id": aggregate_id}, {"version": 1}, sort=[("version", -1)]
        )
        return 0 if newest is None else int(newest["version"])


def entry_id(aggregate_id: str, version: int) -> str:
    return f"{aggregate_id}:{version}"
