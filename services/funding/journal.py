"""Aggregates kept as an append-only chain of versions, for the documents whose concurrent
writers must never both win: budget lines and commitments.

Why not the kernel's ``AggregateStore`` (one document rewritten under a version guard)? A budget
line takes thousands of commitments, far more than the last ``processed`` ids a document keeps,
and every change to money must stay readable as it was decided. A chain of versions keeps each
decision for good, so a source event commits at most once even when redelivered months later,
and the chain is the line's history. (Both stores rely on the same atomic primitive: an insert on
a unique ``_id`` here, a guarded single-document update there; the local FerretDB makes the latter
atomic, see deploy/local/ferretdb/atomic.go.)

So each save inserts version n+1 of the aggregate with ``_id = "<aggregate id>:<n+1>"``: of two
writers that read version n, exactly one insert succeeds, the other gets ConcurrencyConflict and
decides again on the new version. An entry records the decision it applied (``decision_id`` and
the answer given), so that a decision is taken once per aggregate, and keeps its events for good
(``events``: a line's balance at a past instant is folded from them).

What a decision implies for another document (a commitment to build, money to give back to a
line, a transfer to credit) is saved with it: the entry's ``pending`` names its events that call
for a follow-up. The handler completes those follow-ups right after the save, each one idempotent,
and then removes ``pending``; should the process die in between, a sweep finds the entry and
completes them (``services.funding.handlers.budget``). Besides ``pending`` and the outbox (which
the kernel's relay publishes and pulls), an entry is never changed.

``JournalStore`` has the contract of the kernel's ``Aggregates`` (load, create, save with the
decision as ``Processed``), so that a ``shared.repository.Repository`` wraps the events for the
outbox; ``Journal`` adds what a chain knows besides: whether a decision was applied already.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock
from shared.decision import Answer, Decision
from shared.errors import NotFound
from shared.events.base import EVENT_TYPES, EventData, OutboxEntry
from shared.keyed_locks import KeyedLocks
from shared.repository import Aggregates, Decide, Found, Repository, history_entry
from shared.store import (
    EPOCH,
    ConcurrencyConflict,
    Document,
    Events,
    EventsQueued,
    Kept,
    Loaded,
    Processed,
    ensure_indexes,
    nobody_told,
    retry_on_conflict,
)

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Applied:
    """How an aggregate applied a decision: the entry that saved it, the answer it gave, and
    whether follow-ups of that entry are still to complete."""

    entry_id: str
    answer: Answer
    pending: bool


class Chain(Aggregates, Protocol):
    """A store of chained versions (``JournalStore``; in component tests, an in-memory one):
    the kernel's ``Aggregates`` contract, and what a chain knows besides."""

    follow_ups: frozenset[str]

    async def applied(self, aggregate_id: str, decision_id: str) -> Applied | None: ...

    async def learn_newest(self, aggregate_ids: Collection[str]) -> None:
        """Find the newest version of each of these aggregates together, before loading them one
        by one (a start loads every line: one search instead of one per line)."""
        ...

    async def pending_events(self, entry_id: str) -> list[EventData]: ...

    async def done(self, entry_id: str) -> None: ...

    async def unfinished(self, saved_before: datetime) -> list[str]: ...

    async def versions(self, aggregate_ids: Collection[str]) -> list[Document]:
        """Every entry of these aggregates (``aggregate_id``, ``version``, ``decision_id``,
        ``events``), each aggregate's in the order of its versions."""
        ...

    async def decided(self, decision_ids: Collection[str]) -> list[Document]:
        """The entries (of any aggregate) that applied these decisions, as ``versions``."""
        ...


REPLAYED = {"aggregate_id": 1, "version": 1, "decision_id": 1, "events": 1}
"""What a replay reads of an entry (``Chain.versions``, ``Chain.decided``)."""


