"""The calls service's handlers on in-memory aggregates (``tests.support.memory``), for unit and
component tests only (the integration tests run the real store). The queries beside the
repositories are answered from the stored states."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from services.calls.domain.call import CallState
from services.calls.domain.dossier import DossierState
from services.calls.handlers import CommandHandlers
from services.calls.labels import POLE_LABELS, LabelView
from services.calls.metrics import CallsMetrics
from services.calls.store import (
    CALLS,
    DOSSIERS,
    CallsQueries,
    DossierFilter,
    call_repository,
    dossier_repository,
)
from shared.clock import ManualClock
from tests.support.memory import MemoryAggregates


class MemoryQueries(CallsQueries):
    def __init__(self, calls: MemoryAggregates, dossiers: MemoryAggregates) -> None:
        self._calls = calls
        self._dossiers = dossiers
        self._receipts: Counter[str] = Counter()

    async def next_receipt_number(self, call_id: str) -> int:
        self._receipts[call_id] += 1
        return self._receipts[call_id]

    async def due_for_closing(self, now: datetime) -> list[str]:
        return [
            call_id
            for call_id, doc in self._calls.documents.items()
            if doc["state"]["status"] == "open" and doc["state"]["deadline"] <= now
        ]

    async def all_calls(self) -> list[CallState]:
        calls = map(CallState.model_validate, self._calls.states())
        return sorted(calls, key=lambda call: call.opens_at)

    async def count_live(self, call_id: str) -> int:
        return sum(row["status"] != "withdrawn" for row in await self.figures(call_id))

    async def search(self, where: DossierFilter, limit: int, offset: int) -> list[DossierState]:
        raise NotImplementedError("searches are tested on the real store")

    async def figures(self, call_id: str | None = None) -> list[dict[str, Any]]:
        return list(self._dossiers.states(lambda d: call_id in (None, d["call_id"])))


class World:
    """The handlers as the service builds them, on in-memory aggregates, with a manual clock
    and their metrics."""

    def __init__(self, now: datetime) -> None:
        self.clock = ManualClock(now)
        self.calls = MemoryAggregates(CALLS)
        self.dossiers = MemoryAggregates(DOSSIERS, unique_state_field="live_key")
        self.pole_labels = MemoryAggregates(POLE_LABELS)
        self.registry = CollectorRegistry()
        self.handlers = CommandHandlers(
            call_repository(self.calls, self.clock),
            dossier_repository(self.dossiers, self.clock),
            MemoryQueries(self.calls, self.dossiers),
            CallsMetrics(self.registry),
            LabelView(self.pole_labels, self.clock),
        )

    def published(self) -> list[str]:
        return [*self.calls.published_types(), *self.dossiers.published_types()]

    def dossier_states(self) -> list[DossierState]:
        return [DossierState.model_validate(state) for state in self.dossiers.states()]

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0
