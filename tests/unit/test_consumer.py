"""The consumer's decisions, on in-memory records: apply, ignore, retry, dead-letter, or let the
batch come again when the store is unreachable."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo.errors import AutoReconnect

from shared.cloudevents import CloudEvent
from shared.consumer import EventConsumer, EventHandlers, PermanentError, by_key_in_order
from shared.deadletter import DeadLetters
from shared.events.calls import StudyCommissioned

DATA = StudyCommissioned(
    dossier_id="d-1",
    call_id="c-1",
    call_kind="innovation-platforms",
    pole_id="minalogic",
    region_codes=["82"],
    platform_name="Nano-PF",
    study_id="s-1",
    cost_cents=25_000_000,
    cdc_share_cents=20_000_000,
    commissioned_at=datetime(2009, 3, 1, tzinfo=UTC),
)


@dataclass
class Record:
    value: bytes | None
    headers: list[tuple[str, bytes]]
    topic: str = "calls.dossier"
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"d-1"


def record_of(data: Any = DATA, event_id: str = "e-1") -> Record:
    event = CloudEvent(
        id=event_id,
        type=StudyCommissioned.type_name,
        source="calls",
        time=datetime(2009, 3, 1, tzinfo=UTC),
        data=data.model_dump(mode="json") if hasattr(data, "model_dump") else data,
    )
    return Record(event.kafka_value(), event.kafka_headers())


@dataclass
class DeadLetterSink:
    sent: list[tuple[str, dict[str, bytes], bytes | None]] = field(default_factory=list)

    async def __call__(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        self.sent.append((topic, dict(headers), value))


def consumer_with(handler: Any) -> tuple[EventConsumer, DeadLetterSink]:
    sink = DeadLetterSink()
    registry = CollectorRegistry()
    dead_letters = DeadLetters("funding", sink, registry)
    handlers = EventHandlers()
    if handler:
        handlers.on(StudyCommissioned, handler)
    return EventConsumer("funding", handlers, dead_letters, registry, retry_delay=0), sink


async def test_a_valid_event_reaches_its_handler_with_typed_data() -> None:
    received: list[Any] = []

    async def handler(event: CloudEvent, data: StudyCommissioned) -> None:
        received.append((event.id, data))

    consumer, sink = consumer_with(handler)
    await consumer.handle_batch([record_of()])
    assert received == [("e-1", DATA)]
    assert sink.sent == []


async def test_an_event_type_without_a_handler_is_passed_over() -> None:
    consumer, sink = consumer_with(None)
    await consumer.handle_record(record_of())
    assert sink.sent == []


@pytest.mark.parametrize(
    ("record", "error_type"),
    [
        (Record(b"{}", []), b"EnvelopeError"),
        (Record(b"not json", record_of().headers), b"EnvelopeError"),
        (record_of({"dossier_id": "d-1"}), b"ValidationError"),
    ],
)
async def test_what_can_never_be_read_goes_to_the_dead_letter_topic_at_once(
    record: Record, error_type: bytes
) -> None:
    calls: list[str] = []

    async def handler(event: CloudEvent, data: Any) -> None:
        calls.append(event.id)

    consumer, sink = consumer_with(handler)
    await consumer.handle_record(record)
    assert calls == []
    [(topic, headers, value)] = sink.sent
    assert topic == "deadletter.funding"
    assert headers["dlt-error-type"] == error_type
    assert headers["dlt-origin-topic"] == b"calls.dossier"
    assert headers["dlt-origin-offset"] == b"7"
    assert headers["dlt-attempts"] == b"1"
    assert value == record.value


async def test_an_unknown_event_type_goes_to_the_dead_letter_topic() -> None:
    record = record_of()
    record.headers = [(k, b"calls.nothing.v9" if k == "ce_type" else v) for k, v in record.headers]
    consumer, sink = consumer_with(None)
    await consumer.handle_record(record)
    assert sink.sent[0][1]["dlt-error-type"] == b"UnknownEventType"


async def test_a_handler_that_keeps_failing_is_tried_three_times_then_dead_lettered() -> None:
    attempts: list[int] = []

    async def handler(event: CloudEvent, data: Any) -> None:
        attempts.append(1)
        raise RuntimeError("bug")

    consumer, sink = consumer_with(handler)
    await consumer.handle_record(record_of())
    assert len(attempts) == 3
    assert sink.sent[0][1]["dlt-attempts"] == b"3"
    assert sink.sent[0][1]["dlt-error"] == b"bug"


async def test_a_handler_that_fails_once_then_succeeds_is_not_dead_lettered() -> None:
    attempts: list[int] = []

    async def handler(event: CloudEvent, data: Any) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("passing fault")

    consumer, sink = consumer_with(handler)
    await consumer.handle_record(record_of())
    assert len(attempts) == 2
    assert sink.sent == []


async def test_a_permanent_error_is_dead_lettered_without_retrying() -> None:
    attempts: list[int] = []

    async def handler(event: CloudEvent, data: Any) -> None:
        attempts.append(1)
        raise PermanentError("the line does not exist")

    consumer, sink = consumer_with(handler)
    await consumer.handle_record(record_of())
    assert attempts == [1]
    assert sink.sent[0][1]["dlt-error-type"] == b"PermanentError"


async def test_an_unreachable_store_lets_the_batch_come_again_instead_of_dead_lettering() -> None:
    async def handler(event: CloudEvent, data: Any) -> None:
        raise AutoReconnect("store down")

    consumer, sink = consumer_with(handler)
    with pytest.raises(AutoReconnect):
        await consumer.handle_batch([record_of()])
    assert sink.sent == []


async def test_a_batch_runs_each_keys_records_in_order_and_different_keys_at_once() -> None:
    started: list[tuple[bytes | None, int]] = []
    finished: list[tuple[bytes | None, int]] = []
    both_keys_started = asyncio.Event()

    async def handle(record: Record) -> None:
        started.append((record.key, record.offset))
        if {key for key, _ in started} == {b"a", b"b"}:
            both_keys_started.set()
        await asyncio.wait_for(both_keys_started.wait(), 2)  # only if the keys overlap
        finished.append((record.key, record.offset))

    batch = [Record(None, [], key=key, offset=n) for n, key in enumerate([b"a", b"a", b"b"])]
    await by_key_in_order(batch, handle)
    assert [n for key, n in finished if key == b"a"] == [0, 1]
    assert started[:2] == [(b"a", 0), (b"b", 2)]


async def test_a_failing_record_stops_its_key_and_fails_the_batch_after_the_others() -> None:
    handled: list[int] = []

    async def handle(record: Record) -> None:
        if record.offset == 0:
            raise AutoReconnect("store down")
        handled.append(record.offset)

    batch = [Record(None, [], key=key, offset=n) for n, key in enumerate([b"a", b"a", b"b"])]
    with pytest.raises(AutoReconnect):
        await by_key_in_order(batch, handle)
    assert handled == [2]
