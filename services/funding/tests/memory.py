"""The funding service's aggregates in memory, for component tests: chains of versions with the
contract of ``services.funding.journal.JournalStore`` (same entries, built by the same function),
and the handlers built on them as the app builds them on the store."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry

from services.funding.handlers.budget import Budget
from services.funding.handlers.financing import Financings
from services.funding.handlers.ledgers import Ledgers
from services.funding.handlers.sources import SourceEvents
from services.funding.journal import Applied, Chained, pending_of
from services.funding.metrics import BudgetMetrics
from services.funding.store import (
    COMMITMENT_FOLLOW_UPS,
    FINANCING_FOLLOW_UPS,
    LINE_FOLLOW_UPS,
    Books,
)
from services.funding.tests.financing_memory import MemoryReads
from services.funding.tests.support import NOW, envelope
from shared.clock import ManualClock
from shared.events.base import EventData, OutboxEntry
from shared.store import ConcurrencyConflict, Document, Loaded
from tests.support.memory import MemoryAggregates


class MemoryChain(Chained):
    def __init__(self, name: str, follow_ups: Sequence[type[EventData]] = ()) -> None:
        self._name = name
        self.follow_ups = frozenset(model.type_name for model in follow_ups)
        self.entries: dict[str, Document] = {}
        self.published: list[OutboxEntry] = []

    @property
    def name(self) -> str:
        return self._name

    async def learn_newest(self, aggregate_ids: Collection[str]) -> None:
        """Nothing to learn: a load reads the newest version from memory."""

    async def load(self, aggregate_id: str) -> Loaded | None:
        versions = [e for e in self.entries.values() if e["aggregate_id"] == aggregate_id]
        if not versions:
            return None
        newest = max(versions, key=lambda entry: entry["version"])
        return Loaded(aggregate_id, newest["version"], copy.deepcopy(newest["state"]), ())

    async def applied(self, aggregate_id: str, decision_id: str) -> Applied | None:
        for entry in self.entries.values():
            if (entry["aggregate_id"], entry["decision_id"]) == (aggregate_id, decision_id):
                return Applied(entry["_id"], entry["answer"], "pending" in entry)
        return None

    async def pending_events(self, entry_id: str) -> list[EventData]:
        return pending_of(self.entries[entry_id])

    async def done(self, entry_id: str) -> None:
        self.entries[entry_id].pop("pending", None)

    async def unfinished(self, saved_before: datetime) -> list[str]:
        return [key for key, entry in self.entries.items() if "pending" in entry]

    async def versions(self, aggregate_ids: Collection[str]) -> list[Document]:
        found = [e for e in self.entries.values() if e["aggregate_id"] in aggregate_ids]
        return copy.deepcopy(sorted(found, key=lambda e: (e["aggregate_id"], e["version"])))

    async def decided(self, decision_ids: Collection[str]) -> list[Document]:
        return copy.deepcopy([e for e in self.entries.values() if e["decision_id"] in decision_ids])

    async def _add(self, entry: Document, with_events: bool) -> None:
        if entry["_id"] in self.entries:
            raise ConcurrencyConflict(entry["aggregate_id"])
        self.entries[entry["_id"]] = copy.deepcopy(entry)
        self.published.extend(OutboxEntry.model_validate(item) for item in entry["outbox"])


@dataclass
class Funding:
    """The funding handlers on in-memory parts."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(NOW))
    lines: MemoryChain = field(default_factory=lambda: MemoryChain("line_journal", LINE_FOLLOW_UPS))
    commitments: MemoryChain = field(
        default_factory=lambda: MemoryChain("commitment_journal", COMMITMENT_FOLLOW_UPS)
    )
    ledgers: MemoryAggregates = field(default_factory=lambda: MemoryAggregates("ledgers"))
    financing_chain: MemoryChain = field(
        default_factory=lambda: MemoryChain("financing_journal", FINANCING_FOLLOW_UPS)
    )
    shown: list[str] = field(default_factory=list)
    financer_days: float = 60.0

    def __post_init__(self) -> None:
        self.books = Books(
            self.lines, self.commitments, self.ledgers, self.financing_chain, self.clock
        )
        self.metrics = BudgetMetrics(CollectorRegistry(), envelope())
        self.budget = Budget(self.books, self.metrics, self.show)
        self.reads = MemoryReads(self.commitments, self.financing_chain, self.ledgers)
        self.registry = CollectorRegistry()
        self.financings = Financings(
            self.books.financings,
            self.budget,
            Ledgers(self.books.ledgers),
            envelope(),
            self.reads,
            self.financer_days,
            self.registry,
        )
        self.sources = SourceEvents(self.budget, self.financings, envelope(), self.reads)

    async def show(self, commitment_id: str) -> None:
        self.shown.append(commitment_id)

    async def loaded(self) -> Funding:
        await self.budget.open_envelope(envelope())
        return self

    def published_types(self) -> list[str]:
        chains = (self.lines, self.commitments, self.financing_chain)
        return [
            e.type for e in [*self.ledgers.published, *(x for c in chains for x in c.published)]
        ]