class Chained:
    """Creating and saving as chains do: each a new version, inserted under its own id."""

    async def create(
        self, aggregate_id: str, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        """Insert version 1; ConcurrencyConflict if the aggregate exists."""
        await self._insert(aggregate_id, 1, state, events, processed)

    async def save(
        self, loaded: Loaded, state: Document, events: Events = (), processed: Kept = None
    ) -> None:
        """Insert the version after ``loaded``; ConcurrencyConflict if another writer did."""
        await self._insert(loaded.id, loaded.version + 1, state, events, processed)

    follow_ups: frozenset[str] = frozenset()

    async def _insert(
        self,
        aggregate_id: str,
        version: int,
        state: Document,
        events: Sequence[OutboxEntry],
        processed: Processed | None,
    ) -> None:
        entry = journal_entry(aggregate_id, version, state, events, processed, self.follow_ups)
        await self._add(entry, bool(events))

    async def _add(self, entry: Document, with_events: bool) -> None:
        """Insert ``entry``; ConcurrencyConflict if its version exists."""
        raise NotImplementedError


class JournalStore(Chained):
    """Chains in a collection. A process notes, for each aggregate, the newest version it saw and
    the decision of every version it stepped on (``load`` reads each new version by ``_id``), so
    that "was this decision applied?" is answered without a query by decision, which the local
    store runs as a scan of the whole collection (30 ms at 70 entries, growing with them): it is
    read once per aggregate and process, then only by ``_id``."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        on_events: EventsQueued = nobody_told,
        follow_ups: Iterable[type[EventData]] = (),
    ) -> None:
        self.collection = collection
        self.follow_ups = frozenset(model.type_name for model in follow_ups)
        self._on_events = on_events
        self._known: dict[str, int] = {}
        self._decisions: dict[str, Decisions] = {}

    @property
    def name(self) -> str:
        return self.collection.name

    async def create_indexes(self) -> None:
        await ensure_indexes(
            self.collection,
            [("aggregate_id", 1), ("version", -1)],
            [("aggregate_id", 1), ("decision_id", 1)],
            "decision_id",
        )

    async def load(self, aggregate_id: str) -> Loaded | None:
        """The newest version: from the last version this process saw, step forward by _id
        (noting the decision of each version it steps on)."""
        version = self._known.get(aggregate_id) or await self._newest_version(aggregate_id)
        if version == 0:
            return None
        document = await self._entry(aggregate_id, version)
        assert document is not None, f"{aggregate_id} lost its version {version}"
        self._saw(aggregate_id, version, document.get("decision_id"))
        while (following := await self._entry(aggregate_id, version + 1)) is not None:
            document, version = following, version + 1
            self._saw(aggregate_id, version, document.get("decision_id"))
        return Loaded(id=aggregate_id, version=version, state=document["state"], processed=())

    async def applied(self, aggregate_id: str, decision_id: str) -> Applied | None:
        """The entry that applied ``decision_id``, among the versions up to the newest one this
        process has seen (``load`` before asking). Answered from the decisions this process
        noted when it knows every version up to that one; otherwise they are read once, for
        that aggregate, and noted (the query by decision is a scan on the local store)."""
        known = self._known.get(aggregate_id, 0)
        decisions = self._decisions.get(aggregate_id)
        if decisions is None or decisions.upto < known:
            decisions = await self._read_decisions(aggregate_id)
        if decisions.upto < known:  # a version it saw is not read back: ask by decision
            query: Document = {"aggregate_id": aggregate_id, "decision_id": decision_id}
        elif decision_id in decisions.versions:
            query = {"_id": entry_id(aggregate_id, decisions.versions[decision_id])}
        else:
            return None
        document = await self.collection.find_one(query, {"answer": 1, "pending": 1})
        if document is None:
            return None
        return Applied(document["_id"], dict(document["answer"]), bool(document.get("pending")))

    async def _read_decisions(self, aggregate_id: str) -> Decisions:
        cursor = self.collection.find(
            {"aggregate_id": aggregate_id}, {"version": 1, "decision_id": 1}
        ).sort("version")
        self._decisions[aggregate_id] = decisions = Decisions()
        for document in await cursor.to_list(None):
            decisions.saw(int(document["version"]), document.get("decision_id"))
        return decisions

    async def learn_newest(self, aggregate_ids: Collection[str]) -> None:
        """The newest version of each aggregate this process has not seen yet, in one query (on
        the local store each search by aggregate reads the whole journal); ``load`` then reads
        each by ``_id``."""
        unknown = [i for i in aggregate_ids if i not in self._known]
        if not unknown:
            return
        query = {"aggregate_id": {"$in": unknown}}
        async for entry in self.collection.find(query, {"_id": 0, "aggregate_id": 1, "version": 1}):
            aggregate_id, version = entry["aggregate_id"], int(entry["version"])
            self._known[aggregate_id] = max(self._known.get(aggregate_id, 0), version)

    def _saw(self, aggregate_id: str, version: int, decision_id: str | None) -> None:
        """Version ``version`` exists (read or inserted by this process), with its decision."""
        self._known[aggregate_id] = max(self._known.get(aggregate_id, 0), version)
        decisions = self._decisions.setdefault(aggregate_id, Decisions())
        decisions.saw(version, decision_id)

    async def pending_events(self, entry_id: str) -> list[EventData]:
        """The events of an entry whose follow-ups are still to complete."""
        document = await self.collection.find_one({"_id": entry_id}, {"events": 1, "pending": 1})
        return [] if document is None else pending_of(document)

    async def done(self, entry_id: str) -> None:
        await self.collection.update_one({"_id": entry_id}, {"$unset": {"pending": ""}})

    async def unfinished(self, saved_before: datetime) -> list[str]:
        """The entries saved before ``saved_before`` whose follow-ups are still to complete."""
        query = {"pending": {"$exists": True}, "saved_at": {"$lte": saved_before}}
        cursor = self.collection.find(query, {"_id": 1}).sort("saved_at")
        return [document["_id"] for document in await cursor.to_list(None)]

    async def versions(self, aggregate_ids: Collection[str]) -> list[Document]:
        query = {"aggregate_id": {"$in": sorted(aggregate_ids)}}
        cursor = self.collection.find(query, REPLAYED).sort([("aggregate_id", 1), ("version", 1)])
        return await cursor.to_list(None)

    async def decided(self, decision_ids: Collection[str]) -> list[Document]:
        if not decision_ids:
            return []
        query = {"decision_id": {"$in": sorted(decision_ids)}}
        return await self.collection.find(query, REPLAYED).to_list(None)

    async def events_where(self, query: Document) -> list[EventData]:
        """Every event kept by the entries ``query`` finds, in the order they were saved."""
        cursor = self.collection.find(query, {"events": 1}).sort("saved_at")
        return [
            event_data(stored)
            for document in await cursor.to_list(None)
            for stored in document.get("events", [])
        ]

    async def _add(self, entry: Document, with_events: bool) -> None:
        try:
            await self.collection.insert_one(entry)
        except DuplicateKeyError as error:
            raise ConcurrencyConflict(entry["aggregate_id"]) from error
        self._saw(entry["aggregate_id"], entry["version"], entry["decision_id"])
        if with_events:
            self._on_events(self.collection.name, entry["_id"])

    async def _entry(self, aggregate_id: str, version: int) -> Document | None:
        return await self.collection.find_one(
            {"_id": entry_id(aggregate_id, version)}, {"state": 1, "decision_id": 1}
        )

    async def _newest_version(self, aggregate_id: str) -> int:
        newest = await self.collection.find_one(
            {"aggregate_id": aggregate_id}, {"version": 1}, sort=[("version", -1)]
        )
        return 0 if newest is None else int(newest["version"])


@dataclass
class Decisions:
    """The decisions applied by an aggregate's versions 1 to ``upto``, every one of them seen
    by this process, each with the version that applied it."""

    upto: int = 0
    versions: dict[str, int] = field(default_factory=dict)

    def saw(self, version: int, decision_id: str | None) -> None:
        """Note the version after ``upto`` (any other leaves a gap: not noted)."""
        if version != self.upto + 1:
            return
        self.upto = version
        if decision_id is not None:
            self.versions[decision_id] = version


def entry_id(aggregate_id: str, version: int) -> str:
    return f"{aggregate_id}:{version}"


def journal_entry(
    aggregate_id: str,
    version: int,
    state: Document,
    events: Sequence[OutboxEntry],
    processed: Processed | None,
    follow_ups: frozenset[str],
) -> Document:
    """The document of one version: its state, the decision it applied, its events (kept for
    good, and in the outbox until published) and those of them that call for a follow-up."""
    document: Document = {
        "_id": entry_id(aggregate_id, version),
        "aggregate_id": aggregate_id,
        "version": version,
        "state": state,
        "decision_id": None if processed is None else processed.id,
        "answer": None if processed is None else processed.answer,
        "saved_at": datetime.now(UTC),
        "events": [history_entry(entry) for entry in events],
        "outbox": [entry.model_dump() for entry in events],
        "outbox_lease_until": EPOCH,
    }
    pending = [entry.id for entry in events if entry.type in follow_ups]
    if pending:
        document["pending"] = pending
    return document


def pending_of(document: Document) -> list[EventData]:
    pending = set(document.get("pending", []))
    return [event_data(e) for e in document.get("events", []) if e["event_id"] in pending]


def event_data(stored: Document) -> EventData:
    """The typed data of an event as an entry keeps it (``shared.repository.history_entry``)."""
    return EVENT_TYPES[stored["type"]].model_validate(stored["data"])


@dataclass(frozen=True)
class Decided(Generic[ModelT]):
    """A decision as applied: the decision (no events when it had been applied before) and the
    entry whose follow-ups are still to complete, if any."""

    decision: Decision[ModelT]
    unfinished: str | None = None

    @property
    def answer(self) -> Answer:
        return self.decision.answer


class Journal(Generic[ModelT]):
    """Aggregates of one kind on a chain, each decision applied once (by its id).

    In one process, the decisions on one aggregate are taken one at a time, in the order they
    came (a queue per aggregate, ``KeyedLocks``): twenty commitments on a hot line no longer race
    each other's inserts and reload the chain after every lost race. Across processes the
    guarded insert stays the arbiter: a conflict with another instance is decided again. A
    decision holds only its own aggregate: what it implies for another one (a commitment to
    build, a transfer to credit) is completed after, by the caller, so no queue waits on
    another while holding its own and two transfers in opposite directions cannot deadlock.
    """

    def __init__(
        self,
        chain: Chain,
        model: type[ModelT],
        *,
        service: str,
        clock: Clock,
        what: str,
        key_of: Callable[[EventData], str] | None = None,
        attempts: int = 20,
    ) -> None:
        self.chain = chain
        self.repository = Repository(
            chain, model, service=service, clock=clock, what=what, key_of=key_of
        )
        self.attempts = attempts
        self.queues: KeyedLocks[str] = KeyedLocks()

    async def get(self, aggregate_id: str) -> ModelT | None:
        found = await self.repository.get(aggregate_id)
        return None if found is None else found.state

    async def require(self, aggregate_id: str) -> Found[ModelT]:
        found = await self.repository.get(aggregate_id)
        if found is None:
            raise NotFound(f"no {self.repository.what} {aggregate_id}")
        return found

    async def start(
        self, aggregate_id: str, state: ModelT, events: Sequence[EventData] = ()
    ) -> bool:
        """Insert version 1; False if the aggregate exists (starting again is harmless)."""
        now = self.repository.clock.now()
        try:
            await self.repository.add(aggregate_id, Decision.of(state, events), now)
        except ConcurrencyConflict:
            return False
        return True

    async def decide_once(
        self, aggregate_id: str, decision_id: str, decide: Decide[ModelT]
    ) -> Decided[ModelT]:
        """Apply one decision to an aggregate once: a decision already in its chain gives back
        its first answer and no event; otherwise the new version is saved, or decided again if
        another writer saved first. A ``DomainError`` raised by ``decide`` changes nothing.
        Decisions on one aggregate wait for each other in this process (first come, first
        decided); ``decide`` is pure, nothing else is awaited while the aggregate is held."""

        async def attempt() -> Decided[ModelT]:
            found = await self.require(aggregate_id)
            earlier = await self.chain.applied(aggregate_id, decision_id)
            if earlier is not None:
                unfinished = earlier.entry_id if earlier.pending else None
                return Decided(Decision.of(found.state, (), earlier.answer), unfinished)
            now = self.repository.clock.now()
            decision = decide(found.state, now)
            await self.repository.save(found, decision, now, decision_id)
            follow_ups = self.chain.follow_ups
            if any(event.type_name in follow_ups for event in decision.events):
                return Decided(decision, entry_id(aggregate_id, found.loaded.version + 1))
            return Decided(decision)

        async with self.queues.one_at_a_time(aggregate_id):
            return await retry_on_conflict(attempt, self.attempts)
