"""Webhook targets on the real broker and store: notify's API refuses addresses that are not
globally routable (RFC 6598 shared space, the cloud metadata address) with 422 and stores nothing;
with the operator's allowlist naming 127.0.0.0/8, and no all-or-nothing flag, a loopback receiver
gets its webhook, and /metrics shows the allowlist."""

from __future__ import annotations

import uuid

import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.tests.samples import preselected
from tests.integration.test_notify_webhooks import subscribe, webhook_receiver
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OWNER = auth("integrator", subject="integrator-ssrf")


@pytest.mark.parametrize(
    "target", ["http://100.64.0.1/x", "http://100.100.100.200/latest/meta-data/"]
)
async def test_shared_space_and_metadata_targets_are_refused(
    isolation: Isolation, target: str
) -> None:
    body = {"channel": "webhook", "target": target, "event_types": ["calls.dossier.*"]}
    async with serve(create_app(isolation.settings(NotifySettings))) as client:
        response = await client.post("/subscriptions", json=body, headers=OWNER)
        listed = await client.get("/subscriptions", headers=OWNER)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "target"]
    assert listed.json() == []


async def test_an_allowed_private_network_gets_its_webhook_and_is_shown_on_metrics(
    isolation: Isolation,
) -> None:
    call = uuid.uuid4().hex
    settings = isolation.settings(
        NotifySettings,
        notify_allowed_private_targets="127.0.0.0/8",
        notify_dispatch_poll_seconds=0.1,
    )
    assert not settings.notify_allow_private_targets
    async with webhook_receiver() as receiver, serve(create_app(settings)) as client:
        refused = await client.post(
            "/subscriptions",
            json={
                "channel": "webhook",
                "target": "http://10.0.0.1/x",
                "event_types": ["calls.dossier.*"],
            },
            headers=OWNER,
        )
        await subscribe(client, receiver.url, call, "integrator")
        event = await publish_event(isolation, preselected(call, "minalogic"), key="d-ssrf")
        await eventually(lambda: event.id in receiver.event_ids())
        metrics = (await client.get("/metrics")).text
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "target"]
    assert 'poles_notify_allowed_private_targets{target="127.0.0.0/8"} 1.0' in metrics
