"""Notify's two collections: ``subscriptions`` and ``deliveries`` (one document per target and
event), both aggregates saved with their events by the kernel's ``Repository``.

What the domain decides goes through the repositories: a subscription's commands and health, a
delivery's attempts and replays (``Deliveries``), each one guarded update of one document. The
searches (``SubscriptionSearch``, ``DeliverySearch``) only read. The dispatcher's claims
(``DeliveryLeases``) are the one raw update: a lease is the dispatcher's mechanics, not a rule
of the domain, and it bumps the version so that any other writer re-reads the delivery.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.notify.domain.delivery import (
    Attempt,
    Delivery,
    RetrySchedule,
    attempted,
    backfilled,
    replayed,
)
from services.notify.domain.matching import patterns_matching, type_matches
from services.notify.domain.subscription import Subscription
from shared.clock import Clock
from shared.decision import Decision
from shared.errors import NotFound
from shared.repository import Aggregates, Found, Repository
from shared.store import (
    EPOCH,
    ConcurrencyConflict,
    Document,
    Loaded,
    count_matching,
    ensure_indexes,
    loaded_from,
    retry_on_conflict,
)

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
    async def matching(self, event_types: Collection[str]) -> list[Subscription]:
        """Active subscriptions whose patterns select any of ``event_types`` (filters not
        applied): one query for the events of a consumer's batch."""
        ...

    async def of_ids(self, subscription_ids: Collection[str]) -> dict[str, Subscription]:
        """The subscriptions named, by id (those that exist)."""
        ...

    async def backfilling(self) -> list[str]:
        """The ids of the active subscriptions whose backfill is not done."""
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
        await ensure_indexes(
            self.collection, "state.event_types", "state.owner_subject", "state.status"
        )

    async def matching(self, event_types: Collection[str]) -> list[Subscription]:
        patterns = sorted({p for event_type in event_types for p in patterns_matching(event_type)})
        query = {"state.status": "active", "state.event_types": {"$in": patterns}}
        documents = await self.collection.find(query, {"state": 1}).to_list(None)
        return [Subscription.model_validate(document["state"]) for document in documents]

    async def of_ids(self, subscription_ids: Collection[str]) -> dict[str, Subscription]:
        if not subscription_ids:
            return {}
        query = {"_id": {"$in": list(subscription_ids)}}
        documents = await self.collection.find(query, {"state": 1}).to_list(None)
        return {d["_id"]: Subscription.model_validate(d["state"]) for d in documents}

    async def backfilling(self) -> list[str]:
        query = {"state.status": "active", "state.backfill.state": "running"}
        return [d["_id"] for d in await self.collection.find(query, {"_id": 1}).to_list(None)]

    async def listed(self, owner_subject: str | None) -> list[Subscription]:
        query: Document = {"state.status": {"$ne": "deleted"}}
        if owner_subject is not None:
            query["state.owner_subject"] = owner_subject
        cursor = self.collection.find(query, {"state": 1}).sort("state.created_at", ASCENDING)
        return [
            Subscription.model_validate(d["state"]) for d in await cursor.to_list(LISTED_AT_MOST)
        ]

    async def count_disabled(self) -> int:
        return await count_matching(self.collection, {"state.status": "disabled"})


class CoalescedMatching:
    """Asks the search once for the concurrent ``matching`` calls (the events of one consumer
    batch are recorded at the same time): a call waits for the query in flight to end, then one
    query over the union of every waiting event type serves them all, each call getting only
    the subscriptions whose patterns select its own type."""

    def __init__(self, search: SubscriptionSearch) -> None:
        self._search = search
        self._waiting: list[tuple[str, asyncio.Future[list[Subscription]]]] = []
        self._running: asyncio.Task[None] | None = None

    async def matching(self, event_type: str) -> list[Subscription]:
        future: asyncio.Future[list[Subscription]] = asyncio.get_running_loop().create_future()
        self._waiting.append((event_type, future))
        if self._running is None:
            self._running = asyncio.create_task(self._serve())
        return await future

    async def _serve(self) -> None:
        try:
            await asyncio.sleep(0)  # the calls made in the same turn go in the first query
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                try:
                    found = await self._search.matching({t for t, _ in waiting})
                except Exception as error:
                    for _, future in waiting:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for event_type, future in waiting:
                    if not future.done():
                        future.set_result(
                            [s for s in found if type_matches(s.event_types, event_type)]
                        )
        finally:
            self._running = None


