"""A subscription rebuilt from its events: at each instant it equals the live view then, on the
fields the events carry (never a secret); each change names who made it."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from services.notify.asof import SubscriptionAsOf, evolve_subscription
from services.notify.domain import subscription as decide
from services.notify.handlers import NewSubscription
from services.notify.tests.world import NOW, World
from shared.asof import history, state_at
from shared.auth import Principal
from shared.cloudevents import CloudEvent
from shared.events.base import new_outbox_entry

POLE = Principal("minalogic-si", frozenset({"pole:minalogic"}))
OPERATOR = Principal("ops", frozenset({"operator"}))
HOOK = NewSubscription(
    "webhook",
    "https://8.8.8.8/hooks",
    ["calls.dossier.*"],
    {"pole_id": "minalogic"},
    since=NOW - timedelta(days=3),
)


def live_part(rebuilt: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The live view's fields the rebuilt one has (of the backfill's, its since)."""
    assert set(rebuilt) <= set(live), set(rebuilt) - set(live)
    part = {name: live[name] for name in rebuilt}
    if "backfill" in rebuilt:
        part["backfill"] = {"since": live["backfill"]["since"]}
    return part


def view_at(log: list[CloudEvent], at: Any) -> dict[str, Any]:
    found = state_at(log, evolve_subscription, at)
    assert found is not None, at
    return found.model_dump(mode="json", exclude_none=True)


async def test_a_subscription_at_each_instant_is_the_live_view_then() -> None:
    world = World()
    commands = world.commands()
    sub_id = (await commands.create(POLE, HOOK, None))["id"]
    seen = [(world.clock.now(), await commands.get(POLE, sub_id))]
    for act in (
        partial(commands.pause, OPERATOR),
        partial(commands.resume, POLE),
        partial(commands.rotate_secret, POLE),
    ):
        world.clock.advance(timedelta(hours=1))
        await act(sub_id, None)
        seen.append((world.clock.now(), await commands.get(POLE, sub_id)))
    world.clock.advance(timedelta(hours=1))
    await commands.delete(OPERATOR, sub_id, None)
    log = [entry.cloud_event() for entry in world.subscription_store.published]

    assert state_at(log, evolve_subscription, NOW - timedelta(milliseconds=1)) is None
    for (instant, live), (later, _) in zip(seen, [*seen[1:], (world.clock.now(), {})], strict=True):
        for at in (instant, later - timedelta(milliseconds=1)):
            rebuilt = view_at(log, at)
            assert rebuilt == live_part(rebuilt, live), at
            assert "secret" not in rebuilt
    statuses = [view_at(log, at)["status"] for at, _ in seen]
    assert statuses == ["active", "paused", "active", "active"]
    assert view_at(log, world.clock.now())["status"] == "deleted"
    changes = history(log)
    assert [change.who for change in changes] == [
        "minalogic-si",
        "ops",
        *["minalogic-si"] * 2,
        "ops",
    ]
    assert [change.type.split(".")[2] for change in changes] == [
        "created",
        "paused",
        "resumed",
        "secret-rotated",
        "deleted",
    ]
    assert "whsec_" not in str([event.data for event in log])


def test_a_disabling_is_notify_s_own_change_and_a_resume_makes_it_active_again() -> None:
    created = decide.create("s-1", POLE, "email", "veille@minalogic.example", ["*"], {}, NOW)
    policy = decide.FailurePolicy(failing_for=timedelta(hours=1), final_failures_in_row=1)
    disabled = decide.record_failure(created.state, NOW + timedelta(hours=2), True, policy)
    assert disabled is not None
    resumed = decide.resume(disabled.state, NOW + timedelta(hours=3), by=POLE.subject)
    decisions = [(created, 0), (disabled, 2), (resumed, 3)]
    log = [
        new_outbox_entry(
            decision.events[0], source="/poles/notify", key="s-1", time=NOW + timedelta(hours=h)
        ).cloud_event()
        for decision, h in decisions
    ]
    statuses = [view_at(log, NOW + timedelta(hours=h))["status"] for _, h in decisions]
    assert statuses == ["active", "disabled", "active"]
    assert [change.who for change in history(log)] == [
        "minalogic-si",
        "/poles/notify",
        "minalogic-si",
    ]
    email = state_at(log, evolve_subscription, NOW)
    assert isinstance(email, SubscriptionAsOf)
    assert email.backfill is None
    assert "backfill" not in view_at(log, NOW)
