"""The outbox relay: publishes the events that saves left in aggregates' documents.

A relay claims a document with pending events under a lease, publishes its events in order
(idempotent producer, acks=all), then pulls them by id. A relay that dies in between leaves the
lease to expire; the next claim republishes the same event ids (at least once), and consumers
apply each id once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from shared.events.base import OutboxEntry
from shared.store import EPOCH, Document

log = logging.getLogger(__name__)

Publish = Callable[[OutboxEntry], Awaitable[Any]]
"""Sends one entry to the broker and returns an awaitable that completes when it is acked."""

PENDING = {"outbox.0": {"$exists": True}}


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.published = Counter(
            "poles_outbox_published_total",
            "Events the outbox relay published",
            ["collection"],
            registry=registry,
        )
        self.pending = Gauge(
            "poles_outbox_pending_documents",
            "Documents with events waiting in their outbox",
            ["collection"],
            registry=registry,
        )
        self.oldest_age = Gauge(
            "poles_outbox_oldest_event_age_seconds",
            "Age of the oldest event waiting in an outbox (real time since it was queued)",
            ["collection"],
            registry=registry,
        )


class OutboxRelay:
    def __init__(
        self,
        collections: Sequence[AsyncCollection[Document]],
        publish: Publish,
        metrics: RelayMetrics,
        lease: timedelta = timedelta(seconds=10),
        poll_interval: float = 0.5,
        batch_size: int = 200,
    ) -> None:
        self._collections = list(collections)
        self._publish = publish
        self._metrics = metrics
        self._lease = lease
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._owner = str(uuid.uuid4())
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a save that produced events: publish them now, not at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                published = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                published = 0
            if published:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def drain_once(self) -> int:
        """One pass over every collection; returns how many events were published."""
        total = 0
        for collection in self._collections:
            total += await self._drain(collection)
        return total

    async def _drain(self, collection: AsyncCollection[Document]) -> int:
        now = datetime.now(UTC)
        candidates = await collection.find(
            {**PENDING, "outbox_lease_until": {"$lt": now}}, {"_id": 1}
        ).to_list(self._batch_size)
        claims = [await self._claim(collection, candidate["_id"]) for candidate in candidates]
        claimed = [doc for doc in claims if doc is not None]
        if not claimed:
            return 0
        batches = [[OutboxEntry.model_validate(e) for e in doc["outbox"]] for doc in claimed]
        # Every send is queued before any acknowledgement is awaited; one aggregate's events
        # share a key, hence a partition, and the idempotent producer keeps their order.
        acks = [await self._publish(entry) for batch in batches for entry in batch]
        await asyncio.gather(*acks)
        for doc in claimed:
            await self._release(collection, doc["_id"], doc["outbox"])
        count = sum(len(batch) for batch in batches)
        self._metrics.published.labels(collection.name).inc(count)
        return count

    async def _claim(self, collection: AsyncCollection[Document], doc_id: Any) -> Document | None:
        now = datetime.now(UTC)
        return await collection.find_one_and_update(
            {"_id": doc_id, **PENDING, "outbox_lease_until": {"$lt": now}},
            {"$set": {"outbox_lease_until": now + self._lease, "outbox_lease_owner": self._owner}},
            return_document=ReturnDocument.AFTER,
        )

    async def _release(
        self, collection: AsyncCollection[Document], doc_id: Any, published: list[Document]
    ) -> None:
        # $pullAll with the entries exactly as read: MongoDB and FerretDB both remove whole equal
        # subdocuments (FerretDB 1.24 ignores a $pull with a condition), and events saved since
        # the claim stay in the outbox.
        pulled = {"$pullAll": {"outbox": published}}
        mine = await collection.update_one(
            {"_id": doc_id, "outbox_lease_owner": self._owner},
            {**pulled, "$set": {"outbox_lease_until": EPOCH}},
        )
        if mine.matched_count == 0:  # the lease expired and another relay holds it now
            await collection.update_one({"_id": doc_id}, pulled)

    async def observe(self) -> None:
        """Refresh the backlog gauges (pending documents, age of the oldest pending event)."""
        for collection in self._collections:
            pending = await collection.count_documents(PENDING)
            self._metrics.pending.labels(collection.name).set(pending)
            waiting = await collection.find(PENDING, {"outbox": 1}).to_list(1000)
            times = [doc["outbox"][0]["queued_at"] for doc in waiting if doc.get("outbox")]
            age = (datetime.now(UTC) - min(times)).total_seconds() if times else 0.0
            self._metrics.oldest_age.labels(collection.name).set(max(age, 0.0))
