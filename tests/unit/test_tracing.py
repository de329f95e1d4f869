"""The kernel's traces without servers: the trace context in events and outbox entries, the
relay's producer span, the consumer's span, logs, exemplars, HTTP's traceresponse and /metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics
from pymongo.monitoring import CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent

from shared.cloudevents import CloudEvent
from shared.consumer import EventConsumer, EventHandlers
from shared.deadletter import DeadLetters
from shared.events.base import EventData, OutboxEntry, event_type, new_outbox_entry
from shared.http import RequestDurations
from shared.logs import JsonFormatter
from shared.outbox import _producing, _traced
from shared.repository import history_entry
from shared.store_metrics import StoreSpans
from shared.topics import CALLS_DOSSIER
from shared.tracing import (
    NO_TRACER,
    TracedRequests,
    Tracing,
    consuming,
    exemplar,
    exporting,
    setup_tracing,
    trace_id_of,
    tracer,
)
from tests.support.infra import offline_app

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@event_type("tests.tracing.probed.v1", CALLS_DOSSIER)
class Probed(EventData):
    probe_id: str


@pytest.fixture
def spans() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    tracing = exporting("calls", memory)
    tracing.use()
    yield tracing, memory
    Tracing().use()
    tracing.shutdown()


def finished(tracing: Tracing, memory: InMemorySpanExporter) -> list[ReadableSpan]:
    assert tracing.provider is not None
    tracing.provider.force_flush()
    return list(memory.get_finished_spans())


def ids(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    assert context is not None
    return format_trace_id(context.trace_id), format_span_id(context.span_id)


def test_without_an_endpoint_tracing_is_off_and_costs_a_no_op_tracer() -> None:
    tracing = setup_tracing("calls", "", 1.0)
    assert not tracing.on
    assert tracing.tracer is NO_TRACER
    with consuming("t process", {"traceparent": TRACEPARENT}, {}) as span:
        assert not span.is_recording()
    assert _entry().traceparent is None


def test_the_traceparent_travels_as_the_cloudevents_extension_in_ce_headers() -> None:
    event = CloudEvent(
        id="e-1", type="t.v1", source="/t", time=_now(), data={}, traceparent=TRACEPARENT
    )
    headers = event.kafka_headers()
    assert ("ce_traceparent", TRACEPARENT.encode()) in headers
    assert CloudEvent.from_kafka(headers, event.kafka_value()).traceparent == TRACEPARENT
    without = CloudEvent(id="e-2", type="t.v1", source="/t", time=_now(), data={})
    assert not any(name == "ce_traceparent" for name, _ in without.kafka_headers())
    assert CloudEvent.from_kafka(without.kafka_headers(), b"{}").traceparent is None


def test_an_entry_keeps_the_trace_it_was_decided_in_and_the_relay_publishes_it_as_its_child(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, memory = spans
    with tracer().start_as_current_span("decide") as decision:
        entry = _entry()
    decided = decision.get_span_context()
    assert _ids_in(entry.traceparent) == (
        format_trace_id(decided.trace_id),
        format_span_id(decided.span_id),
    )
    assert history_entry(entry)["trace_id"] == format_trace_id(decided.trace_id)
    # the relay, later, in no span of its own: the entry as stored (after a restart too)
    kept = type(entry).model_validate(orjson.loads(entry.model_dump_json()))
    _, span = _producing(kept)
    published = _traced(kept, span)
    span.end()
    producer = next(s for s in finished(tracing, memory) if s.kind == SpanKind.PRODUCER)
    assert producer.parent is not None
    assert producer.parent.span_id == decided.span_id
    trace_id, span_id = ids(producer)
    assert _ids_in(published.traceparent) == (trace_id, span_id)
    assert published.id == entry.id


def test_a_consumer_span_is_the_producers_child_and_linked_to_it(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, memory = spans
    with consuming("t process", {"traceparent": TRACEPARENT, "tracestate": None}, {"a": "b"}):
        pass
    (span,) = finished(tracing, memory)
    assert span.kind == SpanKind.CONSUMER
    assert ids(span)[0] == TRACEPARENT.split("-")[1]
    assert span.parent is not None
    assert format_span_id(span.parent.span_id) == TRACEPARENT.split("-")[2]
    assert [format_span_id(link.context.span_id) for link in span.links] == ["b7ad6b7169203331"]


def test_a_log_line_carries_the_current_trace_and_span(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "handled", None, None)
    formatter = JsonFormatter("calls")
    assert "trace_id" not in orjson.loads(formatter.format(record))
    with tracer().start_as_current_span("work") as span:
        line = orjson.loads(formatter.format(record))
    context = span.get_span_context()
    assert line["trace_id"] == format_trace_id(context.trace_id)
    assert line["span_id"] == format_span_id(context.span_id)


def test_a_sampled_observation_carries_its_trace_id_as_an_exemplar(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    registry = CollectorRegistry()
    histogram = Histogram("t_seconds", "t", registry=registry)
    with tracer().start_as_current_span("work") as span:
        histogram.observe(0.2, exemplar())
    trace_id = format_trace_id(span.get_span_context().trace_id)
    page = openmetrics(registry).decode()  # type: ignore[no-untyped-call]
    assert f'# {{trace_id="{trace_id}"}} 0.2' in page
    assert exemplar() is None
    assert exemplar({"traceparent": TRACEPARENT}) == {"trace_id": trace_id_of(TRACEPARENT)}
    unsampled = TRACEPARENT[:-2] + "00"
    assert exemplar({"traceparent": unsampled}) is None


async def test_every_http_answer_names_its_trace_in_traceresponse_and_its_duration_exemplar(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, memory = spans
    app = FastAPI()

    @app.get("/x/{item}")
    async def x(item: str) -> dict[str, str]:
        return {}

    registry = CollectorRegistry()
    app.add_middleware(RequestDurations, registry=registry)
    app.add_middleware(TracedRequests, tracing=tracing)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        answer = await c.get("/x/1", headers={"traceparent": TRACEPARENT})
    (server,) = finished(tracing, memory)
    trace_id, span_id = ids(server)
    assert server.kind == SpanKind.SERVER
    assert server.name == "GET /x/{item}"
    assert trace_id == TRACEPARENT.split("-")[1]  # the caller's trace goes on
    assert _ids_in(answer.headers["traceresponse"]) == (trace_id, span_id)
    page = openmetrics(registry).decode()  # type: ignore[no-untyped-call]
    buckets = [line for line in page.splitlines() if 'route="/x/{item}",status="200"' in line]
    assert any(f'# {{trace_id="{trace_id}"}}' in line for line in buckets), page


async def test_metrics_are_openmetrics_when_the_scraper_asks_and_classic_text_otherwise() -> None:
    app = offline_app("calls")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        classic = await c.get("/metrics")
        open_metrics = await c.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert classic.headers["content-type"].startswith("text/plain")
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.endswith("# EOF\n")


def _now() -> datetime:
    return datetime.now(UTC)


def _entry() -> OutboxEntry:
    return new_outbox_entry(Probed(probe_id="p"), source="/t", key="k", time=_now())


def _ids_in(traceparent: str | None) -> tuple[str, str]:
    """The trace and span ids of a ``traceparent`` (or ``traceresponse``)."""
    assert traceparent is not None
    version, trace_id, span_id, _ = traceparent.split("-")
    assert version == "00"
    return trace_id, span_id


def test_store_commands_are_client_spans_inside_a_trace_and_none_outside(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, memory = spans
    listener = StoreSpans()
    address = ("127.0.0.1", 27017)

    def command(request_id: int, name: str, ok: bool = True) -> None:
        listener.started(
            CommandStartedEvent({name: "dossiers"}, "poles_calls", request_id, address, 1)
        )
        took = timedelta(milliseconds=1)
        if ok:
            listener.succeeded(CommandSucceededEvent(took, {"ok": 1}, name, request_id, address, 1))
        else:
            failure = {"ok": 0, "errmsg": "refused"}
            listener.failed(CommandFailedEvent(took, failure, name, request_id, address, 1))

    command(1, "find")  # outside any trace: the relay's scans, the gauges
    with tracer().start_as_current_span("handle") as handling:
        command(2, "update")
        command(3, "hello")  # the driver's own handshake
        command(4, "insert", ok=False)
    stored = [span for span in finished(tracing, memory) if span.kind == SpanKind.CLIENT]
    assert [span.name for span in stored] == ["update", "insert"]
    for span in stored:
        assert span.attributes is not None
        assert span.attributes["db.system"] == "mongodb"
        assert span.attributes["db.operation"] == span.name
        assert span.parent is not None
        assert span.parent.span_id == handling.get_span_context().span_id
    assert stored[0].status.status_code == StatusCode.UNSET
    assert stored[1].status.status_code == StatusCode.ERROR


async def test_an_events_handling_time_carries_the_trace_it_was_handled_in(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, memory = spans
    registry = CollectorRegistry()

    async def handler(event: CloudEvent, data: Probed) -> None:
        pass

    async def nowhere(*_: object) -> None:
        raise AssertionError("nothing is dead-lettered")

    handlers = EventHandlers().on(Probed, handler)
    consumer = EventConsumer(
        "funding", handlers, DeadLetters("funding", nowhere, registry), registry
    )
    event = CloudEvent(
        id="e-1",
        type=Probed.type_name,
        source="/t",
        time=_now(),
        data={"probe_id": "p"},
        traceparent=TRACEPARENT,
    )
    await consumer.handle_record(_Record(event.kafka_headers(), event.kafka_value()))
    (span,) = finished(tracing, memory)
    trace_id = ids(span)[0]
    page = openmetrics(registry).decode()  # type: ignore[no-untyped-call]
    handled = [line for line in page.splitlines() if "poles_event_handling_seconds_bucket" in line]
    assert any(f'# {{trace_id="{trace_id}"}}' in line for line in handled), page


@dataclass
class _Record:
    headers: list[tuple[str, bytes]]
    value: bytes
    topic: str = "calls.dossier"
    partition: int = 0
    offset: int = 0
    key: bytes = b"k"
