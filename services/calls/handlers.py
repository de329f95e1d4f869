"""The command handlers, shared by the HTTP API and the Kafka command topic: check who asks, let
the domain decide, save the state with its events through the repositories (one guarded update).

A command with an idempotency key (HTTP ``Idempotency-Key``, Kafka ``command_id``) is saved with
``command_id(subject, key)`` and its answer; a repeat gets that answer and emits nothing. A
submission derives the new dossier's id from (subject, key), so a repeat cannot create a second.

An answer is what HTTP answers: ``{"status_code": ..., "body": ...}``; the Kafka path's accepted
event carries the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from services.calls import commands
from services.calls.domain import dossier as lifecycle
from services.calls.domain.access import (
    ensure_any,
    ensure_lead,
    ensure_readable,
    ensure_submitter,
    voter_of,
)
from services.calls.domain.call import CallState, close_call, open_call
from services.calls.domain.dossier import DossierState
from services.calls.domain.inputs import CallSpec, DossierContent
from services.calls.domain.poles import PoleLabels
from services.calls.labels import LabelView
from services.calls.metrics import CallsMetrics
from services.calls.store import CallsQueries
from services.calls.views import DossierSummary
from shared.auth import Principal
from shared.clock import Clock
from shared.decision import Answer, Decision
from shared.errors import Conflict, DomainError
from shared.repository import Repository, command_id, derived_id
from shared.store import ConcurrencyConflict

IDS = uuid.UUID("4a1c7f52-9a55-4a3b-8d0e-5b7f1c0e2d31")
"""The namespace of the ids derived from commands (dossiers, answers on the command topic)."""
StateT = TypeVar("StateT")
Transition = Callable[[DossierState, datetime], Decision[DossierState]]


def reply(status_code: int, body: dict[str, Any]) -> Answer:
    return {"status_code": status_code, "body": body}


def answered(decision: Decision[StateT], answer: Answer) -> Decision[StateT]:
    """The decision with the answer its command gets."""
    return Decision(decision.state, decision.events, answer)


def summary(dossier: DossierState) -> dict[str, Any]:
    return DossierSummary.of(dossier).model_dump(mode="json")


@dataclass
class CommandHandlers:
    calls: Repository[CallState]
    dossiers: Repository[DossierState]
    queries: CallsQueries
    metrics: CallsMetrics
    labels: LabelView
    clock: Clock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = self.calls.clock

    async def execute(
        self, principal: Principal, key: str | None, command: commands.Command
    ) -> Answer:
        """Run any command; a refusal raises a DomainError (counted by reason)."""
        try:
            return await self._dispatch(principal, key, command)
        except DomainError as error:
            self.metrics.rejected.labels(error.reason).inc()
            raise

    async def _dispatch(
        self, principal: Principal, key: str | None, command: commands.Command
    ) -> Answer:
        match command:
            case commands.OpenCall(call=spec):
                return await self.open_call(principal, key, spec)
            case commands.SubmitDossier(call_id=call_id, content=content):
                return await self.submit(principal, key, call_id, content)
            case _:
                labels = PoleLabels()
                if isinstance(command, commands.ReplaceDossier):
                    labels = await self.labels.of(pole_ids(command.content))
                transition = self._transition(principal, command, labels)
                return await self._change(principal, key, command.dossier_id, transition)

    def _transition(
        self, principal: Principal, command: commands.Command, labels: PoleLabels
    ) -> Transition:
        """Checks the principal's role now (403 before any read) and returns the transition,
        which checks the principal against the dossier once it is loaded."""
        match command:
            case commands.ReplaceDossier(content=content):
                return lambda d, now: lifecycle.replace(lead(principal, d), content, now, labels)
            case commands.WithdrawDossier():
                return lambda d, now: lifecycle.withdraw(lead(principal, d), now)
            case commands.ScreenDossier(screening=screening):
                by = voter_of(principal)
                return lambda d, now: lifecycle.screen(d, screening, by, now)
            case commands.VoteOnPreselection(vote=ballot):
                voter = voter_of(principal)
                return lambda d, now: lifecycle.vote(d, voter, ballot, now)
            case commands.CommissionStudy(study=order):
                ensure_any(principal, "cdc")
                return lambda d, now: lifecycle.commission_study(d, order, now)
            case commands.CompleteStudy(conclusions=conclusions):
                ensure_any(principal, "cdc")
                return lambda d, now: lifecycle.complete_study(d, conclusions, now)
            case commands.EvaluateDossier(expertise=expertise):
                ensure_any(principal, "state")
                return lambda d, now: lifecycle.evaluate(d, expertise, principal.subject, now)
            case commands.DecideDossier(decision=decision):
                ensure_any(principal, "state")
                return lambda d, now: lifecycle.decide(d, decision, now)
        raise AssertionError(f"not a dossier command: {command.type}")

    async def open_call(self, principal: Principal, key: str | None, spec: CallSpec) -> Answer:
        ensure_any(principal, "state", "cdc")

        def decide(now: datetime) -> Decision[CallState]:
            opened = open_call(spec, now, principal.subject)
            return answered(opened, reply(201, opened.state.model_dump(mode="json")))

        return await self.calls.create(
            spec.call_id,
            decide,
            command_id(principal.subject, key),
            exists=lambda: Conflict(f"a call {spec.call_id} already exists", "duplicate-call"),
        )

    async def submit(
        self, principal: Principal, key: str | None, call_id: str, content: DossierContent
    ) -> Answer:
        ensure_submitter(principal, content.lead_pole_id)
        dossier_id = derived_id(IDS, principal.subject, key)
        idempotency = command_id(principal.subject, key)
        if idempotency is not None and (earlier := await self.dossiers.get(dossier_id)):
            return earlier.answer_for(idempotency) or reply(201, summary(earlier.state))
        call = (await self.calls.require(call_id)).state
        labels = await self.labels.of(pole_ids(content))
        now = self.clock.now()
        lifecycle.check_submission(call, content, now, labels)
        # A duplicate (same carrier and platform on this call) is refused by the unique index
        # when the dossier is created: like any command refused after numbering, it skips a
        # receipt number (never reused). A check before numbering would scan every dossier of
        # the store for each submission (FerretDB uses only the _id index).
        number = await self.queries.next_receipt_number(call_id)

        def decide(at: datetime) -> Decision[DossierState]:
            submitted = lifecycle.submit(
                call,
                content,
                dossier_id=dossier_id,
                receipt_number=f"{call.call_id}-{number:04d}",
                submitted_by=principal.subject,
                now=at,
                labels=labels,
            )
            return answered(submitted, reply(201, summary(submitted.state)))

        return await self.dossiers.create(
            dossier_id, decide, idempotency, duplicate_dossier, now=now
        )

    async def _change(
        self, principal: Principal, key: str | None, dossier_id: str, transition: Transition
    ) -> Answer:

        def decide(dossier: DossierState, now: datetime) -> Decision[DossierState]:
            ensure_readable(principal, dossier)
            moved = transition(dossier, now)
            return answered(moved, reply(200, summary(moved.state)))

        applied = await self.dossiers.apply(dossier_id, decide, command_id(principal.subject, key))
        if applied.saved is not None and applied.at is not None:
            # Decisions are counted once, when saved (not when a repeat gets its first answer).
            self.metrics.decided(applied.saved.events, applied.saved.state.submitted_at, applied.at)
        return applied.answer

    async def close_due_calls(self) -> int:
        """Close every open call whose deadline has passed; each closes once (guarded save)."""
        closed = 0
        now = self.clock.now()
        for call_id in await self.queries.due_for_closing(now):
            found = await self.calls.get(call_id)
            if found is None:
                continue
            closing = close_call(found.state, now, await self.queries.count_live(call_id))
            if closing is None:
                continue
            try:
                await self.calls.save(found, closing, now)
            except ConcurrencyConflict:
                continue  # another replica closed it first
            closed += 1
        return closed


def pole_ids(content: DossierContent) -> list[str]:
    """The pôles whose labels a dossier's content needs."""
    return [
        content.lead_pole_id,
        *content.partner_pole_ids,
        *(label.pole_id for label in content.labels),
    ]


def lead(principal: Principal, dossier: DossierState) -> DossierState:
    ensure_lead(principal, dossier)
    return dossier


def duplicate_dossier() -> Conflict:
    return Conflict(
        "this call already holds a live dossier of this carrier for this platform name",
        "duplicate-dossier",
    )
