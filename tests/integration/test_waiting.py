"""A service that starts before its broker or its store (issue 17, Build 2), on real servers.

The broker: a private single-node Kafka (``deploy/local/kafka.sh`` under its own local dir and
ports; the shared test broker is never stopped) is started once to make its logins and the test
topics, then stopped (the broker "killed before the service starts"); calls starts, serves
``/health/live`` at once, says it waits for the broker, takes a command into its outbox; two
minutes later the broker comes back; calls becomes ready by itself and both commands' events
reach the topic. ``POLES_TEST_BROKER_AWAY_SECONDS`` shortens the two minutes for a quick look.

The store: a private FerretDB is started once to make its logins, then stopped; calls starts
with root's login on that port, where no FerretDB listens now, says it waits for the store and
refuses commands with 503 and ``Retry-After``; a private FerretDB (``deploy/local/ferretdb.sh``)
then starts on that port; calls becomes ready by itself and serves a command end to end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from typing import Any

import httpx
import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import platform_call
from shared.cloudevents import CloudEvent
from shared.kafka_access import local_access
from shared.topics import create_topics
from tests.support.infra import ROOT, Isolation, auth, serve, unique
from tests.support.kafka import read_events, read_topic
from tests.support.store_logins import store_url

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

AWAY_SECONDS = float(os.environ.get("POLES_TEST_BROKER_AWAY_SECONDS", "120"))
READY_WITHIN_SECONDS = 30.0
"""Once the server is back: the start retries at most every 10 s, then connects and subscribes."""
ANSWERS_WITHIN_SECONDS = 2.0
SCRIPT_SECONDS = 180.0
STATE = auth("state")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


class PrivateServer:
    """One of deploy/local's servers (``kafka`` or ``ferretdb``) under its own local dir."""

    def __init__(self, script: str, **ports: int) -> None:
        self.script = str(ROOT / "deploy" / "local" / f"{script}.sh")
        self.local_dir = ROOT / ".local" / unique(f"test-waiting-{script}-")
        self.env = {
            **os.environ,
            "POLES_LOCAL_DIR": str(self.local_dir),
            **{name: str(port) for name, port in ports.items()},
        }

    async def run(self, command: str) -> None:
        """``<script> command``, without blocking the event loop (the service runs in it)."""
        self.local_dir.mkdir(parents=True, exist_ok=True)
        process = await asyncio.create_subprocess_exec(
            self.script,
            command,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(SCRIPT_SECONDS):
            output, _ = await process.communicate()
        assert process.returncode == 0, f"{self.script} {command}: {output.decode()}"

    async def remove(self) -> None:
        """Stop it (by its pid file: the script's own stop) and delete its data."""
        try:
            await self.run("stop")
        finally:
            shutil.rmtree(self.local_dir, ignore_errors=True)


async def ready_answer(client: httpx.AsyncClient) -> httpx.Response:
    """``/health/ready``, which must answer quickly whatever is away."""
    async with asyncio.timeout(ANSWERS_WITHIN_SECONDS):
        return await client.get("/health/ready")


async def wait_for_ready(client: httpx.AsyncClient) -> float:
    """Seconds until /health/ready answers 200 (at most READY_WITHIN_SECONDS)."""
    began = time.monotonic()
    while (answer := await ready_answer(client)).status_code != 200:
        assert answer.json()["status"] in {"starting", "not ready"}, answer.text
        assert time.monotonic() - began < READY_WITHIN_SECONDS, answer.text
        await asyncio.sleep(0.5)
    return time.monotonic() - began


async def wait_until_waiting_for(client: httpx.AsyncClient, waiting_for: list[str]) -> None:
    deadline = time.monotonic() + 20
    while (answer := await ready_answer(client)).json().get("waiting_for") != waiting_for:
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.2)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"


def opened(events: list[CloudEvent], *call_ids: str) -> bool:
    return {e.subject for e in events if e.type == "calls.call.opened.v1"} >= set(call_ids)


