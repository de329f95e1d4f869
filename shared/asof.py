"""As-of reads: an aggregate's events read back from its topic and folded up to an instant.

The domain topics keep every record for ever (``shared.topics``), keyed by the aggregate's id, so
the log alone says what an aggregate looked like at any instant and who changed it:

- ``read_events`` reads the ONE partition the key's records are on: the producers (the outbox
  relay, through FastStream's aiokafka producer) place a keyed record with aiokafka's default
  partitioner, murmur2(key) % partitions, so reading that partition alone is complete, and it
  costs a sixth of a scan of every partition. It reads from the beginning up to the end offset
  taken when the read starts (records written meanwhile are left for the next read) and keeps,
  in offset order, the CloudEvents whose subject is the key.
- ``scan_events`` reads every partition of some topics, for a record whose events are under
  several keys (a budget line), keeping the events a predicate chooses, by event time.
- ``state_at`` folds the events whose CloudEvent ``time`` (the decision's instant, not the
  Kafka timestamp) is at or before an instant: ``evolve(state, event) -> state``, from None.
- ``history`` lists each event once: its time, type, id and who made it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from fastapi import Query
from pydantic import AwareDatetime, BaseModel

from shared.cloudevents import CloudEvent, EnvelopeError
from shared.errors import NotFound
from shared.kafka_access import KafkaAccess
from shared.settings import ServiceSettings
from shared.topics import Topic
from shared.tracing import trace_id_of

log = logging.getLogger(__name__)

StateT = TypeVar("StateT")
Evolve = Callable[[StateT | None, CloudEvent], StateT]

WHO_FIELDS = (
    "decided_by",
    "voter",
    "refused_by",
    "evaluated_by",
    "submitted_by",
    "opened_by",
    "author",
    "source.author",
    "recorded_by",
)
"""The data fields that name the principal who made a change, first found first (a dotted name
is a field of a field: a manual commitment's ``source.author``)."""


At = Annotated[
    AwareDatetime | None,
    Query(
        description="an instant with its offset (2009-06-01T00:00:00+02:00): the record as it "
        "stood then, rebuilt from its events on the topics (404 if it did not exist yet)"
    ),
]
"""The ``?at=`` of the as-of routes."""


class Change(BaseModel):
    """One event of an aggregate's history, as auditors read it."""

    time: datetime
    type: str
    event_id: str
    who: str
    """The principal the event names (``WHO_FIELDS``), else the service that published it."""
    trace_id: str | None = None


class TopicLog:
    """A service's as-of reader of its own topics (with the settings' topic prefix and login)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._kafka = KafkaAccess.of(settings)
        self._prefix = settings.topic_prefix
        self._client_id = f"{settings.client_id}-asof"

    async def events(self, topic: Topic, key: str) -> list[CloudEvent]:
        return await read_events(
            self._kafka, self._prefix + topic.name, key, client_id=self._client_id
        )

    async def scan(
        self, topics: Sequence[Topic], keep: Callable[[CloudEvent], bool]
    ) -> list[CloudEvent]:
        names = [self._prefix + topic.name for topic in topics]
        return await scan_events(self._kafka, names, keep, client_id=self._client_id)


def partition_of(key: str, partitions: Sequence[int]) -> int:
    """The partition aiokafka's default partitioner gives a record keyed ``key``."""
    ordered = sorted(partitions)
    return int(DefaultPartitioner()(key.encode(), ordered, ordered))


async def read_events(
    kafka: KafkaAccess, topic: str, key: str, *, client_id: str, seconds: float = 30.0
) -> list[CloudEvent]:
    """The events of aggregate ``key`` on ``topic``, in offset order (see the module's doc)."""
    options = kafka.options() | {"client_id": client_id}
    async with asyncio.timeout(seconds):
        tp = TopicPartition(topic, partition_of(key, await _partitions(options, topic)))
        events = await _read_to_end(options, [tp])
    return [event for event in events if event.subject == key]


async def scan_events(
    kafka: KafkaAccess,
    topics: Sequence[str],
    keep: Callable[[CloudEvent], bool],
    *,
    client_id: str,
    seconds: float = 60.0,
) -> list[CloudEvent]:
    """The events of every partition of ``topics`` that ``keep`` keeps, by event time (each
    partition's in offset order first), up to the end offsets taken at the start.

    For a record whose events are under several keys (a budget line: its own, the envelope's
    amendments, the transfers it receives, its commitments'); bounded by the topics' size, which
    ``shared.topics`` states."""
    options = kafka.options() | {"client_id": client_id}
    async with asyncio.timeout(seconds):
        tps = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in await _partitions(options, topic)
        ]
        events = await _read_to_end(options, tps)
    return sorted((event for event in events if keep(event)), key=lambda event: event.time)


async def _read_to_end(options: dict[str, Any], tps: list[TopicPartition]) -> list[CloudEvent]:
    """Each partition from its beginning to its end offset as the read starts, in offset order."""
    consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        events: list[CloudEvent] = []
        pending = [tp for tp in tps if ends[tp] > 0]
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                events.extend(
                    event
                    for record in records
                    if record.offset < ends[tp]
                    for event in _event(tp.topic, record.offset, record.headers, record.value)
                )
            pending = [tp for tp in pending if await consumer.position(tp) < ends[tp]]
        return events
    finally:
        await consumer.stop()


async def _partitions(options: dict[str, Any], topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0 or not described["partitions"]:
        raise LookupError(f"no topic {topic} on the broker")
    return [partition["partition"] for partition in described["partitions"]]


def _event(
    topic: str, offset: int, headers: Sequence[tuple[str, bytes]], value: bytes | None
) -> list[CloudEvent]:
    try:
        return [CloudEvent.from_kafka(headers, value)]
    except (EnvelopeError, ValueError):
        log.warning("%s@%d is not a CloudEvent: left out of the as-of read", topic, offset)
        return []


def state_at(
    events: Sequence[CloudEvent], evolve: Evolve[StateT], at: datetime, start: StateT | None = None
) -> StateT | None:
    """The fold of the events whose time is at or before ``at``, from ``start`` (a record that
    exists before its first event, such as a pôle of the reference list; None: it did not exist
    yet)."""
    state = start
    for event in events:
        if event.time <= at:
            state = evolve(state, event)
    return state


def require_state_at(
    events: Sequence[CloudEvent], evolve: Evolve[StateT], at: datetime, what: str
) -> StateT:
    """``state_at``, or 404 naming the instant when ``what`` did not exist yet then."""
    state = state_at(events, evolve, at)
    if state is None:
        raise NotFound(f"{what} did not exist yet at {at.isoformat()}")
    return state


def in_utc(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with its instants in UTC, as the store gives them back to the live views (an
    event keeps the offset its author wrote)."""
    return {
        name: value.astimezone(UTC) if isinstance(value, datetime) else value
        for name, value in values.items()
    }


def who(event: CloudEvent) -> str:
    for field in WHO_FIELDS:
        value: Any = event.data
        for name in field.split("."):
            value = value.get(name) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return event.source


def history(events: Sequence[CloudEvent], at: datetime | None = None) -> list[Change]:
    """Each event (up to ``at`` if given) once, in offset order."""
    return [
        Change(
            time=event.time,
            type=event.type,
            event_id=event.id,
            who=who(event),
            trace_id=trace_id_of(event.traceparent),
        )
        for event in events
        if at is None or event.time <= at
    ]
