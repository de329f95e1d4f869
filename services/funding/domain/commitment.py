"""A commitment (autorisation d'engagement) and what happens to it: payments and de-commitments.

A commitment document is built from its ``funding.commitment.made.v1`` event, so whoever builds it
(the handler right after the line's decision, or the service consuming its own topic after a
crash) builds the same one. Payments and de-commitments are guarded updates of this document;
its ``history`` keeps every change with its id, which also makes each change apply once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.funding.domain.errors import RuleBroken
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentTerms,
    PaymentRecorded,
    YearAmount,
)


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: Literal["committed", "paid", "decommitted"]
    at: datetime
    amount_cents: int
    year: int | None = None
    author: str | None = None
    reason: str | None = None


class CommitmentState(CommitmentTerms):
    amount_cents: int
    committed_at: datetime
    decommitted_cents: int = 0
    decommitted_by_year: dict[str, int] = Field(default_factory=dict)
    paid_cents: int = 0
    paid_by_year: dict[str, int] = Field(default_factory=dict)
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def remaining_cents(self) -> int:
        """What can still be paid or given back."""
        return self.amount_cents - self.decommitted_cents - self.paid_cents

    def has_applied(self, change_id: str) -> bool:
        return any(entry.id == change_id for entry in self.history)


def commitment_from(made: CommitmentMade) -> CommitmentState:
    terms = CommitmentTerms.model_validate(made.model_dump()).model_dump()
    return CommitmentState(
        **terms,
        amount_cents=made.amount_cents,
        committed_at=made.committed_at,
        history=[
            HistoryEntry(
                id=made.commitment_id,
                kind="committed",
                at=made.committed_at,
                amount_cents=made.amount_cents,
                author=made.source.author,
                reason=made.source.reason or made.source.event_type,
            )
        ],
    )


def record_payment(
    commitment: CommitmentState,
    *,
    payment_id: str,
    year: int,
    amount_cents: int,
    author: str,
    reference: str | None,
    now: datetime,
) -> tuple[CommitmentState, PaymentRecorded]:
    if amount_cents > commitment.remaining_cents:
        raise RuleBroken(
            f"commitment {commitment.commitment_id} has {commitment.remaining_cents} cents left; "
            f"a payment of {amount_cents} would exceed it"
        )
    paid = commitment.paid_cents + amount_cents
    event = PaymentRecorded(
        payment_id=payment_id,
        commitment_id=commitment.commitment_id,
        line_id=commitment.line_id,
        year=year,
        amount_cents=amount_cents,
        paid_total_cents=paid,
        remaining_cents=commitment.remaining_cents - amount_cents,
        author=author,
        reference=reference,
        pole_id=commitment.pole_id,
        region_codes=commitment.region_codes,
        paid_at=now,
    )
    entry = HistoryEntry(
        id=payment_id,
        kind="paid",
        at=now,
        amount_cents=amount_cents,
        year=year,
        author=author,
        reason=reference,
    )
    state = commitment.model_copy(
        update={
            "paid_cents": paid,
            "paid_by_year": _add(commitment.paid_by_year, year, amount_cents),
            "history": [*commitment.history, entry],
        }
    )
    return state, event


def decommit(
    commitment: CommitmentState,
    *,
    decommitment_id: str,
    year: int,
    amount_cents: int,
    author: str,
    reason: str,
    now: datetime,
) -> tuple[CommitmentState, CommitmentDecommitted]:
    """Give back part of one year's commitment; never what is already paid."""
    year_left = _year_amount(commitment.years, year) - commitment.decommitted_by_year.get(
        str(year), 0
    )
    left = min(year_left, commitment.remaining_cents)
    if amount_cents > left:
        raise RuleBroken(
            f"commitment {commitment.commitment_id} can give back at most {left} cents "
            f"for {year}; {amount_cents} asked"
        )
    event = CommitmentDecommitted(
        decommitment_id=decommitment_id,
        commitment_id=commitment.commitment_id,
        line_id=commitment.line_id,
        year=year,
        amount_cents=amount_cents,
        author=author,
        reason=reason,
        pole_id=commitment.pole_id,
        region_codes=commitment.region_codes,
        decommitted_at=now,
    )
    entry = HistoryEntry(
        id=decommitment_id,
        kind="decommitted",
        at=now,
        amount_cents=amount_cents,
        year=year,
        author=author,
        reason=reason,
    )
    state = commitment.model_copy(
        update={
            "decommitted_cents": commitment.decommitted_cents + amount_cents,
            "decommitted_by_year": _add(commitment.decommitted_by_year, year, amount_cents),
            "history": [*commitment.history, entry],
        }
    )
    return state, event


def _year_amount(years: list[YearAmount], year: int) -> int:
    return sum(item.amount_cents for item in years if item.year == year)


def _add(by_year: dict[str, int], year: int, amount_cents: int) -> dict[str, int]:
    return {**by_year, str(year): by_year.get(str(year), 0) + amount_cents}
