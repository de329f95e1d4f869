"""A tiny OTLP/HTTP trace receiver on loopback: what the services export, kept in memory.

It answers ``POST /v1/traces`` (protobuf, gzip or not) as a collector does and decodes each
``ExportTraceServiceRequest`` with opentelemetry-proto's own classes: a test reads the spans the
services really exported, over the wire, with the service each came from.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.loopback import loopback_socket, serving


@dataclass(frozen=True)
class ReceivedSpan:
    """One exported span (ids in hex, as logs and headers write them)."""

    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str
    links: tuple[tuple[str, str], ...]
    """(trace id, span id) of each linked span."""
    attributes: dict[str, str]


@dataclass
class OtlpReceiver:
    endpoint: str
    """What ``POLES_OTLP_ENDPOINT`` names: the receiver's base URL."""
    spans: list[ReceivedSpan] = field(default_factory=list)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [span for span in self.spans if span.trace_id == trace_id]

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(_received(resource.get("service.name", "?"), span))


def _received(service: str, span: ProtoSpan) -> ReceivedSpan:
    return ReceivedSpan(
        service=service,
        name=span.name,
        kind=ProtoSpan.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
        attributes={a.key: a.value.string_value for a in span.attributes},
    )


@asynccontextmanager
async def otlp_receiver() -> AsyncIterator[OtlpReceiver]:
    """An OTLP/HTTP receiver served by uvicorn in this process on a free loopback port."""
    sock = loopback_socket()
    receiver = OtlpReceiver(f"http://127.0.0.1:{sock.getsockname()[1]}")

    async def traces(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        receiver.receive(body)
        answer = ExportTraceServiceResponse().SerializeToString()
        return Response(answer, media_type="application/x-protobuf")

    app = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
    async with serving(app, sock):
        yield receiver