async def test_a_service_started_while_the_broker_is_away_becomes_ready_when_it_comes_back(
    isolation: Isolation,
) -> None:
    kafka_port, controller_port = free_ports(2)
    broker = PrivateServer(
        "kafka",
        KAFKA_PORT=kafka_port,
        KAFKA_CONTROLLER_PORT=controller_port,
        KAFKA_BROKERS=1,
    )
    broker.env["KAFKA_HEAP_OPTS"] = "-Xms128m -Xmx384m"
    bootstrap = f"127.0.0.1:{kafka_port}"
    try:
        await broker.run("start")  # its logins, ACLs and our topics, then it goes away
        admin = local_access(bootstrap, "admin", broker.local_dir)
        assert admin.password is not None
        await create_topics(admin, prefix=isolation.topic_prefix, partitions=2)
        await broker.run("stop")

        settings = isolation.settings(
            CallsSettings,
            kafka_bootstrap=bootstrap,
            kafka_username="admin",
            kafka_password=admin.password.get_secret_value(),
        )
        entered = time.monotonic()
        async with serve(create_app(settings), started=False) as client:
            live = await client.get("/health/live")
            assert live.status_code == 200, live.text
            assert time.monotonic() - entered < ANSWERS_WITHIN_SECONDS
            await wait_until_waiting_for(client, ["broker"])
            # The store is up: a command is taken into the outbox, published once the broker is.
            while_away = await client.post("/calls", json=platform_call("PF-AWAY"), headers=STATE)
            assert while_away.status_code == 201, while_away.text

            away_until = time.monotonic() + AWAY_SECONDS
            while time.monotonic() < away_until:
                answer = await ready_answer(client)
                assert answer.status_code == 503, answer.text
                assert answer.json() == {"status": "starting", "waiting_for": ["broker"]}
                assert (await client.get("/health/live")).status_code == 200
                await asyncio.sleep(min(5.0, max(0.0, away_until - time.monotonic())))

            await broker.run("start")
            took = await wait_for_ready(client)
            print(f"ready {took:.1f} s after the broker was back")  # pytest -s shows it
            after = await client.post("/calls", json=platform_call("PF-BACK"), headers=STATE)
            assert after.status_code == 201, after.text
            records = await read_topic(
                isolation.topic_prefix + "calls.call",
                lambda rs: opened(events_of(rs), "PF-AWAY", "PF-BACK"),
                seconds=30,
                kafka=admin.options(),
            )
        assert opened(events_of(records), "PF-AWAY", "PF-BACK")
    finally:
        await broker.remove()


def events_of(records: list[Any]) -> list[CloudEvent]:
    return [CloudEvent.from_kafka(r.headers, r.value) for r in records]


async def test_a_service_started_while_the_store_is_away_becomes_ready_when_it_comes_back(
    isolation: Isolation,
) -> None:
    (store_port,) = free_ports(1)
    store = PrivateServer("ferretdb", FERRETDB_PORT=store_port)
    try:
        await store.run("start")  # makes its logins (as in compose), then it goes away
        await store.run("stop")
        root = store_url(f"127.0.0.1:{store_port}", store.local_dir)
        settings = isolation.settings(CallsSettings, mongo_url=root)
        async with serve(create_app(settings), started=False) as client:
            assert (await client.get("/health/live")).status_code == 200
            await wait_until_waiting_for(client, ["store"])
            refused = await client.post("/calls", json=platform_call("PF-STORE"), headers=STATE)
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "5"
            assert refused.json()["reason"] == "starting"
            assert "waits for store" in refused.json()["detail"]

            await store.run("start")
            await wait_for_ready(client)
            accepted = await client.post("/calls", json=platform_call("PF-STORE"), headers=STATE)
            assert accepted.status_code == 201, accepted.text
            events = await read_events(
                isolation, "calls.call", lambda evs: opened(evs, "PF-STORE"), seconds=30
            )
        assert opened(events, "PF-STORE")
    finally:
        await store.remove()
