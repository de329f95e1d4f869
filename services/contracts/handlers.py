"""Commands on contracts and pôles, written on the kernel's ``Repository``: load the aggregate,
let the domain decide, save state + events (+ the idempotency id) in one guarded update, retrying
when another writer won the race.

A command carrying an ``Idempotency-Key`` records ``cmd:<subject>:<key>`` (``command_id``) with
its answer in the same save; a repeat returns that answer and emits nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from services.contracts.domain import signatures
from services.contracts.domain.contract import Contract
from services.contracts.domain.pole import LabelDecision
from services.contracts.domain.terms import PartyInput, Terms, to_parties
from services.contracts.store import ContractRepository, PoleRepository
from shared.auth import Principal
from shared.decision import Answer, Decision
from shared.errors import Conflict, Forbidden, invalid
from shared.repository import command_id

Decide = Callable[[Contract, datetime], Decision[Contract]]
ContractsOfPole = Callable[[str], Awaitable[list[Contract]]]
"""The contracts a pôle already has (the store's query; a list in memory in tests)."""


@dataclass(frozen=True)
class Command:
    """Who asks (their roles), and the command's idempotency id if they gave a key."""

    roles: frozenset[str]
    idempotency: str | None = None

    @classmethod
    def of(cls, principal: Principal, idempotency_key: str | None) -> Command:
        return cls(principal.roles, command_id(principal.subject, idempotency_key))


@dataclass(frozen=True)
class DraftRequest:
    pole_id: str
    period_start_year: int
    period_end_year: int
    signature_deadline: datetime
    parties: list[PartyInput]
    terms: Terms


@dataclass(frozen=True)
class ContractHandlers:
    contracts: ContractRepository
    poles: PoleRepository
    contracts_of_pole: ContractsOfPole

    async def draft(self, command: Command, request: DraftRequest) -> Answer:
        """One contract per pôle and period: a repeat of the same command gets its first answer,
        any other draft naming them is refused before anything else is checked."""
        contract_id = Contract.id_for(request.pole_id, request.period_start_year)
        if "state" not in command.roles and f"pole:{request.pole_id}" not in command.roles:
            raise Forbidden(f"only pole:{request.pole_id} or the State draft its contract")

        def exists() -> Conflict:
            return Conflict(f"{contract_id} exists: one contract per pôle and period")

        found = await self.contracts.get(contract_id)
        if found is not None:
            earlier = found.answer_for(command.idempotency)
            if earlier is not None:
                return earlier
            raise exists()
        pole = await self.poles.get(request.pole_id)
        if pole is None:
            raise invalid(("pole_id",), f"{request.pole_id} is not a pôle of the reference list")
        record = pole.state
        record.require_contract_allowed(self.contracts.clock.now())
        await self._refuse_overlap(request)
        parties = to_parties(request.parties, request.pole_id, tuple(record.region_codes))

        def decide(now: datetime) -> Decision[Contract]:
            return signatures.draft(
                pole_id=request.pole_id,
                pole_name=record.name,
                region_codes=record.region_codes,
                start_year=request.period_start_year,
                end_year=request.period_end_year,
                signature_deadline=request.signature_deadline,
                parties=parties,
                terms=request.terms,
                now=now,
            )

        return await self.contracts.create(contract_id, decide, command.idempotency, exists)

    async def _refuse_overlap(self, request: DraftRequest) -> None:
        for other in await self.contracts_of_pole(request.pole_id):
            if (
                other.period_start_year <= request.period_end_year
                and request.period_start_year <= other.period_end_year
            ):
                raise Conflict(f"{other.contract_id} already covers part of this period")

    async def change(self, command: Command, contract_id: str, decide: Decide) -> Answer:
        """Apply one command to one contract."""
        return await self.contracts.change(contract_id, decide, command.idempotency)

    async def edit_terms(
        self, command: Command, contract_id: str, parties: list[PartyInput], terms: Terms
    ) -> Answer:
        def decide(contract: Contract, now: datetime) -> Decision[Contract]:
            named = to_parties(parties, contract.pole_id, tuple(contract.region_codes))
            return signatures.edit(contract, named, terms, command.roles, now)

        return await self.change(command, contract_id, decide)

    async def decide_label(
        self,
        command: Command,
        pole_id: str,
        decision: LabelDecision,
        decided_on: date,
        reference: str,
    ) -> Answer:
        return await self.poles.change(
            pole_id,
            lambda pole, _: pole.decide(decision, decided_on, reference),
            command.idempotency,
        )
