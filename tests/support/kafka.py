"""Plain Kafka clients for tests: publish a CloudEvent or raw bytes, read a topic from the start.

These talk to the real broker as any integrator's client would (logged in as the test broker's
admin, to reach the tests' private topics); they share no code path with the services' own
consumers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.cloudevents import CloudEvent
from shared.events.base import EventData, new_outbox_entry
from tests.support.infra import Isolation, kafka_admin


async def publish_raw(
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(**kafka_admin().options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def publish_event(
    isolation: Isolation,
    data: EventData,
    *,
    key: str,
    source: str = "tests",
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Publish ``data`` on its topic (with the isolation's prefix) as a CloudEvent; return it."""
    entry = new_outbox_entry(data, source=source, key=key, time=time or datetime.now(UTC))
    if event_id is not None:
        entry = entry.model_copy(update={"id": event_id})
    event = entry.cloud_event()
    await publish_raw(
        isolation.topic_prefix + entry.topic,
        event.kafka_value(),
        key=key.encode(),
        headers=event.kafka_headers(),
    )
    return event


async def read_topic(
    topic: str,
    until: Callable[[list[Any]], bool],
    seconds: float = 20.0,
) -> list[Any]:
    """Read ``topic`` from its beginning until ``until(records)`` holds; fail after ``seconds``."""
    consumer = AIOKafkaConsumer(
        topic, **kafka_admin().options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + seconds
    try:
        while not until(records):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{topic}: condition not met in {seconds}s; read {records!r}")
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for partition_records in batch.values():
                records.extend(partition_records)
        return records
    finally:
        await consumer.stop()


async def read_events(
    isolation: Isolation,
    topic_name: str,
    until: Callable[[list[CloudEvent]], bool],
    seconds: float = 20.0,
) -> list[CloudEvent]:
    """Read a platform topic as CloudEvents until ``until(events)`` holds."""

    def events_of(records: list[Any]) -> list[CloudEvent]:
        return [CloudEvent.from_kafka(r.headers, r.value) for r in records]

    records = await read_topic(
        isolation.topic_prefix + topic_name, lambda rs: until(events_of(rs)), seconds
    )
    return events_of(records)


async def eventually(check: Callable[[], Any], seconds: float = 20.0, interval: float = 0.2) -> Any:
    """Await ``check()`` (sync or async) until it returns a truthy value; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not true after {seconds}s (last value: {last!r})")
