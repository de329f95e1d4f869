"""Running notify: slow receivers, subscriptions that fail for good, replays, metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.app import create_app
from services.notify.tests.samples import preselected
from shared.topics import NOTIFY_SUBSCRIPTION
from tests.integration.test_notify_webhooks import (
    deliveries_of,
    settings,
    subscribe,
    webhook_receiver,
)
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_slow_receiver_does_not_hold_up_the_others(isolation: Isolation) -> None:
    call = uuid.uuid4().hex
    app = create_app(
        settings(isolation, notify_request_timeout_seconds=2.0, notify_max_concurrent_deliveries=2)
    )
    async with (
        webhook_receiver(delay=4.0) as slow,
        webhook_receiver() as fast,
        serve(app) as client,
    ):
        await subscribe(client, slow.url, call, "integrator")
        await subscribe(client, fast.url, call, "state")
        await publish_event(isolation, preselected(call, "minalogic"), key="d-slow")
        await eventually(lambda: slow.arrivals and fast.arrivals, interval=0.02)

    fast_after = fast.arrivals[0] - slow.arrivals[0]
    assert fast_after < 1.0, f"the fast receiver waited {fast_after:.2f}s after the slow one"


async def test_a_subscription_refused_for_good_is_disabled_with_an_event(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    app = create_app(
        settings(
            isolation,
            notify_disable_after_final_failures=2,
            metrics_refresh_seconds=0.2,
        )
    )
    async with webhook_receiver(410, 410, 410) as receiver, serve(app) as client:
        sub = await subscribe(client, receiver.url, call, "integrator")
        for _ in range(2):
            await publish_event(isolation, preselected(call, "minalogic"), key="d-gone")
        events = await read_events(
            isolation,
            NOTIFY_SUBSCRIPTION.name,
            lambda evs: any(e.type == "notify.subscription.disabled.v1" for e in evs),
        )
        path = f"/subscriptions/{sub['id']}"
        disabled = await client.get(path, headers=auth("integrator"))

        async def gauge() -> bool:
            return "poles_subscriptions_disabled 1.0" in (await client.get("/metrics")).text

        await eventually(gauge)
        metrics = (await client.get("/metrics")).text
        resumed = await client.post(f"{path}/resume", headers=auth("integrator"))

    [event] = [e for e in events if e.type == "notify.subscription.disabled.v1"]
    assert event.data["subscription_id"] == sub["id"]
    assert event.data["final_failures_in_row"] == 2
    assert disabled.json()["status"] == "disabled"
    assert 'poles_notifications_total{channel="webhook",status="failed"} 2.0' in metrics
    assert resumed.json()["status"] == "active"
    assert len(receiver.requests) == 2


async def test_a_delivery_and_everything_since_an_instant_can_be_replayed(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    since = datetime.now(UTC) - timedelta(seconds=1)
    async with webhook_receiver() as receiver, serve(create_app(settings(isolation))) as client:
        sub = await subscribe(client, receiver.url, call, "integrator")
        for key in ("d-r1", "d-r2"):
            await publish_event(isolation, preselected(call, "minalogic"), key=key)
        await eventually(lambda: len(receiver.requests) == 2)
        first = (await deliveries_of(client, sub, "integrator"))[-1]

        one = await client.post(f"/deliveries/{first['id']}/replay", headers=auth("integrator"))
        await eventually(lambda: len(receiver.requests) == 3)
        body = {"since": since.isoformat()}
        path = f"/subscriptions/{sub['id']}/replay"
        everything = await client.post(path, json=body, headers=auth("integrator"))
        await eventually(lambda: len(receiver.requests) == 5)
        stranger = await client.post(
            f"/deliveries/{first['id']}/replay", headers=auth("state", subject="dgcis")
        )

    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert one.json() == {"replayed": 1}
    assert ids[2] == first["id"]
    assert everything.json() == {"replayed": 2}
    assert sorted(ids[3:]) == sorted(ids[:2])
    assert stranger.status_code == 404
