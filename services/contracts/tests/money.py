"""Funding's money events about a pôle, for the correspondents' view tests (component and
integration)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.funding import (
    Beneficiary,
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentSource,
    PaymentRecorded,
    YearAmount,
)

AT = datetime(2010, 3, 1, tzinfo=UTC)


def made(pole_id: str | None, *years: tuple[int, int]) -> CommitmentMade:
    amounts = [YearAmount(year=y, amount_cents=a) for y, a in years]
    total = sum(a for _, a in years)
    return CommitmentMade(
        commitment_id="c-1",
        line_id="animation",
        years=amounts,
        beneficiary=Beneficiary(kind="pole", id=pole_id or "x"),
        pole_id=pole_id,
        source=CommitmentSource(kind="manual"),
        amount_cents=total,
        committed_at=AT,
        line_amount_cents=10 * total,
        line_committed_cents=total,
    )


def decommitted(pole_id: str, year: int, amount: int) -> CommitmentDecommitted:
    return CommitmentDecommitted(
        decommitment_id="d-1",
        commitment_id="c-1",
        line_id="animation",
        year=year,
        amount_cents=amount,
        author="dgcis",
        reason="moins d'actions",
        pole_id=pole_id,
        decommitted_at=AT,
    )


def paid(pole_id: str, year: int, amount: int) -> PaymentRecorded:
    return PaymentRecorded(
        payment_id="p-1",
        commitment_id="c-1",
        line_id="animation",
        year=year,
        amount_cents=amount,
        paid_total_cents=amount,
        remaining_cents=0,
        author="dgcis",
        pole_id=pole_id,
        paid_at=AT,
    )
