"""Consumer lag, measured by the consuming service itself and scraped with its other metrics.

No Kafka exporter is available to the platform, and each service knows its own consumer group and
topics, so it asks the broker every few seconds how far its group is behind: for each partition,
the end offset minus the group's committed offset (or, where the group has committed nothing yet,
minus the first offset still in the log: with ``auto_offset_reset="earliest"`` the group will read
from there). Prometheus alerts when that number keeps growing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, Gauge

from shared.kafka_access import KafkaAccess
from shared.settings import ServiceSettings
from shared.waiting import stop_if_cancelled

log = logging.getLogger(__name__)


class ConsumerLag:
    """The ``poles_consumer_lag_messages{group,topic}`` gauge of one consumer group.

    The gauge is registered when this is built (so ``/metrics`` names it from the start); ``run``
    is the background job that keeps it current (``runtime.background.append(lag.run)``).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        group_id: str,
        topics: Sequence[str],
        registry: CollectorRegistry,
        interval: float = 5.0,
    ) -> None:
        self._settings = settings
        self._group_id = group_id
        self._topics = list(topics)
        self._interval = interval
        self._gauge = Gauge(
            "poles_consumer_lag_messages",
            "Messages of a topic a consumer group has not committed yet (summed over partitions)",
            ["group", "topic"],
            registry=registry,
        )

    async def run(self) -> None:
        """Refresh the gauge every ``interval`` seconds; reconnect after any failure."""
        while True:
            try:
                async with self._clients() as (admin, consumer):
                    while True:
                        stop_if_cancelled()
                        async with asyncio.timeout(max(30.0, 3 * self._interval)):
                            lag = await self._measure(admin, consumer)
                        for topic, messages in lag.items():
                            self._gauge.labels(self._group_id, topic).set(messages)
                        await asyncio.sleep(self._interval)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "measuring the lag of %s failed; trying again", self._group_id, exc_info=True
                )
                stop_if_cancelled()
                await asyncio.sleep(self._interval)

    async def _measure(
        self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer
    ) -> dict[str, int]:
        """Messages behind, per topic (topics missing on the broker are left out)."""
        partitions = [
            TopicPartition(described["topic"], partition["partition"])
            for described in await admin.describe_topics(self._topics)
            if described["error_code"] == 0
            for partition in described["partitions"]
        ]
        if not partitions:
            return {}
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(self._group_id, partitions=partitions)
        lag = dict.fromkeys((p.topic for p in partitions), 0)
        for partition in partitions:
            position = committed[partition].offset if partition in committed else -1
            if position < 0:
                position = starts[partition]
            lag[partition.topic] += max(ends[partition] - position, 0)
        return lag

    @contextlib.asynccontextmanager
    async def _clients(self) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
        """An admin client (committed offsets) and a group-less consumer (log offsets)."""
        options = KafkaAccess.of(self._settings).options() | {
            "client_id": f"{self._settings.client_id}-lag",
            "request_timeout_ms": 10_000,
        }
        admin = AIOKafkaAdminClient(**options)
        consumer = AIOKafkaConsumer(**options, enable_auto_commit=False)
        await admin.start()
        try:
            await consumer.start()
            try:
                yield admin, consumer
            finally:
                await consumer.stop()
        finally:
            await admin.close()
