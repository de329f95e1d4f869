"""The outbox relay: publishes the events that saves left in aggregates' documents.

A relay claims documents with pending events under a lease, publishes their events in order
(idempotent producer, acks=all), then pulls exactly those. A relay that dies in between leaves the
lease to expire; the next claim republishes the same event ids (at least once), and consumers
apply each id once.

Each publish is a PRODUCER span, child of the context the event was decided in (kept in its
entry); the event goes out with that span's ``traceparent``, so its consumers are its children.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, use_span
from prometheus_client import CollectorRegistry, Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection

from shared.events.base import OutboxEntry
from shared.store import EPOCH, Document
from shared.tracing import NO_TRACER, context_of, propagation, tracer
from shared.waiting import stop_if_cancelled, woken_or_timed_out

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
    """Publishes the documents it is told about (``wake``) at once, and finds the others (left by
    a relay that died, or saved while this one was down) by scanning at each poll."""

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
        self._told: dict[str, set[str]] = {collection.name: set() for collection in collections}

    def wake(self, collection: str, document_id: str) -> None:
        """Called after a save left events in a document: publish them now, by its id."""
        self._told.setdefault(collection, set()).add(document_id)
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while True:
            stop_if_cancelled()
            self._wake.clear()
            try:
                published = await self.publish_told()
                if loop.time() >= next_scan:
                    found, free_in, more = await self.publish_waiting()
                    # Scan again at once while a scan fills a whole batch (a backlog), else when
                    # a lease held by another relay (perhaps dead) runs out, at the latest at the
                    # poll. Not merely because a scan found events: under a steady flow it finds
                    # those saved since the told pass (told too), and each scan reads the whole
                    # collection on FerretDB, so scanning again at once saturated the store.
                    delay = min(0 if more else self._poll_interval, free_in)
                    next_scan = loop.time() + delay
                    published += found
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                published, next_scan = 0, loop.time() + min(self._poll_interval, 1.0)
            if published:
                continue
            await woken_or_timed_out(self._wake, max(next_scan - loop.time(), 0.0))

    async def publish_told(self) -> int:
        """Publish the documents the relay was told about; returns how many events."""
        total = 0
        for collection in self._collections:
            ids = list(self._told[collection.name])
            self._told[collection.name].clear()
            for start in range(0, len(ids), self._batch_size):
                total += await self._drain(collection, ids[start : start + self._batch_size])
        return total

    async def publish_waiting(self) -> tuple[int, float, bool]:
        """Find documents with free pending events and publish them. Returns how many events,
        in how many seconds the first document leased to another relay is free (inf if none
        is), and whether more free documents wait than one batch took."""
        total, free_in, more = 0, math.inf, False
        for collection in self._collections:
            ids, leased_for, left = await self._waiting(collection)
            total += await self._drain(collection, ids)
            free_in = min(free_in, leased_for)
            more = more or left
        return total, free_in, more

    async def _waiting(
        self, collection: AsyncCollection[Document]
    ) -> tuple[list[str], float, bool]:
        """Up to ``batch_size`` free documents with pending events, how long the shortest lease
        on the others still runs, and whether free ones are left beyond the batch (one scan on
        FerretDB, hence not at every pass)."""
        now = datetime.now(UTC)
        pending = await collection.find(PENDING, {"outbox_lease_until": 1}).to_list(
            10 * self._batch_size
        )
        free = [doc["_id"] for doc in pending if doc["outbox_lease_until"] < now]
        leases = [doc["outbox_lease_until"] for doc in pending if doc["outbox_lease_until"] >= now]
        leased_for = (min(leases) - now).total_seconds() if leases else math.inf
        return free[: self._batch_size], leased_for, len(free) > self._batch_size

    async def _drain(self, collection: AsyncCollection[Document], ids: list[str]) -> int:
        claimed = await self._claim(collection, ids) if ids else []
        if not claimed:
            return 0
        batches = [[OutboxEntry.model_validate(e) for e in doc["outbox"]] for doc in claimed]
        # Every send is queued before any acknowledgement is awaited; one aggregate's events
        # share a key, hence a partition, and the idempotent producer keeps their order.
        spans = [_producing(entry) for batch in batches for entry in batch]
        acks = [await self._publish(_traced(entry, span)) for entry, span in spans]
        try:
            await asyncio.gather(*acks)
        finally:
            for _, span in spans:
                span.end()
        await self._release(collection, claimed)
        count = sum(len(batch) for batch in batches)
        self._metrics.published.labels(collection.name).inc(count)
        return count

    async def _claim(self, collection: AsyncCollection[Document], ids: list[str]) -> list[Document]:
        """Lease those of ``ids`` that are free and have pending events, in two statements that
        name the ids (the _id index serves them, on FerretDB with our patch too).

        The pass's own owner token tells the documents this pass took from those another relay
        took meanwhile."""
        now = datetime.now(UTC)
        chosen = {"_id": {"$in": ids}}
        token = f"{self._owner}:{uuid.uuid4()}"
        await collection.update_many(
            {**chosen, **PENDING, "outbox_lease_until": {"$lt": now}},
            {"$set": {"outbox_lease_until": now + self._lease, "outbox_lease_owner": token}},
        )
        return await collection.find({**chosen, "outbox_lease_owner": token}).to_list(None)

    async def _release(
        self, collection: AsyncCollection[Document], claimed: list[Document]
    ) -> None:
        """Pull what was published and free the leases, in one statement for the whole pass.

        ``$pullAll`` with every entry of the pass removes from each document exactly its own
        published entries (event ids are unique; MongoDB and FerretDB both remove whole equal
        subdocuments, and FerretDB 1.24 ignores a ``$pull`` with a condition); events saved
        since the claim stay in the outbox."""
        token = claimed[0]["outbox_lease_owner"]
        chosen = {"_id": {"$in": [doc["_id"] for doc in claimed]}}
        published = [entry for doc in claimed for entry in doc["outbox"]]
        pulled = {"$pullAll": {"outbox": published}}
        mine = await collection.update_many(
            {**chosen, "outbox_lease_owner": token},
            {**pulled, "$set": {"outbox_lease_until": EPOCH}},
        )
        if mine.matched_count < len(claimed):  # a lease expired and another relay holds it now
            await collection.update_many(chosen, pulled)

    async def observe(self) -> None:
        """Refresh the backlog gauges (pending documents, age of the oldest pending event), from
        one search per collection: the pending documents are few, and on FerretDB both a count and
        a search read every document (a count through an aggregation, slower still)."""
        for collection in self._collections:
            waiting = await collection.find(PENDING, {"outbox": 1}).to_list(None)
            self._metrics.pending.labels(collection.name).set(len(waiting))
            times = [doc["outbox"][0]["queued_at"] for doc in waiting if doc.get("outbox")]
            age = (datetime.now(UTC) - min(times)).total_seconds() if times else 0.0
            self._metrics.oldest_age.labels(collection.name).set(max(age, 0.0))


def _producing(entry: OutboxEntry) -> tuple[OutboxEntry, Span]:
    """The PRODUCER span of one publish (ended once the broker acknowledged it); none, and
    nothing read, when tracing is off."""
    if tracer() is NO_TRACER:
        return entry, INVALID_SPAN
    parent = context_of({"traceparent": entry.traceparent, "tracestate": entry.tracestate})
    span = tracer().start_span(
        f"{entry.topic} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "publish",
            "messaging.destination.name": entry.topic,
            "messaging.message.id": entry.id,
        },
    )
    return entry, span


def _traced(entry: OutboxEntry, span: Span) -> OutboxEntry:
    """The entry as published: in its producer span's context when that span is recorded, as
    it was decided otherwise (tracing off, or a trace not sampled)."""
    if not span.is_recording():
        return entry
    with use_span(span):
        return entry.model_copy(update=propagation())
