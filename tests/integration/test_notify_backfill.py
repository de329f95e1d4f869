"""A backfilled subscription on the real broker and store: events published before it was
created reach a real webhook receiver in order, each once, signed, then a live one after them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from standardwebhooks import Webhook

from services.notify.app import create_app
from services.notify.domain.delivery import delivery_id
from services.notify.tests.samples import preselected
from tests.integration.test_notify_webhooks import settings, webhook_receiver
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_subscription_since_an_instant_gets_the_past_events_in_order_then_live_ones(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    since = datetime.now(UTC) - timedelta(seconds=1)
    past = []
    for n in range(6):  # two partitions: different keys, event times in publication order
        past.append(await publish_event(isolation, preselected(call, "minalogic"), key=f"d-{n}"))
    await publish_event(isolation, preselected(uuid.uuid4().hex, "minalogic"), key="other")

    async with webhook_receiver() as receiver, serve(create_app(settings(isolation))) as client:
        body: dict[str, Any] = {
            "channel": "webhook",
            "target": receiver.url,
            "event_types": ["calls.dossier.*"],
            "filters": {"call_id": call},
            "since": since.isoformat(),
        }
        response = await client.post("/subscriptions", json=body, headers=auth("integrator"))
        assert response.status_code == 201, response.text
        sub = response.json()
        assert sub["backfill"]["state"] == "running"

        async def done() -> dict[str, Any] | None:
            path = f"/subscriptions/{sub['id']}"
            answer = (await client.get(path, headers=auth("integrator"))).json()
            return answer if answer["backfill"]["done"] else None

        finished = await eventually(done, seconds=30)
        assert finished["backfill"]["found"] == 6
        live = await publish_event(isolation, preselected(call, "minalogic"), key="d-live")
        await eventually(lambda: live.id in receiver.event_ids(), seconds=30)

    assert receiver.event_ids() == [e.id for e in [*past, live]]
    for (headers, raw), event in zip(receiver.requests, [*past, live], strict=True):
        assert Webhook(sub["secret"]).verify(raw, headers)["id"] == event.id
        assert headers["webhook-id"] == delivery_id(sub["id"], event.id)
        assert datetime.fromisoformat(orjson.loads(raw)["time"]) == event.time
