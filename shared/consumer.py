"""Consuming events: decode, dispatch by type, retry, dead-letter; commit only after handling.

Handlers are idempotent (they record the event id in the aggregate they change, in the same
guarded update), so a redelivered batch changes nothing twice. Three outcomes per record:

- handled (or a type this consumer does not handle): go on;
- it can never succeed (not a CloudEvent, unknown type, invalid data, ``PermanentError``, or a
  handler failing ``max_attempts`` times): send it to the dead-letter topic and go on;
- the infrastructure is down (store or broker unreachable): raise, so the batch is not committed
  and comes again once the consumer seeks back.

A record handled (or dead-lettered) is a CONSUMER span, child of the producer's span its event
names (``traceparent``) and linked to it; how long it took is
``poles_event_handling_seconds{consumer,type}``, with its trace id as exemplar.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, ExecutionTimeout, NetworkTimeout

from shared.cloudevents import CloudEvent, EnvelopeError
from shared.deadletter import DeadLetters
from shared.events.base import EventData, UnknownEventType, parse_event_data
from shared.logs import event_context
from shared.tracing import consuming, exemplar

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent, Any], Awaitable[None]]
"""Receives the CloudEvent and the event's typed data."""

EventT = TypeVar("EventT", bound=EventData)


class EventHandlers:
    """What a consumer does with each event type, registered by the event's model so that each
    handler receives its own typed data::

        EventHandlers().on(DossierSelected, sources.dossier_selected)
    """

    def __init__(self) -> None:
        self._by_type: dict[str, Handler] = {}

    def on(
        self, model: type[EventT], handler: Callable[[CloudEvent, EventT], Awaitable[None]]
    ) -> EventHandlers:
        if model.type_name in self._by_type:
            raise ValueError(f"{model.type_name} has a handler already")
        self._by_type[model.type_name] = handler
        return self

    def by_type(self) -> dict[str, Handler]:
        return dict(self._by_type)

    def types(self) -> list[str]:
        return sorted(self._by_type)


UNAVAILABLE: tuple[type[BaseException], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ExecutionTimeout,
    ConnectionError,
    TimeoutError,
)


def records_of(message: Any) -> Sequence[Any]:
    """The raw records a FastStream Kafka message carries: a batch subscriber's tuple, or one."""
    raw = message.raw_message
    return raw if isinstance(raw, tuple | list) else (raw,)


async def by_key_in_order(
    records: Sequence[Any], handle: Callable[[Any], Awaitable[None]], at_once: int = 16
) -> None:
    """Handle a batch: the records of one key (one aggregate) one after the other in their
    order, those of different keys at the same time (up to ``at_once`` keys), so that the
    store's round trips overlap instead of adding up.

    If any record raised, the first error is raised once every key is done: the batch is not
    committed and comes again, and the idempotent handlers skip what was applied."""
    by_key: dict[tuple[str, int, bytes | None], list[Any]] = {}
    for record in records:
        by_key.setdefault((record.topic, record.partition, record.key), []).append(record)
    slots = asyncio.Semaphore(at_once)

    async def in_order(group: list[Any]) -> None:
        async with slots:
            for record in group:
                await handle(record)

    outcomes = await asyncio.gather(*map(in_order, by_key.values()), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


class PermanentError(Exception):
    """The event is well-formed but can never be applied; retrying will not help."""


class EventConsumer:
    def __init__(
        self,
        name: str,
        handlers: EventHandlers,
        dead_letters: DeadLetters,
        registry: CollectorRegistry,
        max_attempts: int = 3,
        retry_delay: float = 0.2,
        fallback: Handler | None = None,
    ) -> None:
        self.name = name
        self._handlers = handlers.by_type()
        self._fallback = fallback
        self._dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._consumed = Counter(
            "poles_events_consumed_total",
            "Events read by a consumer, by type and outcome",
            ["consumer", "type", "outcome"],
            registry=registry,
        )
        self._handling = Histogram(
            "poles_event_handling_seconds",
            "Time a consumer took to apply one event (retries included), by type",
            ["consumer", "type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )

    async def handle_batch(self, records: Sequence[Any]) -> None:
        await by_key_in_order(records, self.handle_record)

    async def handle_record(self, record: Any) -> None:
        try:
            event = CloudEvent.from_kafka(record.headers or (), record.value)
            data = parse_event_data(event)
        except (EnvelopeError, UnknownEventType, ValidationError) as error:
            await self._dead_letter(record, error, attempts=1, event_type="invalid")
            return
        handler = self._handlers.get(event.type, self._fallback)
        if handler is None:
            self._consumed.labels(self.name, event.type, "ignored").inc()
            return
        carrier = {"traceparent": event.traceparent, "tracestate": event.tracestate}
        with (
            consuming(
                f"{record.topic} process",
                carrier,
                {
                    "messaging.system": "kafka",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": record.topic,
                    "messaging.consumer.group.name": self.name,
                    "messaging.message.id": event.id,
                    "cloudevents.event_type": event.type,
                },
            ),
            event_context(event.id, event.type),
        ):
            started = time.perf_counter()
            await self._apply(record, event, data, handler)
            took = time.perf_counter() - started
            self._handling.labels(self.name, event.type).observe(took, exemplar())

    async def _apply(
        self, record: Any, event: CloudEvent, data: EventData, handler: Handler
    ) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await handler(event, data)
            except UNAVAILABLE:
                log.warning("store or broker unavailable; the batch will come again")
                await asyncio.sleep(self._retry_delay)
                raise
            except PermanentError as error:
                await self._dead_letter(record, error, attempt, event.type)
                return
            except Exception as error:
                if attempt == self._max_attempts:
                    log.exception("handler failed %d times; dead-lettering", attempt)
                    await self._dead_letter(record, error, attempt, event.type)
                    return
                log.warning("handler failed (attempt %d): %r", attempt, error)
                await asyncio.sleep(self._retry_delay * attempt)
            else:
                self._consumed.labels(self.name, event.type, "handled").inc()
                return

    async def _dead_letter(
        self, record: Any, error: BaseException, attempts: int, event_type: str
    ) -> None:
        log.error(
            "dead-lettering %s[%s]@%s: %s", record.topic, record.partition, record.offset, error
        )
        await self._dead_letters.send(record, error, attempts)
        self._consumed.labels(self.name, event_type, "dead-lettered").inc()
