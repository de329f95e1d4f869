"""The command handlers, shared by the HTTP API and the Kafka command topic: load, check who
asks, decide (pure domain), save state and events in one guarded update.

A command with an idempotency key (HTTP ``Idempotency-Key``, Kafka ``command_id``) records
``cmd:<subject>:<key>`` and its answer in the same save; a repeat returns that answer and emits
nothing. A creation derives the new dossier's id from (subject, key), so a repeat cannot create
a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from services.calls.commands import (
    Command,
    CommissionStudy,
    CompleteStudy,
    DecideDossier,
    OpenCall,
    ReplaceDossier,
    ScreenDossier,
    SubmitDossier,
    VoteOnPreselection,
    WithdrawDossier,
)
from services.calls.domain import dossier as lifecycle
from services.calls.domain.access import (
    ensure_any,
    ensure_lead,
    ensure_readable,
    ensure_submitter,
    voter_of,
)
from services.calls.domain.call import CallState, close_call, open_call
from services.calls.domain.dossier import DossierState, Outcome
from services.calls.domain.errors import CommandError, Conflict, NotFound
from services.calls.domain.inputs import CallSpec, DossierContent
from services.calls.metrics import CallsMetrics
from services.calls.store import CallRepository, DossierRepository
from services.calls.views import DossierSummary
from shared.auth import Principal
from shared.clock import Clock
from shared.events.base import EventData, OutboxEntry, new_outbox_entry
from shared.store import ConcurrencyConflict, Processed, retry_on_conflict

SOURCE = "/poles/calls"
IDS = uuid.UUID("4a1c7f52-9a55-4a3b-8d0e-5b7f1c0e2d31")
Answer = dict[str, Any]
"""``{"status_code": ..., "body": ...}``: what HTTP answers, and the Kafka path's accepted event."""
Transition = Callable[[DossierState, datetime], Outcome]


def processed_id(principal: Principal, key: str | None) -> str | None:
    return None if key is None else f"cmd:{principal.subject}:{key}"


def creation_id(principal: Principal, key: str | None) -> str:
    return str(uuid.uuid4() if key is None else uuid.uuid5(IDS, f"{principal.subject}:{key}"))


def entries_for(events: Sequence[EventData], key: str, now: datetime) -> list[OutboxEntry]:
    return [new_outbox_entry(event, source=SOURCE, key=key, time=now) for event in events]


def with_history(dossier: DossierState, entries: Sequence[OutboxEntry]) -> DossierState:
    """The dossier's history is the list of its events, kept in the save that emits them."""
    added = [{"event_id": e.id, "type": e.type, "time": e.time, "data": e.data} for e in entries]
    return dossier.model_copy(update={"history": [*dossier.history, *added]})


def answer(status_code: int, dossier: DossierState) -> Answer:
    return {"status_code": status_code, "body": DossierSummary.of(dossier).model_dump(mode="json")}


