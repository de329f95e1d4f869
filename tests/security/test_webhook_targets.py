"""A webhook may not point into our own network: notify's API refuses a target whose host is,
or resolves to, a private, loopback, link-local or mapped address (422 naming the target), and
stores nothing; with private targets allowed (a test setting) the same loopback target is
accepted."""

from __future__ import annotations

import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from tests.support.infra import Isolation, auth, serve

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PRIVATE_TARGETS = [
    "http://10.0.0.1/hook",
    "https://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://172.16.5.4/hook",
]
OWNER = auth("integrator", subject="integrator-1")


def subscription(target: str) -> dict[str, object]:
    return {"channel": "webhook", "target": target, "event_types": ["calls.dossier.*"]}


async def test_private_targets_are_refused_and_nothing_is_stored(isolation: Isolation) -> None:
    async with serve(create_app(isolation.settings(NotifySettings))) as client:
        for target in PRIVATE_TARGETS:
            response = await client.post("/subscriptions", json=subscription(target), headers=OWNER)
            assert response.status_code == 422, (target, response.text)
            assert response.json()["detail"][0]["loc"] == ["body", "target"]
        listed = await client.get("/subscriptions", headers=OWNER)
    assert listed.json() == []


async def test_a_loopback_target_is_accepted_when_private_targets_are_allowed(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(NotifySettings, notify_allow_private_targets=True)
    async with serve(create_app(settings)) as client:
        response = await client.post(
            "/subscriptions", json=subscription("http://127.0.0.1:8080/hook"), headers=OWNER
        )
    assert response.status_code == 201, response.text
