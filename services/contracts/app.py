"""Composition root of the contracts service: ``python -m services.contracts.app``."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from services.contracts import reactions
from services.contracts.api.commands import contract_commands
from services.contracts.api.correspondents import correspondent_routes
from services.contracts.api.poles import pole_routes
from services.contracts.api.reads import contract_reads
from services.contracts.clockwork import ContractMetrics, fire_due, fire_lapses, refresh_gauges
from services.contracts.handlers import ContractHandlers
from services.contracts.settings import ContractsSettings
from services.contracts.store import (
    CONTRACTS,
    MONEY,
    POLES,
    ContractQueries,
    ContractRepository,
    MoneyRepository,
    PoleQueries,
    PoleRepository,
)
from shared.asof import TopicLog
from shared.auth import authenticator
from shared.clock import Clock
from shared.events.contracts import CONTRACT_EVENTS, POLE_EVENTS
from shared.service import build_runtime, create_service_app
from shared.store import AggregateStore
from shared.topics import CONTRACTS_CONTRACT, CONTRACTS_POLE


def create_app(settings: ContractsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """``clock`` replaces the settings' clock (tests pass a ManualClock)."""
    settings = settings or ContractsSettings()
    runtime = build_runtime(settings)
    if clock is not None:
        runtime.clock = clock
    contracts = ContractRepository(
        AggregateStore(runtime.db[CONTRACTS], runtime.wake_relay), runtime.clock
    )
    poles = PoleRepository(AggregateStore(runtime.db[POLES], runtime.wake_relay), runtime.clock)
    money = MoneyRepository(AggregateStore(runtime.db[MONEY]), runtime.clock)
    contract_queries = ContractQueries(runtime.db[CONTRACTS])
    pole_queries = PoleQueries(runtime.db[POLES])
    runtime.outbox_relay([CONTRACTS, POLES])
    handlers = ContractHandlers(
        contracts, poles, lambda pole_id: contract_queries.find(pole_id=pole_id)
    )
    metrics = ContractMetrics(runtime.registry)

    runtime.startup += [
        contract_queries.create_indexes,
        pole_queries.create_indexes,
        poles.load_reference,
    ]

    runtime.every(
        settings.contracts_clock_seconds,
        lambda: fire_due(contracts, contract_queries.due, metrics),
        "contract clock",
    )
    runtime.every(
        settings.contracts_clock_seconds,
        lambda: fire_lapses(poles, pole_queries.lapsing, metrics),
        "pôle clock",
    )
    runtime.every(
        settings.metrics_refresh_seconds,
        lambda: refresh_gauges(contract_queries, runtime.clock, metrics),
        "contract gauges",
    )
    runtime.consume(reactions.TOPICS, reactions.reactions(reactions.MoneyFollower(money)))
    runtime.declare_publications({CONTRACTS_CONTRACT: CONTRACT_EVENTS, CONTRACTS_POLE: POLE_EVENTS})
    authenticate = authenticator(settings.auth_secret.get_secret_value())
    log = TopicLog(settings)
    return create_service_app(
        runtime,
        title="Pôles 2.0 — contracts",
        description="Performance contracts of the pôles de compétitivité, from the strategic "
        "roadmap to the evaluation; the reference list of pôles and their labels.",
        routers=[
            contract_commands(handlers, authenticate),
            contract_reads(contracts, contract_queries, runtime.clock, authenticate, log),
            pole_routes(handlers, pole_queries, authenticate, log),
            correspondent_routes(contract_queries, money, runtime.clock, authenticate),
        ],
    )


def main() -> None:
    settings = ContractsSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
