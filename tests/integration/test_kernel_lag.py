"""A service's consumer lag gauge shows, per topic, what its group has not committed yet."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from shared.lag import ConsumerLag
from shared.topics import CALLS_CALL
from tests.integration.probe import ProbeSettings
from tests.support.infra import Isolation, kafka_admin
from tests.support.kafka import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def produce(topic: str, per_partition: dict[int, int]) -> None:
    producer = AIOKafkaProducer(**kafka_admin().options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for partition, count in per_partition.items():
            for n in range(count):
                await producer.send_and_wait(topic, f"m{n}".encode(), partition=partition)
    finally:
        await producer.stop()


async def commit(group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(**kafka_admin().options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def test_the_lag_gauge_shows_produced_minus_committed_messages_summed_over_partitions(
    isolation: Isolation,
) -> None:
    topic = isolation.topic_prefix + CALLS_CALL.name  # two partitions, private to this module
    group = f"{isolation.topic_prefix}poles-lagtest"
    registry = CollectorRegistry()
    lag = ConsumerLag(
        isolation.settings(ProbeSettings, service="lagtest"), group, [topic], registry, interval=0.2
    )

    def gauge() -> float | None:
        return registry.get_sample_value(
            "poles_consumer_lag_messages", {"group": group, "topic": topic}
        )

    await produce(topic, {0: 4, 1: 3})
    job = asyncio.create_task(lag.run())
    try:
        # Nothing committed yet: the group would read all 7 from the start of the log.
        await eventually(lambda: gauge() == 7, seconds=10)
        await commit(group, {TopicPartition(topic, 0): 3, TopicPartition(topic, 1): 1})
        await eventually(lambda: gauge() == 7 - 4, seconds=10)
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
