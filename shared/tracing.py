"""Distributed traces (OpenTelemetry): one tracer per service, exported by OTLP/HTTP.

``setup_tracing`` builds a service's ``Tracing`` once (``build_runtime``): with an endpoint
(``POLES_OTLP_ENDPOINT``), a ``TracerProvider`` whose resource names the service, a parent-based
ratio sampler (``POLES_TRACE_SAMPLING``) and a batch processor that ``shutdown`` flushes; without
one, OpenTelemetry's no-op tracer and nothing else (no exporter, no thread, no span).

The service's tracer is the one of its tasks (``use``: the runtime's start, whose tasks the relay,
the consumers and the background jobs inherit, and each HTTP request): kernel and service code ask
``tracer()``, so that four services in one test process keep their spans apart.

The trace context travels in events as the CloudEvents distributed-tracing extension
(``traceparent``, ``tracestate``), read and written by OpenTelemetry's W3C TraceContext
propagator: ``propagation()`` is the current context's, ``context_of`` the context an event names.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.propagators import (
    TraceResponsePropagator,
    set_global_response_propagator,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROPAGATOR = TraceContextTextMapPropagator()
TRACES_PATH = "/v1/traces"
NO_TRACER: Tracer = trace.NoOpTracer()

_tracer: contextvars.ContextVar[Tracer] = contextvars.ContextVar("tracer", default=NO_TRACER)


@dataclass(frozen=True)
class Tracing:
    """A service's tracer, and the provider that exports its spans (None: tracing is off)."""

    tracer: Tracer = NO_TRACER
    provider: TracerProvider | None = None

    @property
    def on(self) -> bool:
        return self.provider is not None

    def use(self) -> None:
        """The service's tracer for this task and the tasks it starts from now on."""
        _tracer.set(self.tracer)

    def shutdown(self) -> None:
        """Export the spans still queued, then stop the exporter (at the service's stop)."""
        if self.provider is not None:
            self.provider.shutdown()


def setup_tracing(service: str, endpoint: str, sampling: float) -> Tracing:
    """The service's tracing: off (no-op tracer) without an endpoint; otherwise spans sampled at
    ``sampling`` and exported to ``<endpoint>/v1/traces`` (OTLP/HTTP, protobuf)."""
    if not endpoint:
        return Tracing()
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + TRACES_PATH)
    return exporting(service, exporter, sampling)


def exporting(service: str, exporter: SpanExporter, sampling: float = 1.0) -> Tracing:
    """Tracing whose spans go to ``exporter`` in batches, sampled at ``sampling`` where a trace
    starts (parent-based: a trace is kept or dropped whole, in every service)."""
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service}),
        sampler=ParentBased(TraceIdRatioBased(sampling)),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    set_global_response_propagator(TraceResponsePropagator())  # type: ignore[no-untyped-call]
    return Tracing(provider.get_tracer("poles"), provider)


def tracer() -> Tracer:
    """The tracer of the service this task works for (a no-op one when tracing is off)."""
    return _tracer.get()


def propagation() -> dict[str, str]:
    """``traceparent`` (and ``tracestate`` if any) of the current span; empty without one."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier


def context_of(carrier: Mapping[str, Any]) -> Context:
    """The context a carrier's ``traceparent`` / ``tracestate`` name (an event's attributes, a
    structured CloudEvent); an empty one without them."""
    fields = {name: carrier.get(name) for name in PROPAGATOR.fields}
    return PROPAGATOR.extract({name: value for name, value in fields.items() if value})


@contextmanager
def continuing(
    name: str,
    carrier: Mapping[str, Any],
    kind: SpanKind,
    attributes: Mapping[str, str],
    link: bool = False,
) -> Iterator[Span]:
    """A span of ``kind`` continuing the trace ``carrier`` names (``traceparent``, ``tracestate``:
    an event's), linked to that context if ``link``; current inside the block. Without tracing,
    nothing is read nor made."""
    if tracer() is NO_TRACER:
        yield trace.INVALID_SPAN
        return
    parent = context_of(carrier)
    producer = trace.get_current_span(parent).get_span_context()
    links = [Link(producer)] if link and producer.is_valid else []
    with tracer().start_as_current_span(
        name, context=parent, kind=kind, links=links, attributes=attributes
    ) as span:
        yield span


def consuming(
    name: str, carrier: Mapping[str, Any], attributes: Mapping[str, str]
) -> AbstractContextManager[Span]:
    """A CONSUMER span for one record, child of the producer's context the record carries and
    linked to it."""
    return continuing(name, carrier, SpanKind.CONSUMER, attributes, link=True)


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids (hex), if a span is current."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id a ``traceparent`` names (None without a valid one)."""
    context = trace.get_current_span(context_of({"traceparent": traceparent})).get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def exemplar(carrier: Mapping[str, Any] | None = None) -> dict[str, str] | None:
    """A histogram observation's exemplar, ``{"trace_id": ...}``: the current trace's, or the one
    ``carrier`` names (an event's), when it is sampled; None otherwise."""
    parent = None if carrier is None else context_of(carrier)
    context = trace.get_current_span(parent).get_span_context()
    if not (context.is_valid and context.trace_flags.sampled):
        return None
    return {"trace_id": trace.format_trace_id(context.trace_id)}


class TracedRequests:
    """Each HTTP request is a SERVER span (OpenTelemetry's ASGI middleware: a ``traceparent``
    header continues the caller's trace; the answer carries ``traceresponse``) named after its
    route (``POST /dossiers/{dossier_id}/study``), served with the service's tracer current."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self._tracing = tracing
        self._app = OpenTelemetryMiddleware(
            _named_by_route(app),
            tracer_provider=tracing.provider,
            exclude_spans=["receive", "send"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _tracer.set(self._tracing.tracer)
        try:
            await self._app(scope, receive, send)
        finally:
            _tracer.reset(token)


def _named_by_route(app: ASGIApp) -> ASGIApp:
    """Names the current (server) span after the route that answered, once it is known."""

    async def named(scope: Scope, receive: Receive, send: Send) -> None:
        async def answer(message: Message) -> None:
            path = getattr(scope.get("route"), "path", None)
            if message["type"] == "http.response.start" and path:
                span = trace.get_current_span()
                span.update_name(f"{scope.get('method', '')} {path}")
                span.set_attribute("http.route", path)
            await send(message)

        await app(scope, receive, answer)

    return named
