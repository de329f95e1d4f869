"""The pieces every service composes in its ``app`` module: clients, relay, consumer, HTTP app.

A service's composition root reads its settings, calls ``build_runtime``, builds its stores and
handlers on the runtime, and finishes with ``create_service_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.specification import AsyncAPI
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

from shared.clock import Clock, clock_from_settings
from shared.consumer import EventConsumer, EventHandlers, Handler, records_of
from shared.deadletter import DeadLetters
from shared.events.base import EventData
from shared.http import (
    BodySizeLimit,
    Readiness,
    RequestDurations,
    health_router,
    install_problem_answers,
)
from shared.kafka import broker_answers, create_broker, outbox_publisher, raw_sender
from shared.lag import ConsumerLag
from shared.logs import configure_logging
from shared.outbox import OutboxRelay, RelayMetrics
from shared.settings import ServiceSettings
from shared.store import Document, create_mongo_client
from shared.store_metrics import StoreCommandMetrics, StoreSpans
from shared.topics import Topic
from shared.tracing import TracedRequests, Tracing, setup_tracing
from shared.waiting import stop_if_cancelled

log = logging.getLogger(__name__)

Background = Callable[[], Coroutine[Any, Any, None]]

FIRST_RETRY_SECONDS = 0.5
LAST_RETRY_SECONDS = 10.0
"""A start retries what does not answer after 0.5 s, then twice as long each time, at most 10 s:
a broker or store back after any absence is found within 10 s (plus one attempt)."""

ATTEMPT_SECONDS = 20.0
"""One try to reach the broker or ping the store that has not ended by then failed: in `make chaos`,
restarts after a broker kill stayed 'starting' for minutes, silently awaiting something that never
answered. A startup step has no such bound: it may take longer on a busy store and still progress
(cut off at 20 s and started again, a restarted funding's steps never ended while the store was
busy after a kill), and each of its statements is bounded by the store's socket timeout (30 s)."""

SLOW_STARTUP_STEP_SECONDS = 2.0
"""A startup step slower than this is logged (a warning): what a restart waited on."""

_UNREACHABLE = (ConnectionFailure, KafkaError, OSError, TimeoutError)
"""Failures that mean "not there yet" (logged in one line); any other is logged with its
traceback (a startup step's bug), and retried all the same."""


def every(seconds: float, step: Callable[[], Awaitable[object]], name: str) -> Background:
    """A background job that runs ``step`` every ``seconds``; a failed pass is logged and the
    job goes on (a store that is down for a while must not end the service's clocks)."""

    async def job() -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; trying again in %ss", name, seconds)
            stop_if_cancelled()
            await asyncio.sleep(seconds)

    return job


