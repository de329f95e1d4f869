"""Subscription commands and queries: load, decide, save; who may see and change what.

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
from typing import Any

from services.notify.domain import subscription as decide
from services.notify.domain.delivery import Delivery
from services.notify.domain.subscription import (
    InvalidSubscription,
    Subscription,
    SubscriptionConflict,
)
from services.notify.store import DeliveryRepository, SubscriptionRepository
from services.notify.targets import PrivateTarget, ensure_public
from shared.auth import Principal
from shared.clock import Clock
from shared.events.notify import Channel, SubscriptionFacts
from shared.store import ConcurrencyConflict, Loaded, Processed, retry_on_conflict

IDS = uuid.UUID("7c1d62a4-3f0b-4c47-9a53-0d6d1b0c2f10")
DELIVERIES_LISTED = 100
Decision = Callable[[Subscription, datetime], tuple[Subscription, SubscriptionFacts]]


class NotFound(LookupError):
    """Not there, or not the principal's to see."""


@dataclass(frozen=True)
class NewSubscription:
    channel: Channel
    target: str
    event_types: list[str]
    filters: dict[str, str]


def subscription_view(sub: Subscription, with_secret: bool = False) -> dict[str, Any]:
    """What an owner reads; the signing secret only right after it was made."""
    view = sub.model_dump(mode="json", exclude={"secrets"})
    if with_secret and sub.secrets:
        view["secret"] = sub.secrets[0].value
    return view


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    return delivery.model_dump(mode="json", exclude={"lease_until"})


def _command_id(principal: Principal, idempotency_key: str | None) -> str | None:
    return None if idempotency_key is None else f"cmd:{principal.subject}:{idempotency_key}"


class SubscriptionCommands:
    def __init__(
        self,
        subscriptions: SubscriptionRepository,
        deliveries: DeliveryRepository,
        clock: Clock,
        allow_private_targets: bool,
        secret_overlap: timedelta,
        on_replayed: Callable[[], None],
    ) -> None:
        self._subscriptions = subscriptions
        self._deliveries = deliveries
        self._clock = clock
        self._allow_private = allow_private_targets
        self._overlap = secret_overlap
        self._on_replayed = on_replayed

    async def create(
        self, principal: Principal, request: NewSubscription, idempotency_key: str | None
    ) -> dict[str, Any]:
        if request.channel == "webhook":
            await self._check_public(request.target)
        command = _command_id(principal, idempotency_key)
        sub_id = str(uuid.uuid5(IDS, command) if command else uuid.uuid4())
        now = self._clock.now()
        sub, event = decide.create(
            sub_id,
            principal,
            request.channel,
            request.target,
            request.event_types,
            request.filters,
            now,
        )
        answer = subscription_view(sub, with_secret=True)
        try:
            processed = Processed(command, answer) if command else None
            await self._subscriptions.create(sub, event, now, processed)
        except ConcurrencyConflict:
            found = await self._subscriptions.get(sub_id)
            if command is None or found is None or found[0].answer_for(command) is None:
                raise
            return found[0].answer_for(command) or {}
        return answer

    async def _check_public(self, url: str) -> None:
        decide.check_target("webhook", url)
        try:
            await ensure_public(url, self._allow_private)
        except PrivateTarget as error:
            raise InvalidSubscription("target", str(error)) from error
        except OSError as error:
            raise InvalidSubscription("target", "the webhook's host does not resolve") from error

    async def pause(self, principal: Principal, sub_id: str, key: str | None) -> dict[str, Any]:
        return await self._change(principal, sub_id, key, decide.pause)

    async def resume(self, principal: Principal, sub_id: str, key: str | None) -> dict[str, Any]:
        return await self._change(principal, sub_id, key, decide.resume)

    async def delete(self, principal: Principal, sub_id: str, key: str | None) -> dict[str, Any]:
        return await self._change(principal, sub_id, key, decide.delete)

    async def rotate_secret(
        self, principal: Principal, sub_id: str, key: str | None
    ) -> dict[str, Any]:
        rotate = partial(decide.rotate_secret, overlap=self._overlap)
        return await self._change(principal, sub_id, key, rotate, with_secret=True)

    async def _change(
        self,
        principal: Principal,
        sub_id: str,
        key: str | None,
        decision: Decision,
        with_secret: bool = False,
    ) -> dict[str, Any]:
        command = _command_id(principal, key)

        async def attempt() -> dict[str, Any]:
            loaded, sub = await self._readable(principal, sub_id, allow_deleted=True)
            if command is not None and (answer := loaded.answer_for(command)) is not None:
                return answer
            if sub.status == "deleted":
                raise NotFound(sub_id)
            now = self._clock.now()
            changed, event = decision(sub, now)
            answer = subscription_view(changed, with_secret)
            processed = Processed(command, answer) if command else None
            await self._subscriptions.save(loaded, changed, event, now, processed)
            return answer

        return await retry_on_conflict(attempt)

    async def _readable(
        self, principal: Principal, sub_id: str, allow_deleted: bool = False
    ) -> tuple[Loaded, Subscription]:
        found = await self._subscriptions.get(sub_id)
        if found is None or not found[1].readable_by(principal):
            raise NotFound(sub_id)
        if found[1].status == "deleted" and not allow_deleted:
            raise NotFound(sub_id)
        return found

    async def get(self, principal: Principal, sub_id: str) -> dict[str, Any]:
        return subscription_view((await self._readable(principal, sub_id))[1])

    async def listed(self, principal: Principal) -> list[dict[str, Any]]:
        owner = None if principal.has("operator") else principal.subject
        return [subscription_view(sub) for sub in await self._subscriptions.listed(owner)]

    async def deliveries(self, principal: Principal, sub_id: str) -> list[dict[str, Any]]:
        await self._readable(principal, sub_id)
        found = await self._deliveries.of_subscription(sub_id, DELIVERIES_LISTED)
        return [delivery_view(delivery) for delivery in found]

    async def delivery(self, principal: Principal, delivery_id: str) -> Delivery:
        """A delivery its subscription's owner or an operator may read (default recipients'
        deliveries: operators only)."""
        delivery = await self._deliveries.get(delivery_id)
        mine = delivery is not None and delivery.owner_subject == principal.subject
        if delivery is None or not (mine or principal.has("operator")):
            raise NotFound(delivery_id)
        return delivery

    async def replay_delivery(self, principal: Principal, delivery_id: str) -> dict[str, Any]:
        delivery = await self.delivery(principal, delivery_id)
        if delivery.subscription_id is not None:
            await self._active(principal, delivery.subscription_id)
        count = await self._deliveries.replay_one(delivery_id, self._clock.now())
        self._on_replayed()
        return {"replayed": count}

    async def replay_since(
        self, principal: Principal, sub_id: str, since: datetime
    ) -> dict[str, Any]:
        await self._active(principal, sub_id)
        count = await self._deliveries.replay_since(sub_id, since, self._clock.now())
        self._on_replayed()
        return {"replayed": count}

    async def _active(self, principal: Principal, sub_id: str) -> None:
        _, sub = await self._readable(principal, sub_id)
        if sub.status != "active":
            raise SubscriptionConflict(f"the subscription is {sub.status}; resume it first")
