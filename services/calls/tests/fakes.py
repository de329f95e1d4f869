"""In-memory stand-ins for the repositories, for unit tests of the handlers only (the integration
tests run the real store). They keep the store's guarantees the handlers rely on: versions guard
saves, a duplicate id or a taken live key refuses a create."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from services.calls.domain.call import CallState
from services.calls.domain.dossier import DossierState
from services.calls.handlers import CommandHandlers
from services.calls.metrics import CallsMetrics
from services.calls.store import CallRepository, DossierFilter, DossierRepository
from shared.clock import ManualClock
from shared.events.base import OutboxEntry
from shared.store import AggregateStore, ConcurrencyConflict, Document, Loaded, Processed


class FakeStore(AggregateStore):
    def __init__(self, unique_state_field: str | None = None) -> None:
        self.documents: dict[str, Document] = {}
        self.published: list[OutboxEntry] = []
        self._unique = unique_state_field

    async def load(self, aggregate_id: str) -> Loaded | None:
        document = self.documents.get(aggregate_id)
        if document is None:
            return None
        return Loaded(
            aggregate_id,
            document["version"],
            document["state"],
            tuple(Processed(p["id"], p["answer"]) for p in document["processed"]),
        )

    async def create(
        self,
        aggregate_id: str,
        state: Document,
        events: Sequence[OutboxEntry] = (),
        processed: Processed | None = None,
    ) -> None:
        if aggregate_id in self.documents or self._taken(state, aggregate_id):
            raise ConcurrencyConflict(aggregate_id)
        self.documents[aggregate_id] = {
            "version": 1,
            "state": state,
            "processed": [] if processed is None else [processed.document()],
        }
        self.published.extend(events)

    async def save(
        self,
        loaded: Loaded,
        state: Document,
        events: Sequence[OutboxEntry] = (),
        processed: Processed | None = None,
    ) -> None:
        document = self.documents[loaded.id]
        if document["version"] != loaded.version or self._taken(state, loaded.id):
            raise ConcurrencyConflict(loaded.id)
        document["version"] += 1
        document["state"] = state
        if processed is not None:
            document["processed"].append(processed.document())
        self.published.extend(events)

    def _taken(self, state: Document, aggregate_id: str) -> bool:
        if self._unique is None:
            return False
        return any(
            doc["state"][self._unique] == state[self._unique]
            for other, doc in self.documents.items()
            if other != aggregate_id
        )


class FakeCalls(CallRepository):
    def __init__(self) -> None:
        self.fake = self.store = FakeStore()
        self.receipts: Counter[str] = Counter()

    async def next_receipt_number(self, call_id: str) -> int:
        self.receipts[call_id] += 1
        return self.receipts[call_id]

    async def due_for_closing(self, now: datetime) -> list[str]:
        return [
            call_id
            for call_id, doc in self.fake.documents.items()
            if doc["state"]["status"] == "open" and doc["state"]["deadline"] <= now
        ]

    async def all(self) -> list[CallState]:
        return [CallState.model_validate(d["state"]) for d in self.fake.documents.values()]


class FakeDossiers(DossierRepository):
    def __init__(self) -> None:
        self.fake = self.store = FakeStore(unique_state_field="live_key")

    def states(self) -> list[DossierState]:
        return [DossierState.model_validate(d["state"]) for d in self.fake.documents.values()]

    async def count_live(self, call_id: str) -> int:
        return sum(d.call_id == call_id and d.status != "withdrawn" for d in self.states())

    async def search(self, where: DossierFilter, limit: int, offset: int) -> list[DossierState]:
        raise NotImplementedError("queries are tested on the real store")

    async def figures(self, call_id: str | None = None) -> list[dict[str, Any]]:
        return [d.model_dump() for d in self.states() if call_id is None or d.call_id == call_id]


class World:
    """Handlers on fakes, with a manual clock and their metrics."""

    def __init__(self, now: datetime) -> None:
        self.clock = ManualClock(now)
        self.calls = FakeCalls()
        self.dossiers = FakeDossiers()
        self.registry = CollectorRegistry()
        self.handlers = CommandHandlers(
            self.calls, self.dossiers, self.clock, CallsMetrics(self.registry)
        )

    def published(self) -> list[str]:
        return [e.type for e in [*self.calls.fake.published, *self.dossiers.fake.published]]

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0
