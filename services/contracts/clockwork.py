"""The background jobs: the contract clock (overdue events, activation), the pôle clock (the
group-3 labels lapsing on 1 January 2010) and the gauges.

The clock job asks the store for the contracts whose ``next_clock_at`` has passed, and for each
one runs ``tick`` and saves its events with the flags that stop them firing again, in one
guarded update (``ContractRepository.save``): two instances, or a restart, cannot raise the same
event twice. The pôle clock does the same with the pôles whose label lapses: the status moves to
``lapsed`` in the save that queues ``PoleLabelLapsed``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.contracts.domain.clocks import reports_overdue, signature_overdue, tick
from services.contracts.domain.contract import STATUSES
from services.contracts.store import ContractQueries, ContractRepository, PoleRepository
from shared.clock import Clock
from shared.events.base import EventData
from shared.store import retry_on_conflict

log = logging.getLogger(__name__)

Due = Callable[[datetime], Awaitable[list[str]]]
"""The ids of the contracts with a clock event due at an instant (``ContractQueries.due``)."""


class ContractMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.contracts = Gauge(
            "poles_contracts", "Performance contracts by status", ["status"], registry=registry
        )
        self.signatures_overdue = Gauge(
            "poles_contract_signatures_overdue",
            "Contracts not signed by every party after their signature deadline",
            registry=registry,
        )
        self.reports_overdue = Gauge(
            "poles_indicator_reports_overdue",
            "Yearly indicator reports past their due date and still not filed",
            registry=registry,
        )
        self.clock_events = Counter(
            "poles_contract_clock_events_total",
            "Events raised by the contract clock",
            ["type"],
            registry=registry,
        )


async def fire_due(contracts: ContractRepository, due: Due, metrics: ContractMetrics) -> int:
    """One pass of the clock over the contracts ``due`` names; returns how many events it
    raised."""
    ids = await due(contracts.clock.now())
    return await each(ids, functools.partial(fire, contracts, metrics=metrics))


async def each(ids: list[str], raise_one: Callable[[str], Awaitable[int]]) -> int:
    """Raise what is due on each aggregate, one after the other, again after a lost race."""
    raised = 0
    for aggregate_id in ids:
        raised += await retry_on_conflict(functools.partial(raise_one, aggregate_id))
    return raised


def counted(metrics: ContractMetrics, events: Sequence[EventData]) -> int:
    for event in events:
        metrics.clock_events.labels(event.type_name).inc()
    return len(events)


async def fire(contracts: ContractRepository, contract_id: str, metrics: ContractMetrics) -> int:
    """Raise what is due on one contract, flagged in the same save; nothing is saved when
    nothing is due (another instance may have raised it first)."""
    found = await contracts.get(contract_id)
    if found is None:
        return 0
    now = contracts.clock.now()
    decision = tick(found.state, now)
    if decision.events:
        await contracts.save(found, decision, now)
    return counted(metrics, decision.events)


async def fire_lapses(poles: PoleRepository, due: Due, metrics: ContractMetrics) -> int:
    """One pass of the pôle clock over the pôles ``due`` names (``PoleQueries.lapsing``)."""
    return await each(
        await due(poles.clock.now()), functools.partial(lapse, poles, metrics=metrics)
    )


async def lapse(poles: PoleRepository, pole_id: str, metrics: ContractMetrics) -> int:
    found = await poles.get(pole_id)
    if found is None:
        return 0
    now = poles.clock.now()
    decision = found.state.lapse(now)
    if decision is None:
        return 0  # renewed, delabelled or lapsed already (another instance raised it)
    await poles.save(found, decision, now)
    return counted(metrics, decision.events)


async def refresh_gauges(
    contracts: ContractQueries, clock: Clock, metrics: ContractMetrics
) -> None:
    now = clock.now()
    every = await contracts.find()
    for status in STATUSES:
        metrics.contracts.labels(status).set(sum(c.status == status for c in every))
    metrics.signatures_overdue.set(sum(signature_overdue(c, now) for c in every))
    metrics.reports_overdue.set(sum(len(reports_overdue(c, now)) for c in every))
