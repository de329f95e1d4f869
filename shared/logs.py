"""JSON logs, one object a line, that carry the id and type of the event being handled, and the
trace and span ids (``trace_id``, ``span_id``) of the span current when the line was written."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson

from shared.tracing import current_ids

_event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
_event_type: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_type", default=None)


@contextmanager
def event_context(event_id: str, event_type: str | None = None) -> Iterator[None]:
    """Every log line written inside carries this event's id and type."""
    id_token = _event_id.set(event_id)
    type_token = _event_type.set(event_type)
    try:
        yield
    finally:
        _event_id.reset(id_token)
        _event_type.reset(type_token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event_id = _event_id.get()
        if event_id is not None:
            line["event_id"] = event_id
            line["event_type"] = _event_type.get()
        ids = current_ids()
        if ids is not None:
            line["trace_id"], line["span_id"] = ids
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
