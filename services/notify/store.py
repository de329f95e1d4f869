"""Notify's two collections: ``subscriptions`` and ``deliveries`` (one document per target and
event), both aggregates saved with their events by the kernel's ``Repository``.

What the domain decides goes through the repositories: a subscription's commands and health, a
delivery's attempts and replays (``Deliveries``), each one guarded update of one document. The
searches (``SubscriptionSearch``, ``DeliverySearch``) only read. The dispatcher's claims
(``DeliveryLeases``) are the one raw update: a lease is the dispatcher's mechanics, not a rule
of the domain, and it bumps the version so that any other writer re-reads the delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from services.notify.domain.delivery import (
    Attempt,
    Delivery,
    RetrySchedule,
    attempted,
    replayed,
)
from services.notify.domain.matching import patterns_matching
from services.notify.domain.subscription import Subscription
from shared.clock import Clock
from shared.decision import Decision
from shared.errors import NotFound
from shared.repository import Aggregates, Repository
from shared.store import ConcurrencyConflict, Document, retry_on_conflict

SERVICE = "notify"
SUBSCRIPTIONS = "subscriptions"
DELIVERIES = "deliveries"
LISTED_AT_MOST = 500


NO_SUCH = "no such subscription or delivery"


def missing() -> NotFound:
    """Not there, or not the principal's to see: the same answer."""
    return NotFound(NO_SUCH)


def subscription_repository(aggregates: Aggregates, clock: Clock) -> Repository[Subscription]:
    return Repository(
        aggregates,
        Subscription,
        service=SERVICE,
        clock=clock,
        what="subscription",
        not_found=lambda _: missing(),
    )


class SubscriptionSearch(Protocol):
    async def matching(self, event_type: str) -> list[Subscription]:
        """Active subscriptions whose patterns select ``event_type`` (filters not applied)."""
        ...

    async def listed(self, owner_subject: str | None) -> list[Subscription]:
        """The owner's subscriptions (everyone's when ``owner_subject`` is None), not deleted,
        oldest first."""
        ...


class DeliverySearch(Protocol):
    async def of_subscription(self, subscription_id: str, limit: int) -> list[Delivery]:
        """The subscription's latest deliveries, newest first."""
        ...

    async def created_since(self, subscription_id: str, since: datetime) -> list[str]:
        """The ids of the deliveries the subscription matched since ``since``."""
        ...


class MongoSubscriptionSearch:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        for field in ("state.event_types", "state.owner_subject", "state.status"):
            await self.collection.create_index([(field, ASCENDING)])

    async def matching(self, event_type: str) -> list[Subscription]:
        query = {
            "state.status": "active",
            "state.event_types": {"$in": patterns_matching(event_type)},
        }
        documents = await self.collection.find(query, {"state": 1}).to_list(None)
        return [Subscription.model_validate(document["state"]) for document in documents]

    async def listed(self, owner_subject: str | None) -> list[Subscription]:
        query: Document = {"state.status": {"$ne": "deleted"}}
        if owner_subject is not None:
            query["state.owner_subject"] = owner_subject
        cursor = self.collection.find(query, {"state": 1}).sort("state.created_at", ASCENDING)
        return [
            Subscription.model_validate(d["state"]) for d in await cursor.to_list(LISTED_AT_MOST)
        ]

    async def count_disabled(self) -> int:
        return await self.collection.count_documents({"state.status": "disabled"})


class MongoDeliverySearch:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("state.status", ASCENDING), ("state.next_attempt_at", ASCENDING)]
        )
        await self.collection.create_index(
            [("state.subscription_id", ASCENDING), ("state.created_at", ASCENDING)]
        )

    async def of_subscription(self, subscription_id: str, limit: int) -> list[Delivery]:
        cursor = (
            self.collection.find({"state.subscription_id": subscription_id}, {"state": 1})
            .sort("state.created_at", DESCENDING)
            .limit(limit)
        )
        return [Delivery.model_validate(d["state"]) for d in await cursor.to_list(limit)]

    async def created_since(self, subscription_id: str, since: datetime) -> list[str]:
        query = {"state.subscription_id": subscription_id, "state.created_at": {"$gte": since}}
        return [d["_id"] for d in await self.collection.find(query, {"_id": 1}).to_list(None)]

    async def count_pending(self) -> int:
        return await self.collection.count_documents({"state.status": "pending"})


class Deliveries:
    """What happens to a delivery, as the domain decides it: recorded once, each attempt logged
    (``attempted``), sent again by hand (``replayed``); each a guarded save with its events."""

    def __init__(self, aggregates: Aggregates, clock: Clock) -> None:
        self.repository = Repository(
            aggregates, Delivery, service=SERVICE, clock=clock, what="delivery"
        )
        self._clock = clock

    async def record(self, delivery: Delivery) -> bool:
        """Insert the delivery; False when it was already recorded (the same event again)."""
        try:
            await self.repository.add(delivery.id, Decision.of(delivery), self._clock.now())
        except ConcurrencyConflict:
            return False
        return True

    async def get(self, delivery_id: str) -> Delivery | None:
        found = await self.repository.get(delivery_id)
        return None if found is None else found.state

    async def finish(
        self,
        delivery_id: str,
        attempt: Attempt,
        schedule: RetrySchedule,
        retry_after: float | None,
    ) -> Delivery:
        """Log the attempt and decide what comes next, as of the attempt's start; re-read and
        decide again if a replay or a claim changed the delivery meanwhile."""

        async def apply() -> Delivery:
            found = await self.repository.require(delivery_id)
            decision = attempted(found.state, attempt, schedule, retry_after)
            await self.repository.save(found, decision, attempt.at)
            return decision.state

        return await retry_on_conflict(apply)

    async def replay(self, delivery_ids: Iterable[str]) -> int:
        """Make each delivery due now with a full set of retries (``replayed``), one guarded
        save each: an attempt in flight re-reads it before logging its outcome."""
        count = 0
        for delivery_id in delivery_ids:
            await self.repository.change(delivery_id, replayed)
            count += 1
        return count


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


class DeliveryLeases:
    """The dispatcher's claims on due deliveries: a raw guarded update that sets the lease and
    bumps the version (the lease is the dispatcher's mechanics; the domain decides nothing)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

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
