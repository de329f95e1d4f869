"""HTTP routes of notify (thin): authenticate, validate the body, call a handler. A refusal is a
``shared.errors.DomainError``, answered by the kernel (``shared.http``) with its status."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.notify.asof import evolve_subscription
from services.notify.handlers import NewSubscription, SubscriptionCommands, delivery_view
from shared.asof import At, Change, TopicLog, history, require_state_at
from shared.auth import Principal
from shared.decision import Answer
from shared.topics import NOTIFY_SUBSCRIPTION

Command = Callable[[Principal, str, str | None], Awaitable[Answer]]
"""A command on one subscription: (caller, subscription id, idempotency key) -> answer."""


class SubscriptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["webhook", "email"]
    target: str = Field(min_length=3, max_length=2000, description="webhook URL or e-mail address")
    event_types: list[Annotated[str, Field(max_length=200)]] = Field(
        min_length=1,
        max_length=50,
        description="exact types, prefixes such as 'calls.dossier.' or 'calls.dossier.*', or '*'",
    )
    filters: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict,
        max_length=20,
        description="top-level event fields: equal, or contained in a list field",
    )
    since: AwareDatetime | None = Field(
        default=None,
        description="backfill: an ISO 8601 instant with its offset (2009-01-05T09:00:00Z or "
        "2009-01-05T10:00:00+01:00; without one, 422), from 1970 to now (else 422 invalid). The "
        "subscription first receives, in order, every matching event the topics still hold "
        "that was published at or after it (the record's time on the topic), each as one "
        "delivery with the id and signature a live one has (a retry keeps its webhook-id), "
        "then the live ones. Absent: live only.",
        examples=["2009-01-05T09:00:00Z"],
    )


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime


def subscriptions_router(
    commands: SubscriptionCommands,
    authenticated: Callable[[Request], Principal],
    log: TopicLog,
) -> APIRouter:
    router = APIRouter(tags=["subscriptions"])
    Caller = Annotated[Principal, Depends(authenticated)]
    Key = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

    @router.post("/subscriptions", status_code=status.HTTP_201_CREATED)
    async def create(body: SubscriptionBody, caller: Caller, key: Key = None) -> Answer:
        """Subscribe a webhook or an e-mail address to events; the answer holds the signing
        secret (shown once; rotate it to get a new one). With ``since``, the past events first
        (a backfill; ``backfill`` in the answer and in GET shows its progress)."""
        request = NewSubscription(
            body.channel, body.target, body.event_types, body.filters, body.since
        )
        return await commands.create(caller, request, key)

    @router.get("/subscriptions")
    async def listed(caller: Caller) -> list[Answer]:
        """Your subscriptions (an operator's: everyone's)."""
        return await commands.listed(caller)

    @router.get("/subscriptions/{subscription_id}")
    async def get(subscription_id: str, caller: Caller, at: At = None) -> Answer:
        """The subscription; with a backfill, its progress: ``backfill: {since, state
        ("running" or "done"), found (matching events so far), done, done_at}``.

        With ``at``, as it stood then, rebuilt from its events on notify.subscription: only the
        fields they carry (``services.notify.asof``: no secret, no failing_since nor
        final_failures_in_row, of the backfill its since only). Its owner and operators read a
        deleted subscription's past this way (status "deleted" from its deletion on)."""
        if at is None:
            return await commands.get(caller, subscription_id)
        await commands.owned(caller, subscription_id)
        events = await log.events(NOTIFY_SUBSCRIPTION, subscription_id)
        found = require_state_at(events, evolve_subscription, at, f"subscription {subscription_id}")
        return found.model_dump(mode="json", exclude_none=True)

    @router.get("/subscriptions/{subscription_id}/changes", response_model=list[Change])
    async def changes(subscription_id: str, caller: Caller, at: At = None) -> Any:
        """Every event of the subscription (up to ``at``), read from its topic, once each, in
        order, with who made it (its owner or an operator; notify itself when it disabled it)."""
        await commands.owned(caller, subscription_id)
        return history(await log.events(NOTIFY_SUBSCRIPTION, subscription_id), at)

    def acting(command: Command, doc: str | None = None) -> Callable[..., Awaitable[Answer]]:
        async def act(subscription_id: str, caller: Caller, key: Key = None) -> Answer:
            return await command(caller, subscription_id, key)

        act.__doc__ = doc
        return act

    one = "/subscriptions/{subscription_id}"
    for method, path, name, command, doc in [
        ("POST", f"{one}/pause", "pause", commands.pause, None),
        ("POST", f"{one}/resume", "resume", commands.resume, None),
        ("DELETE", one, "delete", commands.delete, None),
        (
            "POST",
            f"{one}/rotate-secret",
            "rotate_secret",
            commands.rotate_secret,
            "A new signing secret; the previous one stays valid for a while (both sign).",
        ),
    ]:
        router.add_api_route(path, acting(command, doc), methods=[method], name=name)

    @router.get("/subscriptions/{subscription_id}/deliveries")
    async def deliveries(subscription_id: str, caller: Caller) -> list[Answer]:
        """The latest deliveries, each with its log of attempts."""
        return await commands.deliveries(caller, subscription_id)

    @router.post("/subscriptions/{subscription_id}/replay")
    async def replay_since(subscription_id: str, body: ReplayBody, caller: Caller) -> Answer:
        """Send again everything the subscription matched since an instant."""
        return await commands.replay_since(caller, subscription_id, body.since)

    @router.get("/deliveries/{delivery_id}", tags=["deliveries"])
    async def delivery(delivery_id: str, caller: Caller) -> Answer:
        return delivery_view(await commands.delivery(caller, delivery_id))

    @router.post("/deliveries/{delivery_id}/replay", tags=["deliveries"])
    async def replay(delivery_id: str, caller: Caller) -> Answer:
        """Send one delivery again, with the same webhook-id."""
        return await commands.replay_delivery(caller, delivery_id)

    return router
