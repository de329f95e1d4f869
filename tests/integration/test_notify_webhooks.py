"""Notify's webhooks on the real broker and store, to a real HTTP receiver on loopback.

The receiver is a small Starlette app served by uvicorn in this process; it answers with the
statuses a test scripts and records every request as it came over the wire.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.tests.samples import financing_opened, funded, funding_refused, preselected
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event
from tests.support.loopback import loopback_socket, serving

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class Receiver:
    url: str
    answers: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    def event_ids(self) -> list[str]:
        return [orjson.loads(body)["id"] for _, body in self.requests]


@asynccontextmanager
async def webhook_receiver(*answers: int, delay: float = 0.0) -> AsyncIterator[Receiver]:
    """Answers the scripted statuses in turn, then 200, each after ``delay`` seconds."""
    sock = loopback_socket()
    receiver = Receiver(f"http://127.0.0.1:{sock.getsockname()[1]}/hook", list(answers))

    async def hook(request: Request) -> Response:
        receiver.requests.append((dict(request.headers), await request.body()))
        receiver.arrivals.append(time.monotonic())
        await asyncio.sleep(delay)
        return Response(status_code=receiver.answers.pop(0) if receiver.answers else 200)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with serving(app, sock):
        yield receiver


def settings(isolation: Isolation, **overrides: Any) -> NotifySettings:
    return isolation.settings(
        NotifySettings,
        notify_allow_private_targets=True,
        notify_retry_delays_seconds=[0.3, 0.3, 0.3],
        notify_retry_jitter=0.0,
        notify_dispatch_poll_seconds=0.1,
        **overrides,
    )


async def subscribe(
    client: httpx.AsyncClient, url: str, call_id: str, *roles: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "channel": "webhook",
        "target": url,
        "event_types": ["calls.dossier.*"],
        "filters": {"call_id": call_id},  # each test's own call: its events only
    }
    response = await client.post("/subscriptions", json=body, headers=auth(*roles, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def deliveries_of(
    client: httpx.AsyncClient, sub: dict[str, Any], *roles: str, **extra: Any
) -> list[dict[str, Any]]:
    path = f"/subscriptions/{sub['id']}/deliveries"
    response = await client.get(path, headers=auth(*roles, **extra))
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_a_receiver_that_fails_then_recovers_gets_one_delivery_with_one_webhook_id(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    app = create_app(settings(isolation))
    async with webhook_receiver(503, 500) as receiver, serve(app) as client:
        sub = await subscribe(client, receiver.url, call, "integrator")
        event = await publish_event(isolation, preselected(call, "minalogic"), key="d-1")

        async def delivered() -> list[Any]:
            found = await deliveries_of(client, sub, "integrator")
            return [d for d in found if d["status"] == "delivered"]

        [delivery] = await eventually(delivered)
        await asyncio.sleep(1.0)  # no late, doubled attempt

    assert receiver.event_ids() == [event.id] * 3
    assert {headers["webhook-id"] for headers, _ in receiver.requests} == {delivery["id"]}
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 500, 200]
    assert [a["outcome"] for a in delivery["attempts"]] == ["retry", "retry", "delivered"]
    assert all(a["latency_seconds"] >= 0 for a in delivery["attempts"])


async def test_an_event_published_twice_is_delivered_once(isolation: Isolation) -> None:
    call = uuid.uuid4().hex
    async with webhook_receiver() as receiver, serve(create_app(settings(isolation))) as client:
        sub = await subscribe(client, receiver.url, call, "integrator")
        twice = str(uuid.uuid4())
        data = preselected(call, "minalogic")
        await publish_event(isolation, data, key="d-2", event_id=twice)
        await publish_event(isolation, data, key="d-2", event_id=twice)
        marker = await publish_event(isolation, preselected(call, "minalogic"), key="d-2")
        await eventually(lambda: marker.id in receiver.event_ids())
        listed = await deliveries_of(client, sub, "integrator")

    assert sorted(receiver.event_ids()) == sorted([twice, marker.id])
    assert len(listed) == 2


async def test_the_signature_verifies_with_the_standard_webhooks_library_across_a_rotation(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    async with webhook_receiver() as receiver, serve(create_app(settings(isolation))) as client:
        sub = await subscribe(client, receiver.url, call, "integrator")
        path = f"/subscriptions/{sub['id']}/rotate-secret"
        rotated = await client.post(path, headers=auth("integrator"))
        event = await publish_event(isolation, preselected(call, "minalogic"), key="d-3")
        await eventually(lambda: receiver.requests)

    headers, body = receiver.requests[0]
    assert rotated.json()["secret"] != sub["secret"]
    for secret in (sub["secret"], rotated.json()["secret"]):
        assert Webhook(secret).verify(body, headers)["id"] == event.id
    assert orjson.loads(body)["specversion"] == "1.0"
    assert orjson.loads(body)["data"]["call_id"] == call
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)


async def test_a_poles_subscription_never_receives_another_poles_events(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    async with (
        webhook_receiver() as pole_receiver,
        webhook_receiver() as state_receiver,
        serve(create_app(settings(isolation))) as client,
    ):
        pole = await subscribe(
            client, pole_receiver.url, call, "pole:minalogic", subject="minalogic-si"
        )
        await subscribe(client, state_receiver.url, call, "state", subject="dgcis")
        other = await publish_event(isolation, preselected(call, "cap-digital"), key="d-4")
        led = await publish_event(isolation, preselected(call, "minalogic"), key="d-5")
        partner = await publish_event(
            isolation, preselected(call, "tenerrdis", ("minalogic",)), key="d-6"
        )
        everything = {other.id, led.id, partner.id}
        await eventually(lambda: set(state_receiver.event_ids()) == everything)
        await eventually(lambda: len(pole_receiver.event_ids()) == 2)
        recorded = await deliveries_of(client, pole, "pole:minalogic", subject="minalogic-si")

    assert sorted(pole_receiver.event_ids()) == sorted([led.id, partner.id])
    assert sorted(d["event_id"] for d in recorded) == sorted([led.id, partner.id])


async def test_the_moneys_events_reach_webhooks_and_a_financer_gets_those_naming_it(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    types = ["funding.financing.*", "calls.dossier.funded.v1", "calls.dossier.funding-refused.v1"]
    async with (
        webhook_receiver() as department,
        webhook_receiver() as state,
        serve(create_app(settings(isolation))) as client,
    ):
        for receiver, role in ((department, "department:31"), (state, "state")):
            body = {
                "channel": "webhook",
                "target": receiver.url,
                "event_types": types,
                "filters": {"call_id": call},
            }
            response = await client.post("/subscriptions", json=body, headers=auth(role))
            assert response.status_code == 201, response.text
        opened = await publish_event(
            isolation, financing_opened(call, "d-1", "state", "department:31"), key="d-1"
        )
        paid = await publish_event(
            isolation, funded(call, "d-1", "state", "department:31"), key="d-1"
        )
        other = await publish_event(isolation, funded(call, "d-2", "state", "region:73"), key="d-2")
        refused = await publish_event(isolation, funding_refused(call, "d-3", "feder"), key="d-3")
        everything = {opened.id, paid.id, other.id, refused.id}
        await eventually(lambda: set(state.event_ids()) == everything)
        await eventually(lambda: len(department.event_ids()) == 2)
        await asyncio.sleep(0.5)  # nothing else arrives

    assert sorted(department.event_ids()) == sorted([opened.id, paid.id])
    assert len(state.event_ids()) == len(everything)


async def test_webhooks_to_private_addresses_are_refused_unless_configured(
    isolation: Isolation,
) -> None:
    strict = isolation.settings(NotifySettings)
    async with serve(create_app(strict)) as client:
        for url in ("http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "http://[::1]/hook"):
            body = {"channel": "webhook", "target": url, "event_types": ["*"]}
            refused = await client.post("/subscriptions", json=body, headers=auth("integrator"))
            assert refused.status_code == 422, url
            assert refused.json()["detail"][0]["loc"] == ["body", "target"]
        listed = await client.get("/subscriptions", headers=auth("integrator"))
    assert listed.json() == []


async def test_subscriptions_belong_to_their_owner_and_operators_see_all(
    isolation: Isolation,
) -> None:
    async with serve(create_app(settings(isolation))) as client:
        mine = await subscribe(client, "http://127.0.0.1:9/h", "c", "pole:minalogic", subject="a")
        path = f"/subscriptions/{mine['id']}"
        stranger = await client.get(path, headers=auth("pole:cap-digital", subject="b"))
        meddler = await client.post(f"{path}/pause", headers=auth("integrator", subject="b"))
        operator = await client.get(path, headers=auth("operator", subject="ops"))
        key = {"Idempotency-Key": "pause-1"}
        owner = auth("pole:minalogic", subject="a")
        paused = await client.post(f"{path}/pause", headers={**owner, **key})
        again = await client.post(f"{path}/pause", headers={**owner, **key})
        conflict = await client.post(f"{path}/pause", headers=owner)
        listed = await client.get("/subscriptions", headers=auth("operator", subject="ops"))
        unauthenticated = await client.get("/subscriptions")

    assert (stranger.status_code, meddler.status_code, operator.status_code) == (404, 404, 200)
    assert paused.status_code == again.status_code == 200
    assert paused.json() == again.json()
    assert paused.json()["status"] == "paused"
    assert "secret" not in paused.json()
    assert conflict.status_code == 409
    assert [s["id"] for s in listed.json()] == [mine["id"]]
    assert unauthenticated.status_code == 401


async def test_deliveries_and_their_retries_go_out_without_waiting_for_the_dispatchers_poll(
    isolation: Isolation,
) -> None:
    """The recorder tells the dispatcher which deliveries it recorded, and the dispatcher keeps
    the retries it scheduled; its search of the store, an hour away here, is for what nobody
    told it about."""
    hourly = isolation.settings(
        NotifySettings,
        notify_allow_private_targets=True,
        notify_retry_delays_seconds=[0.3, 0.3],
        notify_retry_jitter=0.0,
        notify_dispatch_poll_seconds=3600,
    )
    call = uuid.uuid4().hex
    async with webhook_receiver(503) as receiver, serve(create_app(hourly)) as client:
        await subscribe(client, receiver.url, call, "integrator")
        event = await publish_event(isolation, preselected(call, "minalogic"), key="d-told")
        await eventually(lambda: receiver.event_ids() == [event.id] * 2)