class MongoDeliverySearch:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await ensure_indexes(
            self.collection,
            [("state.status", ASCENDING), ("state.next_attempt_at", ASCENDING)],
            [("state.subscription_id", ASCENDING), ("state.created_at", ASCENDING)],
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
        return await count_matching(self.collection, {"state.status": "pending"})


class Deliveries:
    """What happens to a delivery, as the domain decides it: recorded once, each attempt logged
    (``attempted``), sent again by hand (``replayed``); each a guarded save with its events."""

    def __init__(self, aggregates: Aggregates, clock: Clock) -> None:
        self.repository = Repository(
            aggregates, Delivery, service=SERVICE, clock=clock, what="delivery"
        )
        self._clock = clock

    async def record(self, deliveries: Sequence[Delivery]) -> list[str]:
        """Insert the deliveries, all at once (the kernel's store writes concurrent creates of
        one collection in one ``bulk_write(ordered=False)``); returns the ids of those newly
        recorded, leaving out those already there (the same event again)."""
        now = self._clock.now()
        added = await asyncio.gather(*(self._add(delivery, now) for delivery in deliveries))
        return [delivery.id for delivery, new in zip(deliveries, added, strict=True) if new]

    async def _add(self, delivery: Delivery, now: datetime) -> bool:
        try:
            await self.repository.add(delivery.id, Decision.of(delivery), now)
        except ConcurrencyConflict:
            return False
        return True

    async def get(self, delivery_id: str) -> Delivery | None:
        found = await self.repository.get(delivery_id)
        return None if found is None else found.state

    def claimed(self, loaded: Loaded) -> Found[Delivery]:
        """A delivery as its claim read it (its version guards the save of the attempt)."""
        return self.repository.found(loaded)

    async def finish(
        self,
        claimed: Found[Delivery],
        attempt: Attempt,
        schedule: RetrySchedule,
        retry_after: float | None,
    ) -> Delivery:
        """Log the attempt and decide what comes next, as of the attempt's start, saved on the
        version the claim read (no read); re-read and decide again if a replay or a claim
        changed the delivery meanwhile."""
        first = [claimed]

        async def apply() -> Delivery:
            found = first.pop() if first else await self.repository.require(claimed.id)
            decision = attempted(found.state, attempt, schedule, retry_after)
            await self.repository.save(found, decision, attempt.at)
            return decision.state

        return await retry_on_conflict(apply)

    async def take_over(self, delivery_id: str) -> Delivery:
        """The backfill reached a delivery recorded live meanwhile: it is the backfill's now,
        due at once (``backfilled``); returns it as it stands."""
        applied = await self.repository.apply(delivery_id, backfilled)
        if applied.saved is not None:
            return applied.saved.state
        return (await self.repository.require(delivery_id)).state

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


TARGET_FIELDS = ("subscription_id", "channel", "target")
"""What a delivery's target is read from (``Wanted`` sees these fields of its state)."""
Wanted = Callable[[Document], bool]


def claimable_at(state: Document) -> datetime:
    """When a pending delivery may be claimed: its attempt due, no dispatcher's lease on it."""
    at: datetime = max(state["next_attempt_at"], state["lease_until"])
    return at


class DeliveryLeases:
    """The dispatcher's claims on due deliveries: a raw guarded update that sets the lease and
    bumps the version (the lease is the dispatcher's mechanics; the domain decides nothing)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._owner = str(uuid.uuid4())

    async def claim_due(
        self, now: datetime, lease: timedelta, limit: int, wanted: Wanted = lambda _: True
    ) -> tuple[list[Loaded], dict[str, Document], datetime | None]:
        """Take up to ``limit`` due deliveries for ``lease``, found by a search (a scan on
        FerretDB): retries that came due, and deliveries nobody told the dispatcher about;
        ``wanted`` leaves some for later (their target has enough in flight). Also gives the due
        ones it left (id: the ``TARGET_FIELDS`` of their state), for the caller to claim by id
        when it has room rather than search again (a search reads every pending delivery), and
        when a search may find more: when the first pending one not due yet comes due or its
        lease (a dead dispatcher's, perhaps) runs out."""
        shown = {f"state.{f}": 1 for f in ("next_attempt_at", "lease_until", *TARGET_FIELDS)}
        pending = await self.collection.find({"state.status": "pending"}, shown).to_list(None)
        ready = sorted(
            (at, doc["_id"], doc["state"])
            for doc in pending
            if (at := claimable_at(doc["state"])) <= now
        )
        chosen: list[str] = []
        left: dict[str, Document] = {}
        for _, delivery_id, state in ready:
            if len(chosen) < limit and wanted(state):
                chosen.append(delivery_id)
            else:
                left[delivery_id] = state
        claimed = await self.claim(chosen, now, lease)
        later = [at for doc in pending if (at := claimable_at(doc["state"])) > now]
        return claimed, left, min(later, default=None)

    async def claim(self, ids: Iterable[str], now: datetime, lease: timedelta) -> list[Loaded]:
        """Take those of ``ids`` that are due for ``lease``; another dispatcher (a replica)
        cannot take them meanwhile, and a dispatcher that dies lets its lease expire.

        Two statements for the whole batch, both naming the ids (the _id index serves them,
        on FerretDB with our patch too), as the kernel relay claims: one guarded
        ``update_many`` sets the lease and this pass's token, and bumps the version (so any
        other writer re-reads the delivery); one ``find`` reads back what carries the token,
        which tells what this pass took from what another dispatcher took meanwhile."""
        chosen = {"_id": {"$in": list(ids)}}
        if not chosen["_id"]["$in"]:
            return []
        token = f"{self._owner}:{uuid.uuid4()}"
        await self.collection.update_many(
            {**chosen, **due(now)},
            {
                "$set": {"state.lease_until": now + lease, "lease_token": token, "held": False},
                "$inc": {"version": 1},
            },
        )
        documents = await self.collection.find(
            {**chosen, "lease_token": token}, {"outbox": 0, "outbox_lease_until": 0}
        ).to_list(None)
        return [loaded_from(document) for document in documents]

    async def hold(self, claimed: Collection[Found[Delivery]]) -> None:
        """Claimed deliveries of a subscription that backfills, not sent: marked ``held``
        (unless changed since the claim) and left under the claim's lease, for
        ``release_held`` to make due when the backfill is done. One statement."""
        if claimed:
            pairs = [{"_id": found.id, "version": found.loaded.version} for found in claimed]
            await self.collection.update_many({"$or": pairs}, {"$set": {"held": True}})

    async def release_held(self, subscription_id: str) -> None:
        """The subscription's held deliveries are due now (its backfill is done). A claim
        clears ``held``, so a delivery claimed again meanwhile (in flight) keeps its lease."""
        await self.collection.update_many(
            {"state.subscription_id": subscription_id, "held": True},
            {"$set": {"held": False, "state.lease_until": EPOCH}, "$inc": {"version": 1}},
        )
