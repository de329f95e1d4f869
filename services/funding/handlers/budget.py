"""Decisions on money: commit, pay, de-commit, transfer.

Each decision is one new version of one aggregate (the line for a commitment or a transfer, the
commitment for a payment or a de-commitment), saved with the event saying so; of two writers that
read the same version only one saves (``services.funding.journal``), the other decides again.

What a decision implies for a second document (building the commitment, giving money back to the
line, crediting the receiving line) is done right away here and, should the process die in
between, again by the service consuming its own event (``own_events``); both are idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.funding.domain.commitment import (
    CommitmentState,
    commitment_from,
    decommit,
    record_payment,
)
from services.funding.domain.line import (
    Answer,
    LineChange,
    LineState,
    apply_decommitment,
    decide_commitment,
    receive_transfer,
    send_transfer,
)
from services.funding.handlers.contention import retry_contended
from services.funding.metrics import BudgetMetrics
from services.funding.store import FundingStore
from shared.clock import Clock
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentTerms,
    LineTransferred,
)
from shared.store import Loaded


class NotFound(LookupError):
    """The line or commitment named does not exist."""


@dataclass(frozen=True)
class Payment:
    payment_id: str
    year: int
    amount_cents: int
    author: str
    reference: str | None = None


@dataclass(frozen=True)
class Decommitment:
    decommitment_id: str
    year: int
    amount_cents: int
    author: str
    reason: str


class Budget:
    def __init__(
        self, store: FundingStore, clock: Clock, metrics: BudgetMetrics, attempts: int
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.attempts = attempts

    async def commit(self, terms: CommitmentTerms) -> Answer:
        """Commit on the line, or refuse; the same terms decided again give the same answer."""
        decided = await self._decide_on_line(
            terms.line_id,
            terms.commitment_id,
            lambda line: decide_commitment(line, terms, self.clock.now()),
        )
        if decided.answer["outcome"] == "refused" and decided.events:
            self.metrics.refused.labels(terms.line_id).inc()
        for event in decided.events:
            if isinstance(event, CommitmentMade):
                await self.build_commitment(event)
        return decided.answer

    async def build_commitment(self, made: CommitmentMade) -> None:
        await self.store.create_commitment(commitment_from(made))

    async def commitment(self, commitment_id: str) -> CommitmentState | None:
        found = await self.store.load_commitment(commitment_id)
        return None if found is None else found[1]

    async def pay(self, commitment_id: str, payment: Payment) -> Answer:
        async def attempt() -> Answer:
            loaded, commitment = await self._load_commitment(commitment_id)
            if not commitment.has_applied(payment.payment_id):
                now = self.clock.now()
                commitment, recorded = record_payment(
                    commitment,
                    payment_id=payment.payment_id,
                    year=payment.year,
                    amount_cents=payment.amount_cents,
                    author=payment.author,
                    reference=payment.reference,
                    now=now,
                )
                await self.store.save_commitment(loaded, commitment, [recorded], now)
            return {
                "payment_id": payment.payment_id,
                "commitment_id": commitment_id,
                "paid_total_cents": commitment.paid_cents,
                "remaining_cents": commitment.remaining_cents,
            }

        return await retry_contended(attempt, self.attempts)

    async def decommit(self, commitment_id: str, request: Decommitment) -> Answer:
        async def attempt() -> CommitmentDecommitted | None:
            loaded, commitment = await self._load_commitment(commitment_id)
            if commitment.has_applied(request.decommitment_id):
                return None
            now = self.clock.now()
            commitment, decommitted = decommit(
                commitment,
                decommitment_id=request.decommitment_id,
                year=request.year,
                amount_cents=request.amount_cents,
                author=request.author,
                reason=request.reason,
                now=now,
            )
            await self.store.save_commitment(loaded, commitment, [decommitted], now)
            return decommitted

        decommitted = await retry_contended(attempt, self.attempts)
        if decommitted is not None:
            await self.give_back(decommitted)
        _, commitment = await self._load_commitment(commitment_id)
        return {
            "decommitment_id": request.decommitment_id,
            "commitment_id": commitment_id,
            "decommitted_cents": commitment.decommitted_cents,
            "remaining_cents": commitment.remaining_cents,
        }

    async def give_back(self, decommitted: CommitmentDecommitted) -> None:
        """The line's side of a de-commitment (idempotent by the de-commitment's id)."""
        await self._decide_on_line(
            decommitted.line_id,
            decommitted.decommitment_id,
            lambda line: apply_decommitment(line, decommitted),
        )

    async def transfer(self, transfer: LineTransferred) -> Answer:
        """Take from the giving line (guarded: never below what it committed), then credit the
        receiving one. A repeat of a half-done transfer finishes it."""
        sent = await self._decide_on_line(
            transfer.from_line_id, transfer.transfer_id, lambda line: send_transfer(line, transfer)
        )
        await self.receive(LineTransferred.model_validate(sent.answer))
        return sent.answer

    async def receive(self, transfer: LineTransferred) -> None:
        await self._decide_on_line(
            transfer.to_line_id, transfer.transfer_id, lambda line: receive_transfer(line, transfer)
        )

    async def _decide_on_line(
        self, line_id: str, decision_id: str, decide: Callable[[LineState], LineChange]
    ) -> LineChange:
        """Apply one decision to a line once: a decision already in its journal gives back its
        first answer and no event; otherwise the new version is saved, or decided again if
        another writer saved first."""

        async def attempt() -> LineChange:
            found = await self.store.load_line(line_id)
            if found is None:
                raise NotFound(f"no line {line_id}")
            loaded, line = found
            earlier = await self.store.lines.answer_for(line_id, decision_id)
            if earlier is not None:
                return LineChange(line, (), earlier)
            change = decide(line)
            await self.store.save_line(loaded, change, decision_id, self.clock.now())
            return change

        return await retry_contended(attempt, self.attempts)

    async def _load_commitment(self, commitment_id: str) -> tuple[Loaded, CommitmentState]:
        found = await self.store.load_commitment(commitment_id)
        if found is None:
            raise NotFound(f"no commitment {commitment_id}")
        return found
