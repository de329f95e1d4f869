"""notify, with its backfiller among its background jobs, started and stopped ten times in a row
on the real broker and store, each time while backfills run: each stop ends within a few seconds.

Before, a notify app's stop hung now and then (the lifespan's gather waiting for ever on the
dispatcher and the backfiller, both "cancelling": a callee had swallowed the cancellation). The
turns stop notify at different moments of a backfill: just after the subscription was posted
(the reader starting), while a backfilled webhook is in flight at a slow receiver, and a moment
later. The subscriptions stay in one store: the next start resumes their backfills. A last start
runs them all to the end: every past event reached every subscription (nothing lost)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.app import create_app
from services.notify.domain.delivery import delivery_id
from services.notify.settings import NotifySettings
from services.notify.tests.samples import preselected
from tests.integration.test_notify_webhooks import Receiver, settings, webhook_receiver
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TURNS = 10
STOPS_WITHIN_SECONDS = 5.0
TURN_WITHIN_SECONDS = 120.0
"""A turn that has not ended by then hung (its start is bounded by serve's own 60 s)."""
PAST_EVENTS = 4


async def one_turn(
    notify: NotifySettings, receiver: Receiver, turn: int, body: dict[str, Any]
) -> tuple[str, float]:
    """Start notify, post a backfilled subscription, stop at this turn's moment; return the
    subscription's id and how long the stop took."""
    async with serve(create_app(notify)) as client:
        before = len(receiver.requests)
        response = await client.post("/subscriptions", json=body, headers=auth("integrator"))
        assert response.status_code == 201, response.text
        if turn % 3 == 1:  # a backfilled webhook in flight at the slow receiver
            await eventually(lambda: len(receiver.requests) > before, seconds=30, interval=0.02)
        elif turn % 3 == 2:
            await asyncio.sleep(0.3)
        asked = time.monotonic()
    return response.json()["id"], time.monotonic() - asked


async def test_notify_starts_and_stops_ten_times_while_backfilling_each_stop_within_seconds(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    since = datetime.now(UTC) - timedelta(seconds=1)
    past = [
        await publish_event(isolation, preselected(call, "minalogic"), key=f"d-{n}")
        for n in range(PAST_EVENTS)
    ]
    notify = settings(isolation, notify_backfill_poll_seconds=0.5)  # one store for every turn
    body = {
        "channel": "webhook",
        "event_types": ["calls.dossier.*"],
        "filters": {"call_id": call},
        "since": since.isoformat(),
    }
    subscriptions: list[str] = []
    stops: list[float] = []
    async with webhook_receiver(delay=0.5) as receiver:
        body["target"] = receiver.url
        for turn in range(TURNS):
            task = asyncio.create_task(one_turn(notify, receiver, turn, body))
            await asyncio.wait([task], timeout=TURN_WITHIN_SECONDS)  # not wait_for: it would
            assert task.done(), f"turn {turn}: notify did not stop (hung)"  # wait for a hang
            sub_id, stopped_in = task.result()
            subscriptions.append(sub_id)
            stops.append(stopped_in)

        async with serve(create_app(notify)) as client:  # the backfills resumed, to the end

            async def all_done() -> bool:
                for sub_id in subscriptions:
                    path = f"/subscriptions/{sub_id}"
                    answer = (await client.get(path, headers=auth("integrator"))).json()
                    assert "backfill" in answer, answer
                    if not answer["backfill"]["done"]:
                        return False
                    assert answer["backfill"]["found"] == PAST_EVENTS
                return True

            await eventually(all_done, seconds=90)

    print(f"stops (s): {', '.join(f'{s:.2f}' for s in stops)}")
    assert max(stops) < STOPS_WITHIN_SECONDS, stops
    delivered = {headers["webhook-id"] for headers, _ in receiver.requests}
    expected = {delivery_id(sub_id, event.id) for sub_id in subscriptions for event in past}
    assert expected <= delivered, f"{len(expected - delivered)} backfilled events never arrived"
