"""Event data models and the registry that maps a CloudEvents type to its model and topic.

Types are versioned (``calls.dossier.submitted.v1``). Within a version only optional fields are
added, so readers ignore fields they do not know; a breaking change is a new version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.cloudevents import CloudEvent, new_event_id
from shared.topics import SERVICES, Topic
from shared.tracing import propagation


class UnknownEventType(LookupError):
    """A CloudEvents type that no model of the platform describes."""


class EventData(BaseModel):
    """The data of one event type; subclasses are registered with ``@event_type``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type_name: ClassVar[str]
    topic: ClassVar[Topic]


EVENT_TYPES: dict[str, type[EventData]] = {}

EventT = TypeVar("EventT", bound=type[EventData])


def event_type(name: str, topic: Topic) -> Callable[[EventT], EventT]:
    """Register a model as the data of the CloudEvents type ``name`` published on ``topic``."""

    def register(model: EventT) -> EventT:
        if name in EVENT_TYPES and EVENT_TYPES[name] is not model:
            raise ValueError(f"event type {name} is registered twice")
        model.type_name = name
        model.topic = topic
        EVENT_TYPES[name] = model
        return model

    return register


def parse_event_data(event: CloudEvent) -> EventData:
    """The typed data of an event; raises UnknownEventType or pydantic's ValidationError."""
    model = EVENT_TYPES.get(event.type)
    if model is None:
        raise UnknownEventType(f"unknown event type {event.type!r}")
    return model.model_validate(event.data)


class OutboxEntry(CloudEvent):
    """An event waiting in its aggregate's document to be published."""

    topic: str
    key: str
    queued_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def cloud_event(self) -> CloudEvent:
        return CloudEvent.model_validate(self.model_dump(exclude={"topic", "key", "queued_at"}))


def new_outbox_entry(
    data: EventData, *, source: str, key: str, time: datetime, subject: str | None = None
) -> OutboxEntry:
    """Wrap event data for the outbox; the key keeps one aggregate's events in order. The entry
    keeps the trace it was decided in (the current span's ``traceparent``, ``tracestate``), so
    that it is published in that trace, after a relay's crash too."""
    return OutboxEntry(
        id=new_event_id(),
        type=data.type_name,
        source=source,
        time=time,
        subject=subject if subject is not None else key,
        data=data.model_dump(mode="json"),
        topic=data.topic.name,
        key=key,
        **propagation(),
    )


def platform_event_types() -> dict[str, type[EventData]]:
    """The event types the four services publish (tests may register probes of their own)."""
    return {
        name: model for name, model in sorted(EVENT_TYPES.items()) if name.split(".")[0] in SERVICES
    }


def event_schemas() -> dict[str, dict[str, Any]]:
    """The JSON schema of every platform event type, for snapshots and documentation."""
    return {name: model.model_json_schema() for name, model in platform_event_types().items()}
