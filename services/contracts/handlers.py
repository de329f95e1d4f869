"""Commands: load the aggregate, let the domain decide, save state + events (+ the idempotency
key) in one guarded update, retrying when another writer won the race.

A command carrying an ``Idempotency-Key`` records ``cmd:<subject>:<key>`` with its answer in the
same save; a repeat returns that answer and emits nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.contracts.domain import signing
from services.contracts.domain.contract import Contract
from services.contracts.domain.errors import Conflict, Forbidden, NotFound, invalid
from services.contracts.domain.pole import Decision
from services.contracts.domain.terms import PartyInput, Terms, to_parties
from services.contracts.store import ContractRepository, PoleRepository
from shared.clock import Clock
from shared.events.base import EventData
from shared.store import Processed, retry_on_conflict

Answer = dict[str, Any]
Decide = Callable[[Contract, datetime], list[EventData]]


@dataclass(frozen=True)
class Command:
    """Who asks, and the idempotency key they gave (if any)."""

    subject: str
    roles: frozenset[str]
    idempotency_key: str | None = None

    @property
    def processed_id(self) -> str | None:
        if self.idempotency_key is None:
            return None
        return f"cmd:{self.subject}:{self.idempotency_key}"

    def processed(self, answer: Answer) -> Processed | None:
        pid = self.processed_id
        return None if pid is None else Processed(pid, answer)


def contract_answer(contract: Contract, events: list[EventData]) -> Answer:
    return {
        "contract_id": contract.contract_id,
        "status": contract.status,
        "version": contract.current.version,
        "events": [e.type_name for e in events],
    }


@dataclass(frozen=True)
class DraftRequest:
    pole_id: str
    period_start_year: int
    period_end_year: int
    signature_deadline: datetime
    parties: list[PartyInput]
    terms: Terms


class ContractHandlers:
    def __init__(self, contracts: ContractRepository, poles: PoleRepository, clock: Clock) -> None:
        self.contracts = contracts
        self.poles = poles
        self.clock = clock

    async def draft(self, command: Command, request: DraftRequest) -> Answer:
        contract_id = Contract.id_for(request.pole_id, request.period_start_year)
        if "state" not in command.roles and f"pole:{request.pole_id}" not in command.roles:
            raise Forbidden(f"only pole:{request.pole_id} or the State draft its contract")

        async def attempt() -> Answer:
            found = await self.contracts.load(contract_id)
            if found is not None:
                answer = _repeat(command, found[0].answer_for)
                if answer is not None:
                    return answer
                raise Conflict(f"{contract_id} exists: one contract per pôle and period")
            pole = await self.poles.load(request.pole_id)
            if pole is None:
                raise invalid(
                    ("pole_id",), f"{request.pole_id} is not a pôle of the reference list"
                )
            now = self.clock.now()
            pole[1].require_contract_allowed(now)
            await self._refuse_overlap(request)
            parties = to_parties(request.parties, request.pole_id, tuple(pole[1].region_codes))
            contract, events = signing.draft(
                pole_id=request.pole_id,
                pole_name=pole[1].name,
                region_codes=pole[1].region_codes,
                start_year=request.period_start_year,
                end_year=request.period_end_year,
                signature_deadline=request.signature_deadline,
                parties=parties,
                terms=request.terms,
                now=now,
            )
            answer = contract_answer(contract, events)
            await self.contracts.add(contract, events, now, command.processed(answer))
            return answer

        return await retry_on_conflict(attempt)

    async def _refuse_overlap(self, request: DraftRequest) -> None:
        for other in await self.contracts.find(pole_id=request.pole_id):
            if (
                other.period_start_year <= request.period_end_year
                and request.period_start_year <= other.period_end_year
            ):
                raise Conflict(f"{other.contract_id} already covers part of this period")

    async def change(self, command: Command, contract_id: str, decide: Decide) -> Answer:
        """Apply one command to one contract."""

        async def attempt() -> Answer:
            found = await self.contracts.load(contract_id)
            if found is None:
                raise NotFound(f"no contract {contract_id}")
            loaded, contract = found
            answer = _repeat(command, loaded.answer_for)
            if answer is not None:
                return answer
            now = self.clock.now()
            events = decide(contract, now)
            answer = contract_answer(contract, events)
            await self.contracts.save(loaded, contract, events, now, command.processed(answer))
            return answer

        return await retry_on_conflict(attempt)

    async def edit_terms(
        self, command: Command, contract_id: str, parties: list[PartyInput], terms: Terms
    ) -> Answer:
        def decide(contract: Contract, now: datetime) -> list[EventData]:
            named = to_parties(parties, contract.pole_id, tuple(contract.region_codes))
            return signing.edit(contract, named, terms, command.roles, now)

        return await self.change(command, contract_id, decide)

    async def decide_label(
        self, command: Command, pole_id: str, decision: Decision, decided_on: date, reference: str
    ) -> Answer:
        async def attempt() -> Answer:
            found = await self.poles.load(pole_id)
            if found is None:
                raise NotFound(f"no pôle {pole_id}")
            loaded, pole = found
            answer = _repeat(command, loaded.answer_for)
            if answer is not None:
                return answer
            event = pole.decide(decision, decided_on, reference)
            answer = {"pole_id": pole_id, "status": pole.status, "events": [event.type_name]}
            await self.poles.save(
                loaded, pole, [event], self.clock.now(), command.processed(answer)
            )
            return answer

        return await retry_on_conflict(attempt)


def _repeat(command: Command, answer_for: Callable[[str], Answer | None]) -> Answer | None:
    pid = command.processed_id
    return None if pid is None else answer_for(pid)