class CommandHandlers:
    def __init__(
        self,
        calls: CallRepository,
        dossiers: DossierRepository,
        clock: Clock,
        metrics: CallsMetrics,
    ) -> None:
        self.calls = calls
        self.dossiers = dossiers
        self.clock = clock
        self.metrics = metrics

    async def execute(self, principal: Principal, key: str | None, command: Command) -> Answer:
        """Run any command; a refusal raises CommandError (counted by reason)."""
        try:
            return await self._dispatch(principal, key, command)
        except CommandError as error:
            self.metrics.rejected.labels(error.reason).inc()
            raise

    async def _dispatch(self, principal: Principal, key: str | None, command: Command) -> Answer:
        match command:
            case OpenCall(call=spec):
                return await self.open_call(principal, key, spec)
            case SubmitDossier(call_id=call_id, content=content):
                return await self.submit(principal, key, call_id, content)
            case _:
                transition = self._transition(principal, command)
                return await self._change(principal, key, command.dossier_id, transition)

    def _transition(self, principal: Principal, command: Command) -> Transition:
        """Checks the principal's role now (403 before any read) and returns the transition,
        which checks the principal against the dossier once it is loaded."""
        match command:
            case ReplaceDossier(content=content):
                return lambda d, now: lifecycle.replace(lead(principal, d), content, now)
            case WithdrawDossier():
                return lambda d, now: lifecycle.withdraw(lead(principal, d), now)
            case ScreenDossier(screening=screening):
                by = voter_of(principal)
                return lambda d, now: lifecycle.screen(d, screening, by, now)
            case VoteOnPreselection(vote=ballot):
                voter = voter_of(principal)
                return lambda d, now: lifecycle.vote(d, voter, ballot, now)
            case CommissionStudy(study=order):
                ensure_any(principal, "cdc")
                return lambda d, now: lifecycle.commission_study(d, order, now)
            case CompleteStudy(conclusions=conclusions):
                ensure_any(principal, "cdc")
                return lambda d, now: lifecycle.complete_study(d, conclusions, now)
            case DecideDossier(decision=decision):
                ensure_any(principal, "state")
                return lambda d, now: lifecycle.decide(d, decision, now)
        raise AssertionError(f"not a dossier command: {command.type}")

    async def open_call(self, principal: Principal, key: str | None, spec: CallSpec) -> Answer:
        ensure_any(principal, "state", "cdc")
        pid = processed_id(principal, key)
        now = self.clock.now()
        outcome = open_call(spec, now, principal.subject)
        reply = {"status_code": 201, "body": outcome.state.model_dump(mode="json")}
        entries = entries_for([outcome.event], spec.call_id, now)
        try:
            await self.calls.store.create(
                spec.call_id,
                outcome.state.model_dump(),
                entries,
                None if pid is None else Processed(pid, reply),
            )
        except ConcurrencyConflict:
            loaded = await self.calls.store.load(spec.call_id)
            earlier = None if loaded is None or pid is None else loaded.answer_for(pid)
            if earlier is not None:
                return earlier
            raise Conflict("duplicate-call", f"a call {spec.call_id} already exists") from None
        return reply

    async def submit(
        self, principal: Principal, key: str | None, call_id: str, content: DossierContent
    ) -> Answer:
        ensure_submitter(principal, content.lead_pole_id)
        dossier_id = creation_id(principal, key)
        pid = processed_id(principal, key)

        async def attempt() -> Answer:
            if pid is not None and (earlier := await self.dossiers.store.load(dossier_id)):
                return earlier.answer_for(pid) or answer(
                    201, DossierState.model_validate(earlier.state)
                )
            found = await self.calls.get(call_id)
            if found is None:
                raise NotFound("call")
            call = found[1]
            now = self.clock.now()
            lifecycle.check_submission(call, content, now)
            # A duplicate (same carrier and platform on this call) is refused by the unique
            # index when the dossier is created: like any command refused after numbering, it
            # skips a receipt number (never reused). A check before numbering would scan every
            # dossier of the store for each submission (FerretDB uses only the _id index).
            number = await self.calls.next_receipt_number(call_id)
            return await self._create(call, content, dossier_id, number, principal, pid, now)

        return await retry_on_conflict(attempt)

    async def _create(
        self,
        call: CallState,
        content: DossierContent,
        dossier_id: str,
        number: int,
        principal: Principal,
        pid: str | None,
        now: datetime,
    ) -> Answer:
        outcome = lifecycle.submit(
            call,
            content,
            dossier_id=dossier_id,
            receipt_number=f"{call.call_id}-{number:04d}",
            submitted_by=principal.subject,
            now=now,
        )
        entries = entries_for(outcome.events, dossier_id, now)
        dossier = with_history(outcome.state, entries)
        reply = answer(201, dossier)
        processed = None if pid is None else Processed(pid, reply)
        try:
            await self.dossiers.store.create(dossier_id, dossier.model_dump(), entries, processed)
        except ConcurrencyConflict:
            if await self.dossiers.store.load(dossier_id) is not None:
                raise  # the same command ran alongside: the retry returns its answer
            raise duplicate_dossier() from None
        return reply

    async def _change(
        self, principal: Principal, key: str | None, dossier_id: str, transition: Transition
    ) -> Answer:
        pid = processed_id(principal, key)

        async def attempt() -> Answer:
            found = await self.dossiers.get(dossier_id)
            if found is None:
                raise NotFound("dossier")
            loaded, dossier = found
            ensure_readable(principal, dossier)
            earlier = None if pid is None else loaded.answer_for(pid)
            if earlier is not None:
                return earlier
            now = self.clock.now()
            outcome = transition(dossier, now)
            entries = entries_for(outcome.events, dossier_id, now)
            changed = with_history(outcome.state, entries)
            reply = answer(200, changed)
            processed = None if pid is None else Processed(pid, reply)
            await self.dossiers.store.save(loaded, changed.model_dump(), entries, processed)
            self.metrics.decided(outcome.events, dossier.submitted_at, now)
            return reply

        return await retry_on_conflict(attempt)

    async def close_due_calls(self) -> int:
        """Close every open call whose deadline has passed; each closes once (guarded save)."""
        closed = 0
        now = self.clock.now()
        for call_id in await self.calls.due_for_closing(now):
            found = await self.calls.get(call_id)
            if found is None:
                continue
            loaded, call = found
            outcome = close_call(call, now, await self.dossiers.count_live(call_id))
            if outcome is None:
                continue
            entries = entries_for([outcome.event], call_id, now)
            try:
                await self.calls.store.save(loaded, outcome.state.model_dump(), entries)
            except ConcurrencyConflict:
                continue  # another replica closed it first
            closed += 1
        return closed


def lead(principal: Principal, dossier: DossierState) -> DossierState:
    ensure_lead(principal, dossier)
    return dossier


def duplicate_dossier() -> Conflict:
    return Conflict(
        "duplicate-dossier",
        "this call already holds a live dossier of this carrier for this platform name",
    )
