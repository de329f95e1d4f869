"""The broker factory: acks=all, an idempotent producer, commits after handling, Prometheus."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.client import AIOKafkaClient
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry

from shared.deadletter import SendRaw
from shared.events.base import OutboxEntry
from shared.kafka_access import KafkaAccess
from shared.outbox import Publish
from shared.settings import ServiceSettings


def create_broker(settings: ServiceSettings, registry: CollectorRegistry) -> KafkaBroker:
    """A broker whose subscribers commit only after their handler returned.

    ``NACK_ON_ERROR`` seeks back on an unhandled error, so a message whose effect was not stored
    (the store is down, say) comes again; messages that can never succeed are sent to the
    dead-letter topic by the consumer itself and then acknowledged.
    """
    return KafkaBroker(
        settings.kafka_servers,
        client_id=settings.client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=1,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        security=KafkaAccess.of(settings).security(),
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=settings.service)],
        logger=logging.getLogger(f"poles.{settings.service}.kafka"),
    )


async def broker_answers(settings: ServiceSettings, timeout_ms: int = 10_000) -> None:
    """Return when the broker accepts the service's login and tells its metadata; raise
    otherwise (``KafkaConnectionError``, an authentication error, ...).

    A start waits on this before ``KafkaBroker.start()``: a failed start leaves an unclosed
    producer behind (aiokafka warns about it on every attempt), this probe closes what it opened.
    """
    client = AIOKafkaClient(
        **KafkaAccess.of(settings).options(),
        client_id=f"{settings.client_id}-probe",
        request_timeout_ms=timeout_ms,
    )
    try:
        await client.bootstrap()
    finally:
        await client.close()


def outbox_publisher(broker: KafkaBroker, topic_prefix: str = "") -> Publish:
    """Publishes an outbox entry as a CloudEvent without waiting for its acknowledgement."""

    async def publish(entry: OutboxEntry) -> Any:
        event = entry.cloud_event()
        return await broker.publish(
            event.kafka_value(),
            topic=topic_prefix + entry.topic,
            key=entry.key.encode(),
            headers={name: value.decode() for name, value in event.kafka_headers()},
            no_confirm=True,
        )

    return publish


def raw_sender(broker: KafkaBroker) -> SendRaw:
    """Sends a raw record (for the dead-letter topic) and waits for its acknowledgement."""

    async def send(
        topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Any:
        return await broker.publish(
            value or b"",
            topic=topic,
            key=key,
            headers={name: raw.decode("utf-8", errors="replace") for name, raw in headers},
        )

    return send
