"""Subscription commands on in-memory parts: what is saved, what is published, who may see what,
and the replay rule that runs is the domain's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.notify.domain.backoff import Outcome
from services.notify.domain.delivery import Attempt, RetrySchedule, new_delivery, replayed
from services.notify.handlers import IDS, NewSubscription
from services.notify.store import NO_SUCH
from services.notify.tests.world import NOW, World
from shared.auth import Principal
from shared.cloudevents import CloudEvent
from shared.errors import Conflict, Invalid, NotFound

POLE = Principal("minalogic-si", frozenset({"pole:minalogic"}))
STRANGER = Principal("someone-else", frozenset({"pole:cap-digital"}))
OPERATOR = Principal("ops", frozenset({"operator"}))
EMAIL = NewSubscription("email", "veille@minalogic.example", ["calls.dossier.*"], {})
WEBHOOK = NewSubscription("webhook", "https://8.8.8.8/hooks", ["calls.dossier.*"], {})
EVENT = CloudEvent(id="e-1", type="calls.dossier.submitted.v1", source="c", time=NOW, data={})
SCHEDULE = RetrySchedule(delays=[5.0], jitter=0.0, max_retry_after=60.0)


async def test_a_subscription_is_saved_with_its_event_from_notify_and_answered_once() -> None:
    world = World()
    commands = world.commands()

    first = await commands.create(POLE, WEBHOOK, "k-1")
    again = await commands.create(POLE, WEBHOOK, "k-1")

    assert first == again
    assert first["id"] == str(uuid.uuid5(IDS, "cmd:minalogic-si:k-1"))  # as before the seam
    assert first["secret"].startswith("whsec_")
    [created] = world.subscription_store.published
    assert (created.type, created.source, created.key) == (
        "notify.subscription.created.v1",
        "/poles/notify",
        first["id"],
    )
    assert "whsec_" not in str(created.data)


async def test_a_private_webhook_is_refused_naming_the_target() -> None:
    private = NewSubscription("webhook", "http://10.0.0.1/h", ["*"], {})
    with pytest.raises(Invalid) as refused:
        await World().commands().create(POLE, private, None)
    assert refused.value.detail[0]["loc"] == ["body", "target"]


async def test_a_stranger_finds_nothing_and_an_operator_finds_everything() -> None:
    world = World()
    commands = world.commands()
    sub = await commands.create(POLE, EMAIL, None)

    for attempt in (
        commands.get(STRANGER, sub["id"]),
        commands.pause(STRANGER, sub["id"], None),
        commands.deliveries(STRANGER, sub["id"]),
        commands.pause(POLE, "nowhere", None),
    ):
        with pytest.raises(NotFound) as missing:
            await attempt
        assert missing.value.detail == NO_SUCH
    assert [s["id"] for s in await commands.listed(OPERATOR)] == [sub["id"]]
    assert await commands.listed(STRANGER) == []
    assert (await commands.pause(OPERATOR, sub["id"], None))["status"] == "paused"


async def test_the_lifecycle_is_kept_and_a_repeated_command_changes_nothing() -> None:
    world = World()
    commands = world.commands()
    sub = await commands.create(POLE, EMAIL, None)

    paused = await commands.pause(POLE, sub["id"], "p-1")
    assert await commands.pause(POLE, sub["id"], "p-1") == paused
    with pytest.raises(Conflict, match="only an active subscription can be paused"):
        await commands.pause(POLE, sub["id"], "p-2")
    with pytest.raises(Conflict, match="only a webhook subscription has a signing secret"):
        await commands.rotate_secret(POLE, sub["id"], None)
    deleted = await commands.delete(POLE, sub["id"], "d-1")
    assert await commands.delete(POLE, sub["id"], "d-1") == deleted
    with pytest.raises(NotFound):
        await commands.resume(POLE, sub["id"], None)
    assert world.subscription_store.published_types() == [
        "notify.subscription.created.v1",
        "notify.subscription.paused.v1",
        "notify.subscription.deleted.v1",
    ]


async def test_a_replay_saves_exactly_the_domains_replayed_delivery() -> None:
    world = World()
    commands = world.commands()
    sub = await commands.create(POLE, EMAIL, None)
    delivery = new_delivery(sub["id"], "email", EMAIL.target, EVENT, NOW, sub["id"], POLE.subject)
    await world.deliveries.record([delivery])
    final = Attempt(at=NOW, outcome=Outcome.FINAL, status_code=None, latency_seconds=0.1)
    failed = await world.deliveries.finish(await world.claimed(delivery.id), final, SCHEDULE, None)
    world.clock.advance(timedelta(hours=1))

    answer = await commands.replay_since(POLE, sub["id"], NOW)

    assert answer == {"replayed": 1}
    assert world.replays == 1
    assert world.delivery(delivery.id) == replayed(failed, world.clock.now()).state
    assert world.delivery(delivery.id).status == "pending"
    assert await commands.replay_delivery(POLE, delivery.id) == {"replayed": 1}
    with pytest.raises(NotFound):
        await commands.replay_delivery(STRANGER, delivery.id)
    await commands.pause(POLE, sub["id"], None)
    with pytest.raises(Conflict, match="the subscription is paused; resume it first"):
        await commands.replay_since(POLE, sub["id"], NOW)


async def test_a_delivery_that_gives_up_publishes_its_failure_from_notify() -> None:
    world = World()
    delivery = new_delivery("default:a@b.fr", "email", "a@b.fr", EVENT, NOW)
    assert await world.deliveries.record([delivery]) == [delivery.id]
    assert await world.deliveries.record([delivery]) == []
    final = Attempt(at=NOW, outcome=Outcome.FINAL, latency_seconds=0.1, error="550 no such user")

    done = await world.deliveries.finish(await world.claimed(delivery.id), final, SCHEDULE, None)

    assert done.status == "failed" == world.delivery(delivery.id).status
    [failure] = world.delivery_store.published
    assert (failure.type, failure.source, failure.key, failure.time) == (
        "notify.delivery.failed.v1",
        "/poles/notify",
        delivery.id,
        NOW,
    )
    assert failure.data["last_error"] == "550 no such user"
