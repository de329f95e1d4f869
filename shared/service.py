"""The pieces every service composes in its ``app`` module: clients, relay, consumer, HTTP app.

A service's composition root reads its settings, calls ``build_runtime``, builds its stores and
handlers on the runtime, and finishes with ``create_service_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock, clock_from_settings
from shared.consumer import EventConsumer, EventHandlers, Handler, records_of
from shared.deadletter import DeadLetters
from shared.events.base import EventData
from shared.http import BodySizeLimit, health_router, install_problem_answers
from shared.kafka import create_broker, outbox_publisher, raw_sender
from shared.lag import ConsumerLag
from shared.logs import configure_logging
from shared.outbox import OutboxRelay, RelayMetrics
from shared.settings import ServiceSettings
from shared.store import Document, create_mongo_client
from shared.store_metrics import StoreCommandMetrics
from shared.topics import Topic

log = logging.getLogger(__name__)

Background = Callable[[], Coroutine[Any, Any, None]]


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
            batch=True,
            max_records=self.settings.consumer_max_records,
            auto_offset_reset="earliest",
            title=f"{self.settings.service}.consumer",
            description=f"{self.settings.service} reacts to: "
            + (", ".join(handlers.types()) or "every event"),
        )(on_records)
        return consumer

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


def _one_of(models: Sequence[type[EventData]]) -> Any:
    if len(models) == 1:
        return models[0]
    from typing import Union

    return Union[tuple(models)]  # noqa: UP007 - a runtime union of classes


def build_runtime(settings: ServiceSettings) -> Runtime:
    configure_logging(settings.service, settings.log_level)
    registry = CollectorRegistry()
    mongo = create_mongo_client(
        settings.mongo_url.get_secret_value(),
        settings.client_id,
        listeners=[StoreCommandMetrics(settings.service, registry)],
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
    )


def create_service_app(
    runtime: Runtime, *, title: str, description: str, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    settings = runtime.settings

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for step in runtime.startup:
            await step()
        await runtime.broker.start()
        tasks = [asyncio.create_task(job()) for job in runtime.background]
        if runtime.relay is not None:
            tasks.append(asyncio.create_task(runtime.relay.run()))
        log.info("%s started on port %s", settings.service, settings.http_port)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runtime.broker.stop()
            await runtime.mongo.close()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_problem_answers(app)

    async def store_answers() -> bool:
        await runtime.db.command("ping")
        return True

    async def broker_answers() -> bool:
        return await runtime.broker.ping(timeout=2.0)

    app.include_router(health_router({"store": store_answers, "broker": broker_answers}))
    for router in routers:
        app.include_router(router)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    asyncapi: dict[str, Any] = {}

    @app.get("/asyncapi.json", tags=["catalogue"], summary="The service's events, as AsyncAPI 3.0")
    async def asyncapi_document() -> dict[str, Any]:
        if not asyncapi:
            spec = AsyncAPI(runtime.broker, title=title, version="1.0.0", description=description)
            asyncapi.update(spec.to_specification().to_jsonable())
        return asyncapi

    return app
