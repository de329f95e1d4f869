"""A commitment (autorisation d'engagement) and what happens to it: payments and de-commitments.

A commitment document is built from its ``funding.commitment.made.v1`` event, so whoever builds it
(the handler right after the line's decision, or the sweep completing it after a crash) builds
the same one. Payments and de-commitments are new versions of this document, each saved once
under its id (``services.funding.journal``); its ``history`` keeps every change with its id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import PARIS
from shared.decision import Decision
from shared.errors import Conflict, Forbidden
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


@dataclass(frozen=True)
class Payment:
    """A payment (crédit de paiement) asked on a commitment."""

    payment_id: str
    year: int
    amount_cents: int
    author: str
    reference: str | None = None


@dataclass(frozen=True)
class Decommitment:
    """Part of one year's commitment asked back for its line."""

    decommitment_id: str
    year: int
    amount_cents: int
    author: str
    reason: str


def ensure_on(commitment: CommitmentState, lines: Collection[str] | None) -> CommitmentState:
    """The commitment, if it is on one of ``lines`` (None: any line); 403 otherwise. The State
    pays and de-commits on its lines, an agency on its own line only."""
    if lines is not None and commitment.line_id not in lines:
        raise Forbidden(f"commitment {commitment.commitment_id} is on line {commitment.line_id}, "
                        "which this role does not pay on")  # fmt: skip
    return commitment


def record_payment(
    commitment: CommitmentState, payment: Payment, now: datetime
) -> Decision[CommitmentState]:
    """Pay from the commitment; never above what it has left (409 ``over-commitment``).

    When a payment may be made, precisely (each 409, and nothing changes):
    - its budget year is one of the commitment's years (``payment-outside-years``);
    - it is made at or after the instant the commitment was made, read on the service's clock
      (``payment-before-commitment``: a replica whose clock is behind cannot pay it);
    - its budget year has begun: the year is at most the current year in Paris
      (``payment-in-future-year``: no credits of 2011 paid in 2010). A payment on a year that
      has ended (2009's credits paid in January 2010) is allowed.
    """
    ensure_payable(
        f"commitment {commitment.commitment_id}",
        commitment.years,
        commitment.committed_at,
        commitment.remaining_cents,
        payment,
        now,
    )
    state = paid(commitment, payment, now)
    totals = {"paid_total_cents": state.paid_cents, "remaining_cents": state.remaining_cents}
    event = PaymentRecorded(**asdict(payment), **_about(commitment), **totals, paid_at=now)
    answer = {"payment_id": payment.payment_id, "commitment_id": commitment.commitment_id}
    return Decision.of(state, [event], {**answer, **totals})


def ensure_payable(
    what: str,
    years: list[YearAmount],
    committed_at: datetime,
    remaining_cents: int,
    payment: Payment,
    now: datetime,
) -> None:
    """The rules every payment (CP) obeys, on a line commitment or a ledger entry (``what``
    names it in the refusal): see ``record_payment``. Conflict with the rule's reason."""
    committed_years = sorted({item.year for item in years})
    if payment.year not in committed_years:
        raise Conflict(
            f"{what} is for the years {committed_years}; it cannot be paid on {payment.year}",
            "payment-outside-years",
        )
    if now < committed_at:
        raise Conflict(
            f"{what} was committed at {committed_at.isoformat()}; "
            f"it cannot be paid at {now.isoformat()}",
            "payment-before-commitment",
        )
    if payment.year > now.astimezone(PARIS).year:
        raise Conflict(
            f"the budget year {payment.year} has not begun; it cannot be paid at {now.isoformat()}",
            "payment-in-future-year",
        )
    if payment.amount_cents > remaining_cents:
        raise Conflict(
            f"{what} has {remaining_cents} cents left; "
            f"a payment of {payment.amount_cents} would exceed it",
            "over-commitment",
        )


def decommit(
    commitment: CommitmentState, request: Decommitment, now: datetime
) -> Decision[CommitmentState]:
    """Give back part of one year's commitment; never what is already paid. The line gets the
    money back by a follow-up of this decision (``services.funding.handlers.budget``)."""
    year = request.year
    year_left = _year_amount(commitment.years, year) - commitment.decommitted_by_year.get(
        str(year), 0
    )
    left = min(year_left, commitment.remaining_cents)
    if request.amount_cents > left:
        raise Conflict(
            f"commitment {commitment.commitment_id} can give back at most {left} cents "
            f"for {year}; {request.amount_cents} asked",
            "over-decommitment",
        )
    state = given_back(commitment, request, now)
    event = CommitmentDecommitted(**asdict(request), **_about(commitment), decommitted_at=now)
    answer = {
        "decommitment_id": request.decommitment_id,
        "commitment_id": commitment.commitment_id,
        "decommitted_cents": state.decommitted_cents,
        "remaining_cents": state.remaining_cents,
    }
    return Decision.of(state, [event], answer)


def paid(commitment: CommitmentState, payment: Payment, now: datetime) -> CommitmentState:
    """The commitment once ``payment`` is made (``record_payment`` decides whether it may be;
    ``services.funding.asof`` replays a recorded one)."""
    return _changed(
        commitment,
        _history(payment.payment_id, "paid", payment, now, payment.reference),
        paid_cents=commitment.paid_cents + payment.amount_cents,
        paid_by_year=_add(commitment.paid_by_year, payment.year, payment.amount_cents),
    )


def given_back(
    commitment: CommitmentState, request: Decommitment, now: datetime
) -> CommitmentState:
    """The commitment once ``request`` is given back (``decommit`` decides whether it may be;
    ``services.funding.asof`` replays a recorded one)."""
    return _changed(
        commitment,
        _history(request.decommitment_id, "decommitted", request, now, request.reason),
        decommitted_cents=commitment.decommitted_cents + request.amount_cents,
        decommitted_by_year=_add(
            commitment.decommitted_by_year, request.year, request.amount_cents
        ),
    )


def _history(
    change_id: str,
    kind: Literal["paid", "decommitted"],
    request: Payment | Decommitment,
    now: datetime,
    reason: str | None,
) -> HistoryEntry:
    return HistoryEntry(
        id=change_id,
        kind=kind,
        at=now,
        amount_cents=request.amount_cents,
        year=request.year,
        author=request.author,
        reason=reason,
    )


def _about(commitment: CommitmentState) -> dict[str, Any]:
    """What every event of a commitment says about it."""
    return {
        "commitment_id": commitment.commitment_id,
        "line_id": commitment.line_id,
        "pole_id": commitment.pole_id,
        "region_codes": commitment.region_codes,
    }


def _changed(commitment: CommitmentState, entry: HistoryEntry, **totals: Any) -> CommitmentState:
    """The commitment with new totals and ``entry`` at the end of its history."""
    return commitment.model_copy(update={**totals, "history": [*commitment.history, entry]})


def _year_amount(years: list[YearAmount], year: int) -> int:
    return sum(item.amount_cents for item in years if item.year == year)


def _add(by_year: dict[str, int], year: int, amount_cents: int) -> dict[str, int]:
    return {**by_year, str(year): by_year.get(str(year), 0) + amount_cents}
