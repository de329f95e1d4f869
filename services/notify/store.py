"""Notify's two collections: ``subscriptions`` (aggregates with an outbox) and ``deliveries``
(one document per target and event, claimed under a lease by the dispatcher)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain.delivery import (
    Attempt,
    Delivery,
    RetrySchedule,
    after_attempt,
    failure_event,
)
from services.notify.domain.matching import patterns_matching
from services.notify.domain.subscription import Subscription
from shared.events.base import EventData, OutboxEntry, new_outbox_entry
from shared.store import (
    AggregateStore,
    ConcurrencyConflict,
    Document,
    EventsQueued,
    Loaded,
    Processed,
    retry_on_conflict,
)

SUBSCRIPTIONS = "subscriptions"
DELIVERIES = "deliveries"
SOURCE = "notify"
LISTED_AT_MOST = 500


def outbox(event: EventData | None, key: str, now: datetime) -> list[OutboxEntry]:
    return [] if event is None else [new_outbox_entry(event, source=SOURCE, key=key, time=now)]


class SubscriptionRepository:
    def __init__(self, db: AsyncDatabase[Document], on_events: EventsQueued) -> None:
        self.store = AggregateStore(db[SUBSCRIPTIONS], on_events)
        self.collection = self.store.collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("state.event_types", ASCENDING)])
        await self.collection.create_index([("state.owner_subject", ASCENDING)])
        await self.collection.create_index([("state.status", ASCENDING)])

    async def get(self, subscription_id: str) -> tuple[Loaded, Subscription] | None:
        loaded = await self.store.load(subscription_id)
        return None if loaded is None else (loaded, Subscription.model_validate(loaded.state))

    async def create(
        self, sub: Subscription, event: EventData, now: datetime, processed: Processed | None
    ) -> None:
        await self.store.create(sub.id, sub.model_dump(), outbox(event, sub.id, now), processed)

    async def save(
        self,
        loaded: Loaded,
        sub: Subscription,
        event: EventData | None,
        now: datetime,
        processed: Processed | None = None,
    ) -> None:
        await self.store.save(loaded, sub.model_dump(), outbox(event, sub.id, now), processed)

    async def matching(self, event_type: str) -> list[Subscription]:
        """Active subscriptions whose patterns select ``event_type`` (filters not applied)."""
        query = {
            "state.status": "active",
            "state.event_types": {"$in": patterns_matching(event_type)},
        }
        documents = await self.collection.find(query, {"state": 1}).to_list(None)
        return [Subscription.model_validate(document["state"]) for document in documents]

    async def listed(self, owner_subject: str | None) -> list[Subscription]:
        """The owner's subscriptions (everyone's when ``owner_subject`` is None), not deleted."""
        query: Document = {"state.status": {"$ne": "deleted"}}
        if owner_subject is not None:
            query["state.owner_subject"] = owner_subject
        cursor = self.collection.find(query, {"state": 1}).sort("state.created_at", ASCENDING)
        return [
            Subscription.model_validate(d["state"]) for d in await cursor.to_list(LISTED_AT_MOST)
        ]

    async def count_disabled(self) -> int:
        return await self.collection.count_documents({"state.status": "disabled"})


def due(now: datetime) -> Document:
    """A delivery to attempt now: pending, its time come, not leased to a dispatcher."""
    return {
        "state.status": "pending",
        "state.next_attempt_at": {"$lte": now},
        "state.lease_until": {"$lt": now},
    }


def claimable_at(state: Document) -> datetime:
    """When a pending delivery may be claimed: its attempt due, no dispatcher's lease on it."""
    at: datetime = max(state["next_attempt_at"], state["lease_until"])
    return at


