"""The document store: a client factory on PyMongo's async API, and aggregates saved with their
outbox in one guarded ``update_one``.

The store on our machines (FerretDB) and a single MongoDB server have no multi-document
transactions, so the unit of atomicity is one document. An aggregate's document holds:

- ``_id`` and ``version`` (optimistic concurrency: every save names the version it read);
- ``state``: the aggregate's own data;
- ``outbox``: events produced by saves and not yet published (the relay publishes and pulls them);
- ``outbox_lease_until``: until when a relay owns the outbox (the epoch when nobody does);
- ``processed``: the last ids of consumed events and of commands' idempotency keys, with their
  answers, written in the same update as the change they caused, so a redelivery changes nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from pymongo.monitoring import CommandListener

from shared.events.base import OutboxEntry

Document = dict[str, Any]
Events = Sequence[OutboxEntry]
"""The events a write leaves in the document's outbox."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PROCESSED_KEPT = 200


class ConcurrencyConflict(Exception):
    """Another writer saved the aggregate since it was read (or created it first)."""


def create_mongo_client(
    url: str, app_name: str, listeners: Sequence[CommandListener] = ()
) -> AsyncMongoClient[Document]:
    """A client for a service's store; ``listeners`` see every command it sends (metrics)."""
    return AsyncMongoClient(
        url,
        appname=app_name,
        event_listeners=list(listeners),
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=3000,
        retryWrites=False,
    )


@dataclass(frozen=True)
class Processed:
    """A consumed event id or a command's idempotency key, and the answer it gave."""

    id: str
    answer: dict[str, Any] = field(default_factory=dict)

    def document(self) -> Document:
        return {"id": self.id, "answer": self.answer}


Kept = Processed | None
"""The consumed event id or command key a write keeps with its change, if any."""


@dataclass(frozen=True)
class Loaded:
    """An aggregate as read: its state, the version to guard the next save, what it processed."""

    id: str
    version: int
    state: Document
    processed: tuple[Processed, ...]

    def answer_for(self, processed_id: str) -> dict[str, Any] | None:
        for item in self.processed:
            if item.id == processed_id:
                return item.answer
        return None


EventsQueued = Callable[[str, str], None]
"""Told (collection name, document id) after a save left events in that document's outbox: the
relay publishes them at once, by id, instead of finding them at its next poll."""


def nobody_told(collection: str, document_id: str) -> None:
    """For stores whose events nobody publishes at once (tests of the store alone)."""


class AggregateStore:
    """Loads and saves one collection of aggregates together with their outbox."""

    def __init__(
        self, collection: AsyncCollection[Document], on_events: EventsQueued = nobody_told
    ) -> None:
        self.collection = collection
        self._on_events = on_events

    @property
    def name(self) -> str:
        return self.collection.name

    async def load(self, aggregate_id: str) -> Loaded | None:
        document = await self.collection.find_one(
            {"_id": aggregate_id}, {"outbox": 0, "outbox_lease_until": 0}
        )
        return None if document is None else loaded_from(document)

    async def create(
        self, aggregate_id: str, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        """Insert a new aggregate; ConcurrencyConflict if one with this id exists."""
        document: Document = {
            "_id": aggregate_id,
            "version": 1,
            "state": state,
            "outbox": [entry.model_dump() for entry in events],
            "outbox_lease_until": EPOCH,
            "processed": [] if processed is None else [processed.document()],
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError as error:
            raise ConcurrencyConflict(aggregate_id) from error
        if events:
            self._on_events(self.collection.name, aggregate_id)

    async def save(
        self, loaded: Loaded, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        """Replace the state read as ``loaded``; ConcurrencyConflict if it changed since."""
        changes: Document = {"state": state, "version": loaded.version + 1}
        if processed is not None:
            # The version guard makes a read-modify-write of the list safe; FerretDB ignores
            # $push's $slice, so the bounded list is computed here.
            kept = [*loaded.processed, processed][-PROCESSED_KEPT:]
            changes["processed"] = [item.document() for item in kept]
        update: Document = {"$set": changes}
        if events:
            update["$push"] = {"outbox": {"$each": [entry.model_dump() for entry in events]}}
        result = await self.collection.update_one(
            {"_id": loaded.id, "version": loaded.version}, update
        )
        if result.matched_count != 1:
            raise ConcurrencyConflict(loaded.id)
        if events:
            self._on_events(self.collection.name, loaded.id)


def loaded_from(document: Document) -> Loaded:
    return Loaded(
        id=document["_id"],
        version=document["version"],
        state=document.get("state", {}),
        processed=tuple(
            Processed(item["id"], item.get("answer", {})) for item in document.get("processed", [])
        ),
    )


ResultT = TypeVar("ResultT")
JITTER_SECONDS = 0.002


async def retry_on_conflict(
    attempt: Callable[[], Awaitable[ResultT]], attempts: int = 20
) -> ResultT:
    """Run a read-decide-save step again while another writer wins the race, after a little
    jitter that grows with the tries, so that many writers racing on one document (several
    instances, many requests) do not keep colliding in step."""
    for tries in range(attempts - 1):
        if tries:
            await asyncio.sleep(random.uniform(0, JITTER_SECONDS * min(tries, 25)))
        try:
            return await attempt()
        except ConcurrencyConflict:
            continue
    return await attempt()
