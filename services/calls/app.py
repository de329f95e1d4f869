"""The calls service's composition root: ``python -m services.calls.app`` runs it."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from services.calls import command_topic, labels, reactions
from services.calls.api import commands_router, queries_router
from services.calls.domain.call_types import call_types
from services.calls.handlers import CommandHandlers
from services.calls.labels import POLE_LABELS, LabelView
from services.calls.metrics import CallsMetrics
from services.calls.settings import CallsSettings
from services.calls.store import (
    CALLS,
    DOSSIERS,
    MongoQueries,
    call_repository,
    create_indexes,
    dossier_repository,
)
from shared.asof import TopicLog
from shared.auth import authenticator
from shared.clock import Clock
from shared.events import calls as events
from shared.service import build_runtime, create_service_app
from shared.store import AggregateStore
from shared.topics import CALLS_CALL, CALLS_COMMAND_RESULT, CALLS_DOSSIER

log = logging.getLogger(__name__)


def create_app(settings: CallsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """``clock`` replaces the runtime's clock: the one way tests set the domain's time."""
    settings = settings or CallsSettings()
    call_types()  # read and checked now: a wrong call_types.json stops the start
    runtime = build_runtime(settings)
    if clock is not None:
        runtime.clock = clock
    runtime.outbox_relay([CALLS, DOSSIERS])
    handlers = CommandHandlers(
        call_repository(AggregateStore(runtime.db[CALLS], runtime.wake_relay), runtime.clock),
        dossier_repository(AggregateStore(runtime.db[DOSSIERS], runtime.wake_relay), runtime.clock),
        MongoQueries(runtime.db),
        CallsMetrics(runtime.registry),
        LabelView(AggregateStore(runtime.db[POLE_LABELS]), runtime.clock),
    )
    runtime.startup.append(lambda: create_indexes(runtime.db))
    runtime.every(settings.calls_close_check_seconds, handlers.close_due_calls, "closing due calls")
    runtime.every(
        settings.metrics_refresh_seconds,
        lambda: handlers.metrics.refresh(handlers.queries),
        "refreshing dossier gauges",
    )
    command_topic.subscribe(runtime, handlers)
    # One consumer group, so one consume: funding's answers and contracts' label decisions.
    runtime.consume(
        reactions.TOPICS + labels.TOPICS,
        handlers.labels.reactions(reactions.reactions(reactions.FundingAnswers(handlers.dossiers))),
    )
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
                events.DossierEvaluated,
                events.DossierSelected,
                events.DossierNotSelected,
                events.DossierFunded,
                events.DossierFundingRefused,
            ],
            CALLS_COMMAND_RESULT: [events.CommandAccepted, events.CommandRejected],
        }
    )
    authenticate = authenticator(settings.auth_secret.get_secret_value())
    app = create_service_app(
        runtime,
        title="Pôles 2.0 — calls",
        description="Calls for projects, from their opening to the selection of dossiers.",
        routers=[
            commands_router(handlers, authenticate),
            queries_router(handlers, authenticate, TopicLog(settings)),
        ],
    )

    async def invalid_request(request: Request, error: Exception) -> Response:
        handlers.metrics.rejected.labels("invalid").inc()
        assert isinstance(error, RequestValidationError)
        return await request_validation_exception_handler(request, error)

    app.add_exception_handler(RequestValidationError, invalid_request)
    return app


def main() -> None:
    settings = CallsSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
