"""The calls service's composition root: ``python -m services.calls.app`` runs it."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from faststream.kafka.annotations import KafkaMessage
from starlette.responses import Response

from services.calls.api import command_error_response, commands_router, queries_router
from services.calls.domain.errors import CommandError
from services.calls.handlers import CommandHandlers
from services.calls.metrics import CallsMetrics
from services.calls.settings import CallsSettings
from services.calls.store import CALLS, DOSSIERS, CallRepository, DossierRepository, create_indexes
from services.calls.subscribers import CommandTopic
from shared.auth import authenticator
from shared.clock import Clock
from shared.consumer import by_key_in_order, records_of
from shared.deadletter import DeadLetters
from shared.events import calls as events
from shared.kafka import outbox_publisher, raw_sender
from shared.service import Runtime, build_runtime, create_service_app
from shared.store import AggregateStore
from shared.topics import CALLS_CALL, CALLS_COMMAND, CALLS_COMMAND_RESULT, CALLS_DOSSIER

log = logging.getLogger(__name__)


def create_app(settings: CallsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """``clock`` replaces the runtime's clock: the one way tests set the domain's time."""
    settings = settings or CallsSettings()
    runtime = build_runtime(settings)
    if clock is not None:
        runtime.clock = clock
    runtime.outbox_relay([CALLS, DOSSIERS])
    handlers = CommandHandlers(
        CallRepository(runtime.db, AggregateStore(runtime.db[CALLS], runtime.wake_relay)),
        DossierRepository(runtime.db, AggregateStore(runtime.db[DOSSIERS], runtime.wake_relay)),
        runtime.clock,
        CallsMetrics(runtime.registry),
    )
    runtime.startup.append(lambda: create_indexes(runtime.db))
    runtime.every(settings.calls_close_check_seconds, handlers.close_due_calls, "closing due calls")
    runtime.every(
        settings.metrics_refresh_seconds,
        lambda: handlers.metrics.refresh(handlers.dossiers),
        "refreshing dossier gauges",
    )
    subscribe_commands(runtime, handlers, settings)
    runtime.declare_publications(
        {
            CALLS_CALL: [events.CallOpened, events.CallClosed],
            CALLS_DOSSIER: [
                events.DossierSubmitted,
                events.DossierReplaced,
                events.DossierWithdrawn,
                events.DossierFoundEligible,
                events.DossierFoundIneligible,
                events.PreselectionVoted,
                events.DossierPreselected,
                events.DossierNotPreselected,
                events.StudyCommissioned,
                events.StudyCompleted,
                events.DossierSelected,
                events.DossierNotSelected,
            ],
            CALLS_COMMAND_RESULT: [events.CommandAccepted, events.CommandRejected],
        }
    )
    authenticate = authenticator(settings.auth_secret.get_secret_value())
    app = create_service_app(
        runtime,
        title="Pôles 2.0 — calls",
        description="Calls for projects, from their opening to the selection of dossiers.",
        routers=[commands_router(handlers, authenticate), queries_router(handlers, authenticate)],
    )
    app.add_exception_handler(CommandError, command_error_response)

    async def invalid_request(request: Request, error: Exception) -> Response:
        handlers.metrics.rejected.labels("invalid").inc()
        assert isinstance(error, RequestValidationError)
        return await request_validation_exception_handler(request, error)

    app.add_exception_handler(RequestValidationError, invalid_request)
    return app


def subscribe_commands(
    runtime: Runtime, handlers: CommandHandlers, settings: CallsSettings
) -> None:
    topic = CommandTopic(
        handlers,
        settings.auth_secret.get_secret_value(),
        outbox_publisher(runtime.broker, settings.topic_prefix),
        DeadLetters(
            settings.service, raw_sender(runtime.broker), runtime.registry, settings.topic_prefix
        ),
    )

    async def on_commands(message: KafkaMessage) -> None:
        # Commands with the same key are run in their order; others at the same time.
        await by_key_in_order(records_of(message), topic.handle)

    runtime.broker.subscriber(
        runtime.topic_name(CALLS_COMMAND),
        group_id=f"{settings.topic_prefix}poles-calls-commands",
        batch=True,
        max_records=settings.consumer_max_records,
        auto_offset_reset="earliest",
        title="calls.command:subscribe",
        description="commands from the State's and the CDC's systems (JSON, bearer token in "
        "the 'authorization' header); answers on calls.command-result",
    )(on_commands)


def main() -> None:
    settings = CallsSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
