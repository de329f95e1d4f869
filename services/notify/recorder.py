"""What notify does with every event of the other services: record who must receive it.

Recording is all the consumer does (one query, one insert, never a call to a receiver), so a
slow receiver cannot hold up the topic. Each delivery's id comes from its target and the event's
id: a redelivered event finds its deliveries already recorded and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.notify.domain.delivery import Delivery, new_delivery
from services.notify.domain.recipients import default_recipients, default_target_id
from services.notify.store import CoalescedMatching, Deliveries
from shared.clock import Clock
from shared.cloudevents import CloudEvent
from shared.topics import ALL_TOPICS, Topic

CONSUMED_TOPICS: tuple[Topic, ...] = tuple(t for t in ALL_TOPICS if "notify" in t.consumers)
"""Every topic the registry says notify reads: the events of calls, funding and contracts."""


@dataclass(frozen=True)
class DeliveryRecorder:
    subscriptions: CoalescedMatching
    deliveries: Deliveries
    on_recorded: Callable[[list[Delivery]], None]
    clock: Clock

    async def on_any_event(self, event: CloudEvent, _typed: Any) -> None:
        """Record one delivery per subscription that selects the event and per default
        recipient; the event's data is read generically (other services own its shape). The
        subscriptions of the events recorded at the same time are asked in one query, and one
        event's deliveries are inserted together."""
        now = self.clock.now()
        deliveries = [
            new_delivery(sub.id, sub.channel, sub.target, event, now, sub.id, sub.owner_subject)
            for sub in await self.subscriptions.matching(event.type)
            if sub.selects(event.type, event.data)
        ]
        deliveries += [
            new_delivery(default_target_id(address), "email", address, event, now)
            for address in default_recipients(event.type, event.data)
        ]
        recorded = set(await self.deliveries.record(deliveries)) if deliveries else set()
        if recorded:
            self.on_recorded([d for d in deliveries if d.id in recorded])
