"""Store command metrics on the real store: a service's /metrics counts the commands a request
caused, and a command the store refuses is counted as failed."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pymongo.errors import OperationFailure

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import platform_call
from shared.store import create_mongo_client
from shared.store_metrics import StoreCommandMetrics, StoreTotals, store_totals
from tests.support.infra import MONGO, Isolation, auth, serve, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

QUIET = {
    # Background jobs that ask the store on their own, slowed down so that what a request
    # causes can be counted alone.
    "relay_poll_seconds": 300,
    "metrics_refresh_seconds": 300,
    "calls_close_check_seconds": 300,
}


async def totals(client: httpx.AsyncClient) -> StoreTotals:
    return store_totals((await client.get("/metrics")).text)


async def settled(client: httpx.AsyncClient) -> StoreTotals:
    """The totals once the service stopped asking the store by itself (start-up passes done)."""
    previous = await totals(client)
    for _ in range(50):
        await asyncio.sleep(0.2)
        current = await totals(client)
        if current == previous:
            return current
        previous = current
    raise AssertionError(f"the service kept asking its store: {previous}")


async def test_metrics_count_the_commands_a_request_caused(isolation: Isolation) -> None:
    settings = isolation.settings(CallsSettings, **QUIET)
    async with serve(create_app(settings)) as client:
        opened = await client.post("/calls", json=platform_call("PF-METRICS"), headers=auth("cdc"))
        assert opened.status_code == 201, opened.text
        before = await settled(client)

        read = await client.get("/calls/PF-METRICS", headers=auth("operator"))
        assert read.status_code == 200, read.text
        after_read = await totals(client)
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        after_ready = await totals(client)
        page = (await client.get("/metrics")).text

    caused = after_read - before
    assert caused.commands >= 1, caused
    assert set(caused.by_command) <= {"find", "aggregate", "getMore"}, caused
    assert caused.seconds > 0
    probe = after_ready - after_read
    assert probe.by_command.get("ping", 0) >= 1, probe
    line = 'poles_store_commands_total{command="find",outcome="succeeded",service="calls"}'
    assert line in page
    assert 'poles_store_command_duration_seconds_count{command="find",service="calls"}' in page
    for skipped in ("hello", "isMaster", "ismaster", "saslStart", "endSessions"):
        assert f'command="{skipped}"' not in page


async def test_a_command_the_store_refuses_is_counted_as_failed() -> None:
    registry = CollectorRegistry()
    client = create_mongo_client(MONGO, "metrics-test", [StoreCommandMetrics("probe", registry)])
    try:
        db = client.get_database(unique("t_metrics_"))
        await db.command("ping")
        with pytest.raises(OperationFailure):
            await db.command("noSuchCommandAnywhere")
    finally:
        await client.close()

    def count(command: str, outcome: str) -> float | None:
        labels = {"service": "probe", "command": command, "outcome": outcome}
        return registry.get_sample_value("poles_store_commands_total", labels)

    assert count("ping", "succeeded") == 1
    assert count("noSuchCommandAnywhere", "failed") == 1
    assert count("hello", "succeeded") is None
