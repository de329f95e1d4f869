"""The command seam: load an aggregate, let the domain decide, save the new state with its events
and the command's idempotency id in one guarded update, retrying when another writer won.

Every service builds one ``Repository`` per kind of aggregate on the kernel's ``AggregateStore``
(or, in component tests, on an in-memory store with the same contract). The repository owns:

- the outbox wrapping: each event becomes a CloudEvent with the source ``/poles/<service>``, the
  decision's instant as its time and the aggregate's id as its Kafka key (``key_of`` may name
  another key, e.g. funding keys commitment events by commitment);
- the idempotency id of a command, ``cmd:<subject>:<key>`` (``command_id``), kept with its
  answer in the same save, so that a repeat gets the first answer and changes nothing;
- the aggregate's history, when asked (``history=True``): each saved event is appended to the
  document's ``state.history`` in the same update (the outbox is emptied once published);
- ``NotFound`` when a command names an aggregate that does not exist.

A handler then reads as one line per command::

    return await dossiers.change(dossier_id, lambda dossier, now: withdraw(dossier, now),
                                 idempotency=command_id(principal.subject, key))
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from shared.clock import Clock
from shared.decision import Answer, Decision
from shared.errors import Conflict, DomainError, NotFound
from shared.events.base import EventData, OutboxEntry, new_outbox_entry
from shared.store import (
    ConcurrencyConflict,
    Document,
    Events,
    Kept,
    Loaded,
    Processed,
    retry_on_conflict,
)
from shared.tracing import trace_id_of

ModelT = TypeVar("ModelT", bound=BaseModel)


def source_of(service: str) -> str:
    """The CloudEvents ``source`` of every event a service publishes."""
    return f"/poles/{service}"


def command_id(subject: str, key: str | None) -> str | None:
    """The idempotency id of a command sent by ``subject`` with the idempotency ``key`` (HTTP's
    ``Idempotency-Key``, a Kafka command's ``command_id``); None when the caller gave none."""
    return None if key is None else f"cmd:{subject}:{key}"


def derived_id(namespace: uuid.UUID, subject: str, key: str | None) -> str:
    """The id of what a command creates: the same for a repeat of the same (subject, key), so a
    repeat cannot create a second one; a fresh one when the caller gave no key."""
    return str(uuid.uuid4() if key is None else uuid.uuid5(namespace, f"{subject}:{key}"))


class Aggregates(Protocol):
    """One collection of aggregates with their outbox (``shared.store.AggregateStore``)."""

    @property
    def name(self) -> str: ...

    async def load(self, aggregate_id: str) -> Loaded | None: ...

    async def create(
        self, aggregate_id: str, state: Document, events: Events = (), processed: Kept = None
    ) -> None: ...

    async def save(
        self, loaded: Loaded, state: Document, events: Events = (), processed: Kept = None
    ) -> None: ...


@dataclass(frozen=True)
class Found(Generic[ModelT]):
    """An aggregate as loaded: its typed state, and what guards its next save."""

    loaded: Loaded
    state: ModelT

    @property
    def id(self) -> str:
        return self.loaded.id

    def answer_for(self, idempotency: str | None) -> Answer | None:
        """The answer a command with this idempotency id was given, if it ran already."""
        return None if idempotency is None else self.loaded.answer_for(idempotency)


Decide = Callable[[ModelT, datetime], Decision[ModelT]]
MaybeDecide = Callable[[ModelT, datetime], Decision[ModelT] | None]
Create = Callable[[datetime], Decision[ModelT]]


@dataclass(frozen=True)
class Applied(Generic[ModelT]):
    """What ``Repository.apply`` did: the answer the caller gets, the decision it saved and when
    (None when the command was a repeat answered from the first time, or nothing changed)."""

    answer: Answer
    saved: Decision[ModelT] | None = None
    at: datetime | None = None


def dump_python(state: BaseModel) -> Document:
    """The default document of a state: pydantic's Python dump (instants stay BSON dates)."""
    return state.model_dump()


class Repository(Generic[ModelT]):
    """Typed aggregates of one kind, saved with their events (see the module's docstring)."""

    def __init__(
        self,
        aggregates: Aggregates,
        model: type[ModelT],
        *,
        service: str,
        clock: Clock,
        what: str | None = None,
        history: bool = False,
        to_document: Callable[[ModelT], Document] = dump_python,
        key_of: Callable[[EventData], str] | None = None,
        not_found: Callable[[str], DomainError] | None = None,
    ) -> None:
        self.aggregates = aggregates
        self.model = model
        self.source = source_of(service)
        self.clock = clock
        self.what = what or aggregates.name.rstrip("s")
        self._history = history
        self._to_document = to_document
        self._key_of = key_of
        self._not_found = not_found or (lambda _: NotFound(f"{self.what} not found"))

    # reading

    async def get(self, aggregate_id: str) -> Found[ModelT] | None:
        loaded = await self.aggregates.load(aggregate_id)
        return None if loaded is None else self.found(loaded)

    async def require(self, aggregate_id: str) -> Found[ModelT]:
        found = await self.get(aggregate_id)
        if found is None:
            raise self._not_found(aggregate_id)
        return found

    def found(self, loaded: Loaded) -> Found[ModelT]:
        return Found(loaded, self.model.model_validate(loaded.state))

    # writing

    def entries(
        self, aggregate_id: str, events: Sequence[EventData], now: datetime
    ) -> list[OutboxEntry]:
        """The events of a decision as outbox entries (CloudEvents with source, key and time)."""
        return [
            new_outbox_entry(
                data,
                source=self.source,
                key=aggregate_id if self._key_of is None else self._key_of(data),
                time=now,
            )
            for data in events
        ]

    async def add(
        self,
        aggregate_id: str,
        decision: Decision[ModelT],
        now: datetime,
        idempotency: str | None = None,
    ) -> None:
        """Insert a new aggregate; ConcurrencyConflict if one with this id exists."""
        entries = self.entries(aggregate_id, decision.events, now)
        await self.aggregates.create(
            aggregate_id,
            self._document(decision.state, [], entries),
            entries,
            _processed(idempotency, decision.answer),
        )

    async def save(
        self,
        found: Found[ModelT],
        decision: Decision[ModelT],
        now: datetime,
        idempotency: str | None = None,
    ) -> None:
        """Save a new version of ``found``; ConcurrencyConflict if it changed since it was read."""
        entries = self.entries(found.id, decision.events, now)
        history = list(found.loaded.state.get("history", [])) if self._history else []
        await self.aggregates.save(
            found.loaded,
            self._document(decision.state, history, entries),
            entries,
            _processed(idempotency, decision.answer),
        )

    # the seam: one command, one aggregate

    async def change(
        self, aggregate_id: str, decide: Decide[ModelT], idempotency: str | None = None
    ) -> Answer:
        """Apply one decision to an existing aggregate, once: NotFound if it does not exist, the
        first answer again for a repeated idempotency id, decided again if another writer saved
        first. A ``DomainError`` raised by ``decide`` changes nothing."""
        return (await self.apply(aggregate_id, decide, idempotency)).answer

    async def apply(
        self, aggregate_id: str, decide: MaybeDecide[ModelT], idempotency: str | None = None
    ) -> Applied[ModelT]:
        """``change``, telling also what it saved and when (for metrics that count decisions,
        not repeats); ``decide`` may return None when there is nothing to save."""

        async def attempt() -> Applied[ModelT]:
            found = await self.require(aggregate_id)
            earlier = found.answer_for(idempotency)
            if earlier is not None:
                return Applied(earlier)
            now = self.clock.now()
            decision = decide(found.state, now)
            if decision is None:
                return Applied({})
            await self.save(found, decision, now, idempotency)
            return Applied(decision.answer, decision, now)

        return await retry_on_conflict(attempt)

    async def create(
        self,
        aggregate_id: str,
        decide: Create[ModelT],
        idempotency: str | None = None,
        exists: Callable[[], DomainError] | None = None,
        now: datetime | None = None,
    ) -> Answer:
        """Create an aggregate, once: a repeat of the same command (same idempotency id) gets the
        first answer; any other command naming an existing id is refused with ``exists()``
        (a Conflict by default). ``now`` is the instant the caller already checked its rules at
        (the clock's, by default), so a check and the decision read one instant."""
        now = self.clock.now() if now is None else now
        decision = decide(now)
        try:
            await self.add(aggregate_id, decision, now, idempotency)
        except ConcurrencyConflict:
            found = await self.get(aggregate_id)
            earlier = None if found is None else found.answer_for(idempotency)
            if earlier is not None:
                return earlier
            if exists is not None:
                raise exists() from None
            raise Conflict(f"{self.what} {aggregate_id} exists", f"duplicate-{self.what}") from None
        return decision.answer

    def _document(
        self, state: ModelT, history: list[Any], entries: Sequence[OutboxEntry]
    ) -> Document:
        document = self._to_document(state)
        if self._history:
            document["history"] = history + [history_entry(entry) for entry in entries]
        return document


def history_entry(entry: OutboxEntry) -> Document:
    """How an aggregate's history keeps one of its events (with the id of the trace it was
    decided in, when it was traced)."""
    kept: Document = {"event_id": entry.id, "type": entry.type, "time": entry.time}
    trace_id = trace_id_of(entry.traceparent)
    if trace_id is not None:
        kept["trace_id"] = trace_id
    return {**kept, "data": entry.data}


def _processed(idempotency: str | None, answer: Answer) -> Processed | None:
    return None if idempotency is None else Processed(idempotency, answer)
