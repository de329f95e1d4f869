"""Composition root of the funding service: ``python -m services.funding.app`` runs it."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

from services.funding.api.commands import command_router
from services.funding.api.reads import read_router
from services.funding.domain.envelope import Envelope, load_envelope
from services.funding.domain.line import new_line
from services.funding.handlers.budget import Budget
from services.funding.handlers.own_events import OwnEvents
from services.funding.handlers.sources import SourceEvents
from services.funding.metrics import BudgetMetrics
from services.funding.reads import BudgetReads
from services.funding.settings import FundingSettings
from services.funding.store import OUTBOX_COLLECTIONS, FundingStore
from services.funding.subscribers import TOPICS, subscribers
from shared.auth import authenticator
from shared.clock import Clock
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentRefused,
    LineLoaded,
    LineThresholdCrossed,
    LineTransferred,
    PaymentRecorded,
    PromiseRecorded,
)
from shared.service import build_runtime, create_service_app
from shared.topics import FUNDING_COMMITMENT, FUNDING_LEDGER, FUNDING_LINE

log = logging.getLogger(__name__)

DESCRIPTION = """The 1,500 M€ envelope of Pôles 2.0 (2009-2011), its lines and sub-lines,
commitments and payments, and the other financers' ledgers. The sum committed on a line never
exceeds the line; every change to money is an event."""


async def load_lines(store: FundingStore, envelope: Envelope, clock: Clock) -> None:
    """Create the line documents the envelope names and the store lacks (idempotent)."""
    now = clock.now()
    for spec in envelope.leaves:
        state, loaded = new_line(spec, envelope, now)
        if await store.create_line(state, [loaded], now):
            log.info("line %s loaded with %d cents", spec.id, spec.amount_cents)


def create_app(settings: FundingSettings | None = None) -> FastAPI:
    settings = settings or FundingSettings()
    envelope = load_envelope(settings.envelope_file)
    runtime = build_runtime(settings)
    store = FundingStore(runtime.db, on_events=runtime.wake_relay)
    runtime.outbox_relay(OUTBOX_COLLECTIONS)
    metrics = BudgetMetrics(runtime.registry, envelope)
    budget = Budget(store, runtime.clock, metrics, settings.commit_attempts)

    async def refresh_metrics() -> None:
        lines = await store.all_lines([spec.id for spec in envelope.leaves])
        metrics.show(lines, await store.paid_by_line())

    async def load() -> None:
        await load_lines(store, envelope, runtime.clock)

    runtime.startup.extend([store.create_indexes, load, refresh_metrics])
    runtime.every(settings.metrics_refresh_seconds, refresh_metrics, "budget gauges")
    runtime.consume(
        TOPICS,
        subscribers(SourceEvents(budget, store, envelope, runtime.clock), OwnEvents(budget, store)),
    )
    runtime.declare_publications(
        {
            FUNDING_LINE: [LineLoaded, LineThresholdCrossed, LineTransferred],
            FUNDING_COMMITMENT: [
                CommitmentMade,
                CommitmentRefused,
                CommitmentDecommitted,
                PaymentRecorded,
            ],
            FUNDING_LEDGER: [PromiseRecorded],
        }
    )
    authenticate = authenticator(settings.auth_secret.get_secret_value())
    return create_service_app(
        runtime,
        title="Pôles 2.0 funding",
        description=DESCRIPTION,
        routers=[
            command_router(budget, envelope, runtime.clock, authenticate),
            read_router(BudgetReads(store, envelope), budget, store, runtime.clock, authenticate),
        ],
    )


def main() -> None:
    settings = FundingSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
