"""Plain Kafka clients for tests and harnesses: publish a CloudEvent or raw bytes, read topics
from their beginning.

These talk to the real broker as any integrator's client would (logged in as the test broker's
admin unless told another login: the story and the chaos run pass their own broker's); they
share no code path with the services' own consumers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

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


class TopicReader:
    """Every partition of ``topics`` from its beginning, with a plain consumer (no group, nothing
    committed). Topics that do not exist are left out (``partitions`` says what was found), after
    waiting up to ``wait`` seconds for them. ``kafka``: the consumer's login and bootstrap
    (``KafkaAccess.options()``), the test broker's admin by default."""

    def __init__(
        self, topics: Iterable[str], kafka: Mapping[str, Any] | None = None, wait: float = 0.0
    ) -> None:
        self.topics = list(topics)
        self.partitions: list[TopicPartition] = []
        self._kafka = dict(kafka) if kafka is not None else kafka_admin().options()
        self._wait = wait
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> TopicReader:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        counts = await self._partition_counts()
        consumer = AIOKafkaConsumer(
            **self._kafka, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await consumer.start()
        self._consumer = consumer
        self.partitions = [
            TopicPartition(topic, p) for topic in self.topics for p in range(counts.get(topic, 0))
        ]
        if self.partitions:
            consumer.assign(self.partitions)
            await consumer.seek_to_beginning(*self.partitions)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _partition_counts(self) -> dict[str, int]:
        admin = AIOKafkaAdminClient(**self._kafka)
        await admin.start()
        deadline = time.monotonic() + self._wait
        try:
            while True:
                existing = set(await admin.list_topics()) & set(self.topics)
                if existing == set(self.topics) or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.2)
            described = await admin.describe_topics(sorted(existing)) if existing else []
            return {d["topic"]: len(d["partitions"]) for d in described}
        finally:
            await admin.close()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        assert self._consumer is not None, "the reader is not started"
        return self._consumer

    async def poll(self, seconds: float = 0.5, max_records: int | None = None) -> list[Any]:
        """The next records, waiting up to ``seconds`` for some (each partition's in order)."""
        if not self.partitions:
            await asyncio.sleep(seconds)
            return []
        batch = await self.consumer.getmany(timeout_ms=int(seconds * 1000), max_records=max_records)
        return [record for records in batch.values() for record in records]

    async def caught_up(self) -> bool:
        """Whether every partition has been read to its end (as the broker says now)."""
        ends = await self.consumer.end_offsets(self.partitions) if self.partitions else {}
        for tp in self.partitions:
            if await self.consumer.position(tp) < ends[tp]:
                return False
        return True

    async def read_until(self, until: Callable[[list[Any]], bool], seconds: float) -> list[Any]:
        """Every record read until ``until(records)`` holds; fail after ``seconds``."""
        records: list[Any] = []
        deadline = time.monotonic() + seconds
        while not until(records):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{', '.join(self.topics)}: condition not met in {seconds}s; read {records!r}"
                )
            records.extend(await self.poll(min(remaining, 0.5)))
        return records

    async def read_to_end(self) -> list[Any]:
        """Every record the topics hold now (not those written while reading)."""
        ends = await self.consumer.end_offsets(self.partitions) if self.partitions else {}
        records: list[Any] = []
        pending = {tp for tp in self.partitions if ends[tp] > 0}
        while pending:
            batch = await self.consumer.getmany(*pending, timeout_ms=1000)
            for tp, found in batch.items():
                records.extend(r for r in found if r.offset < ends[tp])
            pending = {tp for tp in pending if await self.consumer.position(tp) < ends[tp]}
        return records


def cloud_event(record: Any) -> CloudEvent | None:
    """The record's CloudEvent; None for a record that is not one (a command, a dead letter's
    raw copy)."""
    try:
        return CloudEvent.from_kafka(record.headers or (), record.value)
    except ValueError:  # EnvelopeError, or data that is not a valid CloudEvent
        return None


async def read_topic(
    topic: str,
    until: Callable[[list[Any]], bool],
    seconds: float = 20.0,
    kafka: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Read ``topic`` from its beginning until ``until(records)`` holds; fail after ``seconds``."""
    async with TopicReader([topic], kafka, wait=seconds) as reader:
        return await reader.read_until(until, seconds)


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
