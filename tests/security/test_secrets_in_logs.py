"""No secret reaches the logs. A run at DEBUG level that uses bearer tokens (valid, expired,
forged; on HTTP and on the Kafka command topic), a Mongo URL with a password, and a webhook
whose signing secret is made, rotated and used for deliveries that fail and are logged: none of
the tokens, the platform's signing key, the password or the webhook secrets appears in the JSON
logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import httpx
import orjson
import pytest

from services.calls.app import create_app as calls_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import IN_TIME, platform_call
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.auth import mint_token
from shared.clock import ManualClock
from shared.events.calls import DossierSelected
from shared.logs import JsonFormatter
from tests.support.infra import AUTH_SECRET, MONGO, Isolation, serve, token
from tests.support.kafka import eventually, publish_event, publish_raw

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

if "@" in MONGO:  # the test store has logins: root's, whose password is really checked
    MONGO_URL = MONGO
    MONGO_PASSWORD = unquote(urlsplit(MONGO).password or "")
else:
    MONGO_PASSWORD = "Mongo-pw-never-logged-7f3a"
    MONGO_URL = (
        MONGO.replace("mongodb://", f"mongodb://poles:{MONGO_PASSWORD}@") + "/?authMechanism=PLAIN"
    )
"""FerretDB takes PLAIN credentials on a test store without logins: the password is used."""
CLOSED_PORT = 9  # discard: nothing listens, so every delivery fails and is logged


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every log record from here on, formatted as the services' JSON lines (install it after
    the apps are built: building one replaces the root logger's handlers)."""
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(JsonFormatter("captured"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_no_secret_appears_in_the_logs(isolation: Isolation) -> None:
    state = token("state", subject="dge")
    operator = token("operator", subject="ops")
    expired = mint_token(AUTH_SECRET, "late", ["state"], ttl_seconds=-60)
    forged = mint_token("another-secret-that-is-long-enough", "forger", ["state"])
    secrets_used = [MONGO_PASSWORD, AUTH_SECRET, state, operator, expired, forged]
    common = {"mongo_url": MONGO_URL, "log_level": "DEBUG"}
    calls = calls_app(isolation.settings(CallsSettings, **common), clock=ManualClock(IN_TIME))
    notify = notify_app(
        isolation.settings(
            NotifySettings,
            **common,
            notify_allow_private_targets=True,
            notify_dispatch_poll_seconds=0.2,
            notify_retry_delays_seconds=[0.2, 0.2],
        )
    )
    with captured_logs() as logs:
        async with serve(calls) as calls_client, serve(notify) as notify_client:
            await calls_client.post("/calls", json=platform_call(), headers=bearer(state))
            for untrusted in (expired, forged):
                refused = await calls_client.get("/calls", headers=bearer(untrusted))
                assert refused.status_code == 401
            commands = isolation.topic_prefix + "calls.command"
            on_kafka = [("authorization", f"Bearer {state}".encode())]
            await publish_raw(commands, b"not json", None, on_kafka)
            await publish_raw(commands, orjson.dumps({"command_id": "c-1"}), None, on_kafka)
            secrets_used += await failing_webhook(isolation, notify_client, bearer(operator))

    written = logs.getvalue()
    assert written.count("\n") > 10, "the run logged next to nothing: the test proves nothing"
    leaked = [secret[:12] + "..." for secret in secrets_used if secret in written]
    assert not leaked, f"secrets in the logs: {leaked}"


async def failing_webhook(
    isolation: Isolation, client: httpx.AsyncClient, headers: dict[str, str]
) -> list[str]:
    """A webhook to a closed port, its secret rotated, and an event it fails to deliver (the
    failures are logged); returns the two secrets."""
    created = await client.post(
        "/subscriptions",
        json={
            "channel": "webhook",
            "target": f"http://127.0.0.1:{CLOSED_PORT}/hook",
            "event_types": ["calls.dossier.*"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    sub_id = created.json()["id"]
    rotated = await client.post(f"/subscriptions/{sub_id}/rotate-secret", headers=headers)
    await publish_event(isolation, selected(), key="d-logs")

    async def failed_attempts() -> bool:
        answer = await client.get(f"/subscriptions/{sub_id}/deliveries", headers=headers)
        return any(delivery.get("attempts") for delivery in answer.json())

    await eventually(failed_attempts, seconds=15)
    return [created.json()["secret"], rotated.json()["secret"]]


def selected() -> DossierSelected:
    return DossierSelected(
        dossier_id="d-logs",
        call_id="PF-2008",
        call_kind="innovation-platforms",
        pole_id="aerospace-valley",
        region_codes=["73"],
        platform_name="Plate-forme",
        decided_at=datetime(2009, 6, 15, 10, 0, tzinfo=UTC),
        decision_year=2009,
        state_grant_cents=100_000_000,
        requested_total_cents=100_000_000,
    )
