"""Notify on in-memory parts (component tests only): its repositories on the kernel's
``MemoryAggregates`` and its searches answered from those same documents, as the store's
queries would."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.notify.domain.delivery import Delivery
from services.notify.domain.matching import patterns_matching
from services.notify.domain.subscription import Subscription
from services.notify.handlers import SubscriptionCommands
from services.notify.recorder import DeliveryRecorder
from services.notify.store import CoalescedMatching, Deliveries, subscription_repository
from services.notify.targets import NO_PRIVATE_TARGETS
from shared.clock import ManualClock
from shared.repository import Found, Repository
from tests.support.memory import MemoryAggregates

NOW = datetime(2009, 3, 2, 10, 0, tzinfo=UTC)
OVERLAP = timedelta(hours=24)


class MemorySubscriptionSearch:
    def __init__(self, aggregates: MemoryAggregates) -> None:
        self._aggregates = aggregates
        self.queries = 0

    def _all(self) -> list[Subscription]:
        return [Subscription.model_validate(state) for state in self._aggregates.states()]

    async def matching(self, event_types: Collection[str]) -> list[Subscription]:
        self.queries += 1
        patterns = {pattern for t in event_types for pattern in patterns_matching(t)}
        return [
            sub for sub in self._all() if sub.status == "active" and patterns & set(sub.event_types)
        ]

    async def of_ids(self, subscription_ids: Collection[str]) -> dict[str, Subscription]:
        return {sub.id: sub for sub in self._all() if sub.id in subscription_ids}

    async def backfilling(self) -> list[str]:
        return [sub.id for sub in self._all() if sub.status == "active" and sub.backfilling]

    async def listed(self, owner_subject: str | None) -> list[Subscription]:
        kept = [
            sub
            for sub in self._all()
            if sub.status != "deleted" and owner_subject in (None, sub.owner_subject)
        ]
        return sorted(kept, key=lambda sub: sub.created_at)


class MemoryDeliverySearch:
    def __init__(self, aggregates: MemoryAggregates) -> None:
        self._aggregates = aggregates

    def _of(self, subscription_id: str) -> list[Delivery]:
        states = self._aggregates.states(lambda s: s["subscription_id"] == subscription_id)
        return [Delivery.model_validate(state) for state in states]

    async def of_subscription(self, subscription_id: str, limit: int) -> list[Delivery]:
        newest = sorted(self._of(subscription_id), key=lambda d: d.created_at, reverse=True)
        return newest[:limit]

    async def created_since(self, subscription_id: str, since: datetime) -> list[str]:
        return [d.id for d in self._of(subscription_id) if d.created_at >= since]


@dataclass
class World:
    """Notify's commands and recorder on memory, with what they told the dispatcher."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(NOW))
    subscription_store: MemoryAggregates = field(
        default_factory=lambda: MemoryAggregates("subscriptions")
    )
    delivery_store: MemoryAggregates = field(default_factory=lambda: MemoryAggregates("deliveries"))
    recorded: list[list[Delivery]] = field(default_factory=list)
    replays: int = 0

    @property
    def subscriptions(self) -> Repository[Subscription]:
        return subscription_repository(self.subscription_store, self.clock)

    @property
    def deliveries(self) -> Deliveries:
        return Deliveries(self.delivery_store, self.clock)

    def commands(self) -> SubscriptionCommands:
        return SubscriptionCommands(
            self.subscriptions,
            MemorySubscriptionSearch(self.subscription_store),
            self.deliveries,
            MemoryDeliverySearch(self.delivery_store),
            targets=NO_PRIVATE_TARGETS,
            secret_overlap=OVERLAP,
            on_replayed=self._replayed,
        )

    def recorder(self) -> DeliveryRecorder:
        return DeliveryRecorder(
            CoalescedMatching(MemorySubscriptionSearch(self.subscription_store)),
            self.deliveries,
            self.recorded.append,
            self.clock,
        )

    def _replayed(self) -> None:
        self.replays += 1

    async def claimed(self, delivery_id: str) -> Found[Delivery]:
        """The delivery as a dispatcher's claim would read it."""
        return await self.deliveries.repository.require(delivery_id)

    def delivery(self, delivery_id: str) -> Delivery:
        return Delivery.model_validate(self.delivery_store.documents[delivery_id]["state"])
