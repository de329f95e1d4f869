"""Subscription commands and queries on the kernel's ``Repository``: who may see and change what.

A principal reads and changes its own subscriptions; an operator reads and changes all of them.
Anything else is answered as if it did not exist. A command with an ``Idempotency-Key`` records
its answer in the same save, so a repeat returns that answer and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from services.notify.domain import subscription as decide
from services.notify.domain.delivery import Delivery
from services.notify.domain.subscription import Subscription
from services.notify.store import Deliveries, DeliverySearch, SubscriptionSearch, missing
from services.notify.targets import PrivateTarget, TargetPolicy, ensure_public
from shared.auth import Principal
from shared.decision import Answer, Decision
from shared.errors import Conflict, invalid
from shared.events.notify import Channel
from shared.repository import Repository, command_id, derived_id
from shared.tracing import trace_id_of

IDS = uuid.UUID("7c1d62a4-3f0b-4c47-9a53-0d6d1b0c2f10")
DELIVERIES_LISTED = 100


class Decide(Protocol):
    """A decision on a subscription, ``by`` the subject of the principal who asked."""

    def __call__(self, sub: Subscription, now: datetime, *, by: str) -> Decision[Subscription]: ...


def visible(sub: Subscription, principal: Principal) -> bool:
    """Whether ``principal`` may see and change the subscription: its owner's or an operator,
    and not deleted."""
    return sub.readable_by(principal) and sub.status != "deleted"


@dataclass(frozen=True)
class NewSubscription:
    channel: Channel
    target: str
    event_types: list[str]
    filters: dict[str, str]
    since: datetime | None = None
    """Backfill: first the matching events published since then (services.notify.backfill)."""


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """A delivery as its log shows it, with ``trace_id``: the trace of the event it carries (None
    for an event that was not traced)."""
    view = delivery.model_dump(mode="json", exclude={"lease_until"})
    view["trace_id"] = trace_id_of(delivery.event.get("traceparent"))
    return view


@dataclass(frozen=True)
class SubscriptionCommands:
    subscriptions: Repository[Subscription]
    search: SubscriptionSearch
    _deliveries: Deliveries  # not `deliveries`: that name is the method listing them
    delivery_search: DeliverySearch
    targets: TargetPolicy
    secret_overlap: timedelta
    on_replayed: Callable[[], None]
    on_backfill: Callable[[], None] = lambda: None

    async def create(
        self, principal: Principal, request: NewSubscription, idempotency_key: str | None
    ) -> Answer:
        if request.channel == "webhook":
            await self._check_public(request.target)
        # Named after the command's id, as notify's ids always were: a repeat finds its first one.
        sub_id = derived_id(IDS, f"cmd:{principal.subject}", idempotency_key)
        answer = await self.subscriptions.create(
            sub_id,
            lambda now: decide.create(
                sub_id,
                principal,
                request.channel,
                request.target,
                request.event_types,
                request.filters,
                now,
                request.since,
            ),
            command_id(principal.subject, idempotency_key),
        )
        if request.since is not None:
            self.on_backfill()
        return answer

    async def _check_public(self, url: str) -> None:
        decide.check_target("webhook", url)
        try:
            await ensure_public(url, self.targets)
        except PrivateTarget as error:
            raise invalid(["target"], str(error)) from error
        except OSError as error:
            raise invalid(["target"], "the webhook's host does not resolve") from error

    async def pause(self, principal: Principal, sub_id: str, key: str | None) -> Answer:
        return await self._change(principal, sub_id, key, decide.pause)

    async def resume(self, principal: Principal, sub_id: str, key: str | None) -> Answer:
        return await self._change(principal, sub_id, key, decide.resume)

    async def delete(self, principal: Principal, sub_id: str, key: str | None) -> Answer:
        return await self._change(principal, sub_id, key, decide.delete)

    async def rotate_secret(self, principal: Principal, sub_id: str, key: str | None) -> Answer:
        return await self._change(
            principal, sub_id, key, partial(decide.rotate_secret, overlap=self.secret_overlap)
        )

    async def _change(
        self, principal: Principal, sub_id: str, key: str | None, decision: Decide
    ) -> Answer:
        """One command on a subscription the principal may see and that is not deleted (a
        repeated command gets its first answer, even once the subscription is deleted)."""

        def visible_then(sub: Subscription, now: datetime) -> Decision[Subscription]:
            if not visible(sub, principal):
                raise missing()
            return decision(sub, now, by=principal.subject)

        return await self.subscriptions.change(
            sub_id, visible_then, command_id(principal.subject, key)
        )

    async def _readable(
        self, principal: Principal, sub_id: str, deleted_too: bool = False
    ) -> Subscription:
        found = await self.subscriptions.get(sub_id)
        may_read = Subscription.readable_by if deleted_too else visible
        if found is None or not may_read(found.state, principal):
            raise missing()
        return found.state

    async def owned(self, principal: Principal, sub_id: str) -> Subscription:
        """A subscription of the principal (any, for an operator), deleted or not: the as-of reads
        show a deleted subscription's past to those who could read it."""
        return await self._readable(principal, sub_id, deleted_too=True)

    async def get(self, principal: Principal, sub_id: str) -> Answer:
        return (await self._readable(principal, sub_id)).view()

    async def listed(self, principal: Principal) -> list[Answer]:
        owner = None if principal.has("operator") else principal.subject
        return [sub.view() for sub in await self.search.listed(owner)]

    async def deliveries(self, principal: Principal, sub_id: str) -> list[Answer]:
        await self._readable(principal, sub_id)
        found = await self.delivery_search.of_subscription(sub_id, DELIVERIES_LISTED)
        return [delivery_view(delivery) for delivery in found]

    async def delivery(self, principal: Principal, delivery_id: str) -> Delivery:
        """A delivery its subscription's owner or an operator may read (default recipients'
        deliveries: operators only)."""
        delivery = await self._deliveries.get(delivery_id)
        mine = delivery is not None and delivery.owner_subject == principal.subject
        if delivery is None or not (mine or principal.has("operator")):
            raise missing()
        return delivery

    async def replay_delivery(self, principal: Principal, delivery_id: str) -> Answer:
        delivery = await self.delivery(principal, delivery_id)
        if delivery.subscription_id is not None:
            await self._active(principal, delivery.subscription_id)
        return await self._replay([delivery_id])

    async def replay_since(self, principal: Principal, sub_id: str, since: datetime) -> Answer:
        await self._active(principal, sub_id)
        return await self._replay(await self.delivery_search.created_since(sub_id, since))

    async def _replay(self, delivery_ids: list[str]) -> Answer:
        count = await self._deliveries.replay(delivery_ids)
        self.on_replayed()
        return {"replayed": count}

    async def _active(self, principal: Principal, sub_id: str) -> None:
        sub = await self._readable(principal, sub_id)
        if sub.status != "active":
            raise Conflict(f"the subscription is {sub.status}; resume it first")
