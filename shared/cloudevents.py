"""The CloudEvents 1.0 envelope in Kafka binary mode: attributes in ``ce_*`` headers, JSON body.

Any Kafka client (kcat, an integrator's consumer) reads the event's id, type, source, time and
subject from the headers, and the data from the value. An event may carry the CloudEvents
distributed-tracing extension (``traceparent``, ``tracestate``: ``ce_traceparent``, ...): the
trace it was produced in; events without it are read as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class EnvelopeError(ValueError):
    """A Kafka record that is not a readable CloudEvent."""


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=200)
    specversion: str = SPEC_VERSION
    time: datetime
    subject: str | None = None
    datacontenttype: str = CONTENT_TYPE
    data: dict[str, Any]
    traceparent: str | None = Field(default=None, max_length=200)
    tracestate: str | None = Field(default=None, max_length=600)

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_id", self.id),
            ("ce_type", self.type),
            ("ce_source", self.source),
            ("ce_specversion", self.specversion),
            ("ce_time", self.time.isoformat()),
            ("content-type", self.datacontenttype),
        ]
        optional = {
            "ce_subject": self.subject,
            "ce_traceparent": self.traceparent,
            "ce_tracestate": self.tracestate,
        }
        headers.extend((name, value) for name, value in optional.items() if value is not None)
        return [(name, value.encode()) for name, value in headers]

    def kafka_value(self) -> bytes:
        return orjson.dumps(self.data)

    def structured(self) -> dict[str, Any]:
        """The CloudEvents structured JSON form (what webhooks carry)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_kafka(cls, headers: Iterable[tuple[str, bytes]], value: bytes | None) -> CloudEvent:
        attributes: dict[str, str] = {}
        for name, raw in headers:
            if name.startswith("ce_"):
                attributes[name[3:]] = raw.decode("utf-8", errors="replace")
        missing = {"id", "type", "source", "time"} - attributes.keys()
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(sorted(missing))}")
        if value is None:
            raise EnvelopeError("the record has no body")
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as error:
            raise EnvelopeError(f"the body is not JSON: {error}") from error
        if not isinstance(data, dict):
            raise EnvelopeError("the body is not a JSON object")
        return cls.model_validate({**attributes, "data": data})


def new_event_id() -> str:
    return str(uuid.uuid4())