@dataclass
class Runtime:
    """A service's clients and kernel parts, created once in its composition root."""

    settings: ServiceSettings
    registry: CollectorRegistry
    broker: KafkaBroker
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    clock: Clock
    relay: OutboxRelay | None = None
    background: list[Background] = field(default_factory=list)
    startup: list[Background] = field(default_factory=list)
    readiness: Readiness = field(default_factory=lambda: Readiness("store", "broker"))
    tracing: Tracing = field(default_factory=Tracing)

    def outbox_relay(self, collection_names: Sequence[str]) -> OutboxRelay:
        """The relay over the collections whose documents carry an outbox (one per service)."""
        self.relay = OutboxRelay(
            [self.db[name] for name in collection_names],
            outbox_publisher(self.broker, self.settings.topic_prefix),
            RelayMetrics(self.registry),
            lease=timedelta(seconds=self.settings.outbox_lease_seconds),
            poll_interval=self.settings.relay_poll_seconds,
        )
        self.every(self.settings.metrics_refresh_seconds, self.relay.observe, "outbox gauges")
        return self.relay

    @functools.cached_property
    def dead_letters(self) -> DeadLetters:
        """The service's one dead-letter route (its counter is registered once): the event
        consumer's, and any other subscriber's (calls' command topic)."""
        return DeadLetters(
            self.settings.service,
            raw_sender(self.broker),
            self.registry,
            self.settings.topic_prefix,
        )

    def every(self, seconds: float, step: Callable[[], Awaitable[object]], name: str) -> None:
        """Run ``step`` every ``seconds`` while the service runs (clocks, gauges)."""
        self.background.append(every(seconds, step, name))

    def topic_name(self, topic: Topic) -> str:
        """The topic's name on the broker (tests prefix every name to keep their runs apart)."""
        return self.settings.topic_prefix + topic.name

    def wake_relay(self, collection: str, document_id: str) -> None:
        """A store's ``on_events``: the relay publishes that document's events now."""
        if self.relay is not None:
            self.relay.wake(collection, document_id)

    def consume(
        self,
        topics: Sequence[Topic],
        handlers: EventHandlers,
        fallback: Handler | None = None,
    ) -> EventConsumer:
        """Subscribe the service's consumer group to ``topics``, dispatching by event type;
        ``fallback`` receives every type without a handler of its own (notify uses it)."""
        consumer = EventConsumer(
            self.settings.service,
            handlers,
            self.dead_letters,
            self.registry,
            max_attempts=self.settings.consumer_max_attempts,
            fallback=fallback,
        )

        async def on_records(message: KafkaMessage) -> None:
            await consumer.handle_batch(records_of(message))

        group_id = f"{self.settings.topic_prefix}poles-{self.settings.service}"
        names = [self.topic_name(topic) for topic in topics]
        self.background.append(ConsumerLag(self.settings, group_id, names, self.registry).run)
        self.broker.subscriber(
            *names,
            group_id=group_id,
            group_instance_id=self.settings.group_instance_id,
            batch=True,
            max_records=self.settings.consumer_max_records,
            auto_offset_reset="earliest",
            title=f"{self.settings.service}.consumer",
            description=f"{self.settings.service} reacts to: "
            + (", ".join(handlers.types()) or "every event"),
        )(on_records)
        return consumer

    async def start(self) -> list[asyncio.Task[None]]:
        """Wait for the store and the broker, however long, then start the service's work.

        The store is pinged and the startup steps (indexes, reference data) run, while the
        broker is asked, at the same time; the consumers start only once the startup steps
        ran (today's order), then the relay and the background jobs. Returns their tasks,
        which trace with the service's tracer.
        """
        self.tracing.use()
        await asyncio.gather(self._prepare_store(), self._reach_broker())
        await self._retry("broker", "starting the consumers", self._start_broker)
        tasks = [asyncio.create_task(job()) for job in self.background]
        if self.relay is not None:
            tasks.append(asyncio.create_task(self.relay.run()))
        self.readiness.started()
        log.info("%s is ready", self.settings.service)
        return tasks

    async def _prepare_store(self) -> None:
        await self._retry("store", "the store to answer a ping", self._ping_store)
        for step in self.startup:
            began = time.monotonic()
            await self._retry("store", f"the startup step {_name_of(step)}", step, bounded=False)
            if (took := time.monotonic() - began) > SLOW_STARTUP_STEP_SECONDS:
                log.warning(
                    "%s: the startup step %s took %.1f s",
                    self.settings.service,
                    _name_of(step),
                    took,
                )
        self.readiness.done("store")

    async def _ping_store(self) -> None:
        await self.db.command("ping")

    async def _reach_broker(self) -> None:
        await self._retry("broker", "the broker to answer", self._broker_answers)
        self.readiness.done("broker")

    async def _broker_answers(self) -> None:
        await broker_answers(self.settings)

    async def _start_broker(self) -> None:
        """Connect the producer and start the subscribers; a failure undoes what it started."""
        self.readiness.waiting("broker")
        try:
            await broker_answers(self.settings)
            await self.broker.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.broker.stop()
            raise
        self.readiness.done("broker")

    async def _retry(
        self,
        name: str,
        what: str,
        attempt: Callable[[], Awaitable[object]],
        bounded: bool = True,
    ) -> None:
        """Run ``attempt`` until it succeeds, ``name`` among what the service waits for meanwhile,
        sleeping a capped, doubling delay between tries; a ``bounded`` attempt that does not end
        within ``ATTEMPT_SECONDS`` failed (it is logged and tried again, never waited on for ever);
        cancellation ends it at once."""
        delay = FIRST_RETRY_SECONDS
        tries = 0
        while True:
            try:
                async with asyncio.timeout(ATTEMPT_SECONDS if bounded else None):
                    await attempt()
                if tries:
                    log.info(
                        "%s: %s succeeded after %s failed tries", self.settings.service, what, tries
                    )
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                tries += 1
                self.readiness.waiting(name)
                log.warning(
                    "%s is waiting for %s (try %s failed: %s); trying again in %.1f s",
                    self.settings.service,
                    what,
                    tries,
                    _said(error),
                    delay,
                    exc_info=not isinstance(error, _UNREACHABLE),
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_SECONDS)

    def declare_publications(self, catalogue: dict[Topic, Sequence[type[EventData]]]) -> None:
        """Document what the service publishes, topic by topic, in its AsyncAPI catalogue."""
        for topic, models in catalogue.items():
            names = ", ".join(model.type_name for model in models)
            self.broker.publisher(
                self.topic_name(topic),
                title=f"{topic.name}:publish",
                description=f"{topic.description}. CloudEvents types: {names}",
                schema=_one_of(models),
            )


