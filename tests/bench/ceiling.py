"""The ceiling: what raw aiokafka does on this broker with nothing else in the way.

A consumer reads batches from one topic and a producer re-publishes each message to another
(acks=all, idempotent, as the platform's producers), one commit per batch; 1 KB messages.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.kafka_access import KafkaAccess

SOURCE, SINK = "bench.ceiling.in", "bench.ceiling.out"
PARTITIONS = 6
MESSAGE_BYTES = 1024


@dataclass(frozen=True)
class Ceiling:
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


async def measure(kafka: KafkaAccess, messages: int = 60_000, max_seconds: float = 15.0) -> Ceiling:
    await _create_topics(kafka)
    await _fill(kafka, messages)
    consumer = AIOKafkaConsumer(
        SOURCE,
        **kafka.options(),
        group_id="bench-ceiling",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(**kafka.options(), acks="all", enable_idempotence=True, linger_ms=1)
    await consumer.start()
    await producer.start()
    relayed, started = 0, 0.0
    try:
        deadline = time.monotonic() + max_seconds + 15  # room to join the group
        while relayed < messages and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            records = [record for batch in batches.values() for record in batch]
            if not records:
                continue
            if not started:
                started = time.perf_counter()
                deadline = time.monotonic() + max_seconds
            acks = [await producer.send(SINK, r.value, key=r.key) for r in records]
            await asyncio.gather(*acks)
            await consumer.commit()
            relayed += len(records)
        return Ceiling(relayed, time.perf_counter() - started if started else 0.0)
    finally:
        await consumer.stop()
        await producer.stop()


async def _create_topics(kafka: KafkaAccess) -> None:
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(name, PARTITIONS, 1) for name in (SOURCE, SINK) if name not in existing]
        if wanted:
            await admin.create_topics(wanted)
    finally:
        await admin.close()


async def _fill(kafka: KafkaAccess, messages: int) -> None:
    producer = AIOKafkaProducer(**kafka.options(), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        payload = os.urandom(MESSAGE_BYTES)
        pending = []
        for index in range(messages):
            pending.append(await producer.send(SOURCE, payload, key=str(index).encode()))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
