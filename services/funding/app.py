"""Composition root of the funding service: ``python -m services.funding.app`` runs it."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import uvicorn
from fastapi import FastAPI

from services.funding.api.commands import command_router
from services.funding.api.financing import financing_router
from services.funding.api.reads import read_router
from services.funding.domain.envelope import load_envelope
from services.funding.handlers.budget import Budget, load_lines
from services.funding.handlers.financing import Financings
from services.funding.handlers.ledgers import Ledgers
from services.funding.handlers.sources import SourceEvents
from services.funding.handlers.trial import TransferTrials
from services.funding.metrics import BudgetMetrics
from services.funding.reactions import TOPICS, reactions
from services.funding.settings import FundingSettings
from services.funding.store import OUTBOX_COLLECTIONS, FundingStore
from services.funding.views import BudgetViews
from shared.asof import TopicLog
from shared.auth import authenticator
from shared.clock import Clock
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentRefused,
    EnvelopeAmended,
    FinancerCommitted,
    FinancerOverdue,
    FinancingCompleted,
    FinancingOpened,
    FinancingRefused,
    LedgerCommitted,
    LedgerPaid,
    LineLoaded,
    LineThresholdCrossed,
    LineTransferred,
    OverlapFlagged,
    PaymentRecorded,
)
from shared.service import build_runtime, create_service_app
from shared.topics import FUNDING_COMMITMENT, FUNDING_FINANCING, FUNDING_LEDGER, FUNDING_LINE

log = logging.getLogger(__name__)

__all__ = ["create_app", "load_lines", "main"]

DESCRIPTION = """The 1,500 M€ envelope of Pôles 2.0 (2009-2011, then extended by amendments), its
lines and sub-lines, commitments and payments, and the other financers' ledgers. The sum committed
on a line never exceeds the line; every change to money is an event."""


def follow_up_sweeps(
    sweeps: Sequence[Callable[[timedelta], Awaitable[int]]], grace: timedelta
) -> Callable[[], Awaitable[None]]:
    """A pass of the sweeps that complete the follow-ups of decisions a crash left pending.

    The first pass, as soon as the service is ready, takes every pending entry: it no longer
    holds the start back (on a busy store the sweeps took 2 to 14 s of a restart in make chaos),
    and the consumers may run meanwhile, since every follow-up is an idempotent step. The later
    passes leave the entries saved within ``grace`` to the handler that is completing them."""
    passes = itertools.count()

    async def sweep() -> None:
        older_than = timedelta(0) if next(passes) == 0 else grace
        for one in sweeps:
            await one(older_than)

    return sweep


def create_app(settings: FundingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """``clock`` replaces the runtime's clock: the one way tests set the domain's time."""
    settings = settings or FundingSettings()
    envelope = load_envelope(settings.envelope_file)
    runtime = build_runtime(settings)
    if clock is not None:
        runtime.clock = clock
    store = FundingStore(
        runtime.db, runtime.wake_relay, runtime.clock, attempts=settings.commit_attempts
    )
    runtime.outbox_relay(OUTBOX_COLLECTIONS)
    metrics = BudgetMetrics(runtime.registry, envelope)
    budget = Budget(store.books, metrics, show=store.refresh_commitment_view)
    financings = Financings(
        store.books.financings,
        budget,
        Ledgers(store.books.ledgers),
        envelope,
        store,
        settings.funding_financer_days,
        runtime.registry,
    )
    views = BudgetViews(store, envelope)
    trials = TransferTrials(store.books, envelope)

    async def refresh_metrics() -> None:
        lines = await store.all_lines([spec.id for spec in envelope.leaves])
        metrics.show(lines, await store.paid_by_line())

    async def load() -> None:
        await budget.open_envelope(envelope)

    # Ready waits only for what the consumers need: the indexes and the envelope's lines. The
    # gauges, the follow-ups a crash left and the financers' due dates are background jobs whose
    # first pass runs as soon as the service is ready.
    runtime.startup.extend([store.create_indexes, load])
    runtime.every(settings.metrics_refresh_seconds, refresh_metrics, "budget gauges")
    grace = timedelta(seconds=settings.follow_up_grace_seconds)
    sweeps = follow_up_sweeps([budget.sweep, financings.sweep], grace)
    runtime.every(settings.follow_up_sweep_seconds, sweeps, "follow-ups sweep")
    runtime.every(
        settings.funding_financing_check_seconds, financings.check_overdue, "financing due dates"
    )
    runtime.consume(TOPICS, reactions(SourceEvents(budget, financings, envelope, store)))
    runtime.declare_publications(
        {
            FUNDING_LINE: [LineLoaded, LineThresholdCrossed, LineTransferred, EnvelopeAmended],
            FUNDING_COMMITMENT: [
                CommitmentMade,
                CommitmentRefused,
                CommitmentDecommitted,
                PaymentRecorded,
            ],
            FUNDING_LEDGER: [LedgerCommitted, LedgerPaid],
            FUNDING_FINANCING: [
                FinancingOpened,
                FinancerCommitted,
                FinancingCompleted,
                FinancingRefused,
                FinancerOverdue,
                OverlapFlagged,
            ],
        }
    )
    authenticate = authenticator(settings.auth_secret.get_secret_value())
    return create_service_app(
        runtime,
        title="Pôles 2.0 funding",
        description=DESCRIPTION,
        routers=[
            command_router(budget, trials, envelope, runtime.clock, authenticate),
            read_router(views, budget, store, runtime.clock, authenticate, TopicLog(settings)),
            financing_router(financings, views, authenticate),
        ],
    )


def main() -> None:
    settings = FundingSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
