"""The dead-letter route: a message that can never succeed is set aside, not retried forever.

The raw record goes to ``deadletter.<consumer>`` with its original headers and value, plus headers
naming its origin and the error; the consumer then acknowledges it and moves on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from shared.topics import dead_letter_topic

SendRaw = Callable[[str, bytes | None, bytes | None, list[tuple[str, bytes]]], Awaitable[Any]]
"""(topic, key, value, headers) -> awaited until the broker acknowledges."""

MAX_ERROR_LENGTH = 1000


class DeadLetters:
    def __init__(
        self, consumer: str, send_raw: SendRaw, registry: CollectorRegistry, topic_prefix: str = ""
    ) -> None:
        self.consumer = consumer
        self.topic = topic_prefix + dead_letter_topic(consumer).name
        self._send_raw = send_raw
        self._count = Counter(
            "poles_dead_letters_total",
            "Messages sent to the dead-letter topic",
            ["consumer", "origin_topic", "reason"],
            registry=registry,
        )

    async def send(self, record: Any, error: BaseException, attempts: int) -> None:
        reason = type(error).__name__
        headers = [
            *[
                (name, value)
                for name, value in (record.headers or ())
                if not name.startswith("dlt-")
            ],
            ("dlt-origin-topic", record.topic.encode()),
            ("dlt-origin-partition", str(record.partition).encode()),
            ("dlt-origin-offset", str(record.offset).encode()),
            ("dlt-consumer", self.consumer.encode()),
            ("dlt-error-type", reason.encode()),
            ("dlt-error", str(error)[:MAX_ERROR_LENGTH].encode()),
            ("dlt-attempts", str(attempts).encode()),
        ]
        await self._send_raw(self.topic, record.key, record.value, headers)
        self._count.labels(self.consumer, record.topic, reason).inc()
