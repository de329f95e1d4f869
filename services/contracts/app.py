"""Composition root of the contracts service: ``python -m services.contracts.app``."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from services.contracts.api import install_error_handlers
from services.contracts.api.commands import contract_commands
from services.contracts.api.poles import pole_routes
from services.contracts.api.reads import contract_reads
from services.contracts.clockwork import ContractMetrics, fire_due, refresh_gauges
from services.contracts.handlers import ContractHandlers
from services.contracts.settings import ContractsSettings
from services.contracts.store import CONTRACTS, POLES, ContractRepository, PoleRepository
from shared.auth import authenticator
from shared.clock import Clock
from shared.events.contracts import CONTRACT_EVENTS, POLE_EVENTS
from shared.service import build_runtime, create_service_app
from shared.topics import CONTRACTS_CONTRACT, CONTRACTS_POLE


def create_app(settings: ContractsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """``clock`` replaces the settings' clock (tests pass a ManualClock)."""
    settings = settings or ContractsSettings()
    runtime = build_runtime(settings)
    if clock is not None:
        runtime.clock = clock
    contracts = ContractRepository(runtime.db, runtime.wake_relay)
    poles = PoleRepository(runtime.db, runtime.wake_relay)
    runtime.outbox_relay([CONTRACTS, POLES])
    handlers = ContractHandlers(contracts, poles, runtime.clock)
    metrics = ContractMetrics(runtime.registry)

    runtime.startup += [contracts.create_indexes, poles.create_indexes, poles.load_reference]

    runtime.every(
        settings.contracts_clock_seconds,
        lambda: fire_due(contracts, runtime.clock, metrics),
        "contract clock",
    )
    runtime.every(
        settings.metrics_refresh_seconds,
        lambda: refresh_gauges(contracts, runtime.clock, metrics),
        "contract gauges",
    )
    runtime.declare_publications({CONTRACTS_CONTRACT: CONTRACT_EVENTS, CONTRACTS_POLE: POLE_EVENTS})
    authenticate = authenticator(settings.auth_secret.get_secret_value())
    app = create_service_app(
        runtime,
        title="Pôles 2.0 — contracts",
        description="Performance contracts of the pôles de compétitivité, from the strategic "
        "roadmap to the evaluation; the reference list of pôles and their labels.",
        routers=[
            contract_commands(handlers, authenticate),
            contract_reads(contracts, runtime.clock, authenticate),
            pole_routes(handlers, authenticate),
        ],
    )
    install_error_handlers(app)
    return app


def main() -> None:
    settings = ContractsSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