class DeliveryRepository:
    def __init__(self, db: AsyncDatabase[Document], on_events: EventsQueued) -> None:
        self.store = AggregateStore(db[DELIVERIES], on_events)
        self.collection = self.store.collection

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("state.status", ASCENDING), ("state.next_attempt_at", ASCENDING)]
        )
        await self.collection.create_index(
            [("state.subscription_id", ASCENDING), ("state.created_at", ASCENDING)]
        )

    async def record(self, delivery: Delivery) -> bool:
        """Insert the delivery; False when it was already recorded (the same event again)."""
        try:
            await self.store.create(delivery.id, delivery.model_dump())
        except ConcurrencyConflict:
            return False
        return True

    async def get(self, delivery_id: str) -> Delivery | None:
        loaded = await self.store.load(delivery_id)
        return None if loaded is None else Delivery.model_validate(loaded.state)

    async def of_subscription(self, subscription_id: str, limit: int) -> list[Delivery]:
        cursor = (
            self.collection.find({"state.subscription_id": subscription_id}, {"state": 1})
            .sort("state.created_at", DESCENDING)
            .limit(limit)
        )
        return [Delivery.model_validate(d["state"]) for d in await cursor.to_list(limit)]

    async def claim_due(
        self, now: datetime, lease: timedelta, limit: int
    ) -> tuple[list[Delivery], datetime | None]:
        """Take up to ``limit`` due deliveries for ``lease``, found by a search (a scan on
        FerretDB): retries that came due, and deliveries nobody told the dispatcher about.
        Also says when a search may find more: ``now`` if due ones were left over, else when
        the first pending one comes due or its lease (a dead dispatcher's, perhaps) runs out."""
        pending = await self.collection.find(
            {"state.status": "pending"}, {"state.next_attempt_at": 1, "state.lease_until": 1}
        ).to_list(None)
        ready_at = {doc["_id"]: claimable_at(doc["state"]) for doc in pending}
        ready = sorted((at, i) for i, at in ready_at.items() if at <= now)
        claimed = await self.claim([i for _, i in ready[:limit]], now, lease)
        later = [at for at in ready_at.values() if at > now]
        next_search = now if len(ready) > limit else min(later, default=None)
        return claimed, next_search

    async def claim(self, ids: Iterable[str], now: datetime, lease: timedelta) -> list[Delivery]:
        """Take those of ``ids`` that are due for ``lease``; another dispatcher (a replica)
        cannot take them meanwhile, and a dispatcher that dies lets its lease expire.

        One guarded statement per delivery, each found by its _id (the local FerretDB's patch
        makes that an index lookup), rather than one claim by a filter that would scan every
        delivery while holding the store's write lock."""
        claimed = []
        for delivery_id in ids:
            document = await self.collection.find_one_and_update(
                {"_id": delivery_id, **due(now)},
                {"$set": {"state.lease_until": now + lease}, "$inc": {"version": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if document is not None:
                claimed.append(Delivery.model_validate(document["state"]))
        return claimed

    async def finish(
        self,
        delivery_id: str,
        attempt: Attempt,
        schedule: RetrySchedule,
        retry_after: float | None,
    ) -> Delivery:
        """Log the attempt and decide what comes next; re-read and re-apply if a replay
        changed the delivery meanwhile."""

        async def apply() -> Delivery:
            loaded = await self.store.load(delivery_id)
            if loaded is None:
                raise LookupError(delivery_id)
            done = after_attempt(
                Delivery.model_validate(loaded.state), attempt, schedule, retry_after
            )
            event = failure_event(done, attempt.at) if done.status == "failed" else None
            await self.store.save(loaded, done.model_dump(), outbox(event, done.id, attempt.at))
            return done

        return await retry_on_conflict(apply)

    async def replay_one(self, delivery_id: str, now: datetime) -> int:
        return await self._replay({"_id": delivery_id}, now)

    async def replay_since(self, subscription_id: str, since: datetime, now: datetime) -> int:
        """Everything the subscription matched since ``since`` goes out again."""
        query = {"state.subscription_id": subscription_id, "state.created_at": {"$gte": since}}
        return await self._replay(query, now)

    async def _replay(self, query: Document, now: datetime) -> int:
        """Make the matching deliveries due now with a full set of retries; the version bump
        makes an attempt in flight re-read them before saving."""
        result = await self.collection.update_many(
            query,
            {
                "$set": {
                    "state.status": "pending",
                    "state.next_attempt_at": now,
                    "state.failures_since_replay": 0,
                },
                "$inc": {"version": 1},
            },
        )
        return result.modified_count

    async def count_pending(self) -> int:
        return await self.collection.count_documents({"state.status": "pending"})
