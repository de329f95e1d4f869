"""An in-memory collection of aggregates with the contract of ``shared.store.AggregateStore``, for
unit and component tests only (the integration tests run the real store).

It keeps the guarantees the seam relies on: a save names the version it read, a duplicate id (or
a value taken in a field declared unique) refuses a create, the idempotency ids are kept with
their answers. What a save would leave in the outbox is kept in ``published``, in order.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

from shared.events.base import OutboxEntry
from shared.store import ConcurrencyConflict, Document, Events, Kept, Loaded, Processed


class MemoryAggregates:
    def __init__(self, name: str = "aggregates", unique_state_field: str | None = None) -> None:
        self._name = name
        self.documents: dict[str, Document] = {}
        self.published: list[OutboxEntry] = []
        self._unique = unique_state_field

    @property
    def name(self) -> str:
        return self._name

    async def load(self, aggregate_id: str) -> Loaded | None:
        document = self.documents.get(aggregate_id)
        if document is None:
            return None
        return Loaded(
            aggregate_id,
            document["version"],
            copy.deepcopy(document["state"]),
            tuple(Processed(p["id"], p["answer"]) for p in document["processed"]),
        )

    async def create(
        self, aggregate_id: str, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        if aggregate_id in self.documents or self._taken(state, aggregate_id):
            raise ConcurrencyConflict(aggregate_id)
        self.documents[aggregate_id] = {
            "version": 1,
            "state": copy.deepcopy(state),
            "processed": [] if processed is None else [processed.document()],
        }
        self.published.extend(events)

    async def save(
        self, loaded: Loaded, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        document = self.documents[loaded.id]
        if document["version"] != loaded.version or self._taken(state, loaded.id):
            raise ConcurrencyConflict(loaded.id)
        document["version"] += 1
        document["state"] = copy.deepcopy(state)
        if processed is not None:
            document["processed"].append(processed.document())
        self.published.extend(events)

    def states(self, where: Callable[[Document], bool] = lambda _: True) -> Iterator[Document]:
        """The stored states that ``where`` keeps (what a query would find)."""
        return (doc["state"] for doc in self.documents.values() if where(doc["state"]))

    def published_types(self) -> list[str]:
        return [entry.type for entry in self.published]

    def _taken(self, state: Document, aggregate_id: str) -> bool:
        if self._unique is None or state.get(self._unique) is None:
            return False
        return any(
            doc["state"].get(self._unique) == state[self._unique]
            for other, doc in self.documents.items()
            if other != aggregate_id
        )
