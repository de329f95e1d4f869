"""Driving a service's subscribers with FastStream's ``TestKafkaBroker`` (component tests only:
no broker runs; what the service publishes is captured by FastStream, and what it consumes is
handed to its subscribers in memory, through the kernel's consumer as on a real broker)."""

from __future__ import annotations

from datetime import UTC, datetime

from faststream.kafka import KafkaBroker

from shared.cloudevents import CloudEvent
from shared.events.base import EventData, new_outbox_entry


async def deliver(
    broker: KafkaBroker,
    data: EventData,
    *,
    key: str,
    topic_prefix: str = "",
    source: str = "/poles/tests",
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Publish ``data`` as a CloudEvent on its topic through a broker patched by
    ``TestKafkaBroker``: the subscribers of that topic handle it before this returns."""
    entry = new_outbox_entry(data, source=source, key=key, time=time or datetime.now(UTC))
    if event_id is not None:
        entry = entry.model_copy(update={"id": event_id})
    event = entry.cloud_event()
    await broker.publish(
        event.kafka_value(),
        topic=topic_prefix + entry.topic,
        key=key.encode(),
        headers={name: value.decode() for name, value in event.kafka_headers()},
    )
    return event