def _said(error: Exception) -> str:
    """``Kind: message``, once (a KafkaError's message already starts with its kind)."""
    kind, message = type(error).__name__, str(error)
    return message if message.startswith(kind) else f"{kind}: {message}"


def _name_of(step: Callable[..., object]) -> str:
    name = getattr(step, "__qualname__", None) or repr(step)
    return str(name).replace(".<locals>", "")


def _one_of(models: Sequence[type[EventData]]) -> Any:
    if len(models) == 1:
        return models[0]
    from typing import Union

    return Union[tuple(models)]  # noqa: UP007 - a runtime union of classes


async def _tasks_of(starter: asyncio.Task[list[asyncio.Task[None]]]) -> list[asyncio.Task[None]]:
    """The tasks a start launched, or none if it was cancelled (or failed) before."""
    try:
        return await starter
    except asyncio.CancelledError:
        if not starter.cancelled():
            raise  # the lifespan itself is being cancelled
        return []
    except Exception:
        log.exception("the start failed")
        return []


def build_runtime(settings: ServiceSettings) -> Runtime:
    configure_logging(settings.service, settings.log_level)
    registry = CollectorRegistry()
    tracing = setup_tracing(settings.service, settings.otlp_endpoint, settings.trace_sampling)
    store_spans = [StoreSpans()] if tracing.on else []
    mongo = create_mongo_client(
        settings.mongo_url.get_secret_value(),
        settings.client_id,
        listeners=[StoreCommandMetrics(settings.service, registry), *store_spans],
    )
    return Runtime(
        settings=settings,
        registry=registry,
        broker=create_broker(settings, registry),
        mongo=mongo,
        db=mongo.get_database(settings.database_name),
        clock=clock_from_settings(
            settings.clock_start, settings.clock_speed, settings.clock_anchor
        ),
        tracing=tracing,
    )


def create_service_app(
    runtime: Runtime, *, title: str, description: str, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    settings = runtime.settings

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Serve at once: the store and the broker are waited for in the background, however
        # long they are away (/health/ready says what is missing).
        starter = asyncio.create_task(runtime.start(), name=f"{settings.service} start")
        log.info(
            "%s serves on port %s; starting (waiting for %s)",
            settings.service,
            settings.http_port,
            ", ".join(runtime.readiness.waiting_for),
        )
        try:
            yield
        finally:
            starter.cancel()
            tasks = await _tasks_of(starter)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runtime.broker.stop()
            await runtime.mongo.close()
            await asyncio.to_thread(runtime.tracing.shutdown)

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.readiness = runtime.readiness
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestDurations, registry=runtime.registry)
    if runtime.tracing.on:
        app.add_middleware(TracedRequests, tracing=runtime.tracing)
    install_problem_answers(app)

    async def started_enough() -> None:
        runtime.readiness.refuse_while_starting(settings.service)

    async def store_pings() -> bool:
        await runtime.db.command("ping")
        return True

    async def broker_pings() -> bool:
        return await runtime.broker.ping(timeout=2.0)

    app.include_router(
        health_router({"store": store_pings, "broker": broker_pings}, runtime.readiness)
    )
    for router in routers:
        # Until the store is up and prepared, a service's own routes answer 503 (Retry-After).
        app.include_router(router, dependencies=[Depends(started_enough)])

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        # OpenMetrics (with the histograms' exemplars) for a scraper that asks for it
        encode, media_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(runtime.registry), media_type=media_type)

    asyncapi: dict[str, Any] = {}

    @app.get("/asyncapi.json", tags=["catalogue"], summary="The service's events, as AsyncAPI 3.0")
    async def asyncapi_document() -> dict[str, Any]:
        if not asyncapi:
            spec = AsyncAPI(runtime.broker, title=title, version="1.0.0", description=description)
            asyncapi.update(spec.to_specification().to_jsonable())
        return asyncapi

    return app
