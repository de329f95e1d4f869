"""The outbox and its relay on the real broker and store: an event saved by one service reaches
another service's subscriber; a relay killed between publishing and pulling republishes the same
event id, and the consumer applies it once."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from shared.consumer import EventHandlers
from shared.kafka import outbox_publisher
from shared.outbox import PENDING, OutboxRelay, RelayMetrics
from shared.service import build_runtime, create_service_app
from shared.store import AggregateStore, Document
from tests.integration.probe import Counted, ProbeSettings, applier, emit
from tests.support.commands import CommandLog
from tests.support.infra import MONGO, Isolation, kafka_admin, serve
from tests.support.kafka import eventually, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def receiver_app(
    isolation: Isolation, applied: list[str], duplicates: list[str] | None = None
) -> tuple[Any, AggregateStore]:
    runtime = build_runtime(isolation.settings(ProbeSettings, service="receiver"))
    store = AggregateStore(runtime.db["totals"])
    handlers = EventHandlers().on(Counted, applier(store, applied, duplicates))
    runtime.consume([Counted.topic], handlers)
    return create_service_app(runtime, title="receiver", description="probe"), store


async def test_an_event_saved_in_one_services_outbox_reaches_another_services_subscriber(
    isolation: Isolation,
) -> None:
    emitter = build_runtime(isolation.settings(ProbeSettings, service="emitter"))
    emitter_store = AggregateStore(emitter.db["counters"], on_events=emitter.wake_relay)
    emitter.outbox_relay(["counters"])
    applied: list[str] = []
    receiver, totals = receiver_app(isolation, applied)

    emitter_app = create_service_app(emitter, title="emitter", description="probe")
    async with serve(emitter_app), serve(receiver):
        event_id = await emit(emitter_store, "counter-1", by=3)
        await eventually(lambda: event_id in applied)
        loaded = await totals.load("counter-1")
        assert loaded is not None
        assert loaded.state == {"total": 3}
        pending = await emitter.db["counters"].find_one({"_id": "counter-1"})
        assert pending is not None
        assert pending["outbox"] == []


async def test_a_saved_event_is_published_at_once_not_at_the_relays_next_poll(
    isolation: Isolation,
) -> None:
    """The store tells the relay which document it saved; the relay's scan, an hour away here,
    is only for documents nobody told it about."""
    settings = isolation.settings(ProbeSettings, service="emitter", relay_poll_seconds=3600)
    emitter = build_runtime(settings)
    store = AggregateStore(emitter.db["counters"], on_events=emitter.wake_relay)
    emitter.outbox_relay(["counters"])
    async with serve(create_service_app(emitter, title="emitter", description="probe")):
        event_id = await emit(store, "counter-told")
        await read_topic(
            isolation.topic_prefix + Counted.topic.name,
            lambda rs: any(("ce_id", event_id.encode()) in r.headers for r in rs),
        )


async def test_published_events_carry_cloudevents_headers_that_kcat_reads(
    isolation: Isolation, tmp_path: Path
) -> None:
    kcat = shutil.which("kcat")
    assert kcat, "kcat (Debian package) is installed by `make test`; it is missing here"
    emitter = build_runtime(isolation.settings(ProbeSettings, service="emitter"))
    store = AggregateStore(emitter.db["counters"], on_events=emitter.wake_relay)
    emitter.outbox_relay(["counters"])
    async with serve(create_service_app(emitter, title="emitter", description="probe")):
        event_id = await emit(store, "counter-kcat")
        topic = isolation.topic_prefix + Counted.topic.name
        await read_topic(
            topic, lambda rs: any(("ce_id", event_id.encode()) in r.headers for r in rs)
        )

    config = tmp_path / "kcat.conf"  # the login, kept off kcat's command line
    config.write_text(kafka_admin().kcat_config())
    command = [kcat, "-F", str(config), "-C", "-t", topic, "-o", "beginning", "-e", "-q"]
    process = await asyncio.create_subprocess_exec(
        *command, "-f", "%k|%h|%s\n", stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    output = stdout.decode()
    line = next(line for line in output.splitlines() if event_id in line)
    key, headers, body = line.split("|", 2)
    assert key == "counter-kcat"
    assert f"ce_id={event_id}" in headers
    assert "ce_type=tests.probe.counted.v1" in headers
    assert "ce_specversion=1.0" in headers
    assert "ce_source=probe" in headers
    assert '"counter_id":"counter-kcat"' in body


async def test_a_relay_killed_between_publishing_and_pulling_republishes_and_it_is_applied_once(
    isolation: Isolation,
) -> None:
    emitter = build_runtime(isolation.settings(ProbeSettings, service="emitter"))
    collection = emitter.db["counters"]
    store = AggregateStore(collection)
    publish = outbox_publisher(emitter.broker, isolation.topic_prefix)
    published = asyncio.Event()

    async def publish_then_die(entry: Any) -> Any:
        await (await publish(entry))
        published.set()
        await asyncio.Event().wait()  # killed here: after the broker acked, before the pull

    lease = timedelta(seconds=1)
    dying = OutboxRelay([collection], publish_then_die, RelayMetrics(CollectorRegistry()), lease)
    survivor = OutboxRelay([collection], publish, RelayMetrics(CollectorRegistry()), lease)
    applied: list[str] = []
    duplicates: list[str] = []
    receiver, totals = receiver_app(isolation, applied, duplicates)

    await emitter.broker.start()
    try:
        async with serve(receiver):
            event_id = await emit(store, "counter-crash", by=5)
            killed = asyncio.create_task(dying.publish_waiting())
            await published.wait()
            killed.cancel()
            document = await collection.find_one({"_id": "counter-crash"})
            assert document is not None
            assert [entry["id"] for entry in document["outbox"]] == [event_id]

            found, free_in, more = await survivor.publish_waiting()
            assert (found, more) == (0, False), "the lease still holds"
            assert 0 < free_in <= lease.total_seconds(), "the survivor knows when it runs out"

            async def republished() -> int:
                return (await survivor.publish_waiting())[0]

            await eventually(republished, seconds=10)

            topic = isolation.topic_prefix + Counted.topic.name

            def copies(records: list[Any]) -> int:
                return sum(("ce_id", event_id.encode()) in r.headers for r in records)

            await read_topic(topic, lambda records: copies(records) == 2)
            await eventually(lambda: event_id in duplicates)  # the second copy reached it too
            loaded = await totals.load("counter-crash")
            assert loaded is not None
            assert loaded.state == {"total": 5}
            assert applied.count(event_id) == 1
    finally:
        await emitter.broker.stop()


async def test_a_steady_flow_nobody_told_the_relay_about_is_scanned_at_the_poll_not_at_once(
    isolation: Isolation,
) -> None:
    """Saves of another process (nobody tells this relay) are found by its scan. A scan that
    takes every waiting document is followed by the next at the poll, however steady the flow
    (each scan reads the whole collection on FerretDB: scanning again whenever one found
    something kept the store busy), and the flow is published all the same."""
    emitter = build_runtime(isolation.settings(ProbeSettings, service="emitter"))
    commands = CommandLog()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        MONGO, event_listeners=[commands], tz_aware=True
    )
    collection = client[emitter.db.name]["counters"]
    foreign = AggregateStore(emitter.db["counters"])  # nobody tells the relay
    publish = outbox_publisher(emitter.broker, isolation.topic_prefix)
    poll = 2.0
    relay = OutboxRelay(
        [collection], publish, RelayMetrics(CollectorRegistry()), poll_interval=poll
    )
    await emitter.broker.start()
    running = asyncio.create_task(relay.run())
    try:
        flow_seconds, every = 6.0, 0.1
        ids = []
        for number in range(int(flow_seconds / every)):
            ids.append(await emit(foreign, f"counter-flow-{number % 5}"))
            await asyncio.sleep(every)
        topic = isolation.topic_prefix + Counted.topic.name
        await read_topic(
            topic, lambda rs: set(ids) <= {dict(r.headers)["ce_id"].decode() for r in rs}
        )
        scans = [b for b in commands.bodies if b.get("find") and b.get("filter") == PENDING]
        # One at the start, one per poll during the flow, and the one that finds its last saves.
        assert len(scans) <= flow_seconds / poll + 2, len(scans)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await emitter.broker.stop()
        await client.close()
