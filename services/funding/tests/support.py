"""Builders shared by the funding unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from services.funding.domain.envelope import DEFAULT_ENVELOPE, Envelope, load_envelope
from services.funding.domain.line import LineState, new_line
from shared.events.funding import (
    Beneficiary,
    CommitmentSource,
    CommitmentTerms,
    LineTransferred,
    YearAmount,
)

NOW = datetime(2009, 7, 6, 10, 0, tzinfo=UTC)
M_EUR = 100_000_000  # one million euros in cents


def envelope() -> Envelope:
    return load_envelope(DEFAULT_ENVELOPE)


def line(line_id: str) -> LineState:
    spec = next(spec for spec in envelope().leaves if spec.id == line_id)
    return new_line(spec, envelope(), NOW)[0]


def terms(line_id: str, *years: tuple[int, int], commitment_id: str = "c-1") -> CommitmentTerms:
    return CommitmentTerms(
        commitment_id=commitment_id,
        line_id=line_id,
        years=[YearAmount(year=year, amount_cents=cents) for year, cents in years],
        beneficiary=Beneficiary(kind="pole", id="minalogic"),
        pole_id="minalogic",
        region_codes=["82"],
        source=CommitmentSource(kind="manual", author="dge", reason="test"),
    )


def transfer(
    amount_cents: int, transfer_id: str = "t-1", at: datetime = NOW, year: int = 2010
) -> LineTransferred:
    """From the R&D line to the platforms line, with the platforms' ceiling of ``year``."""
    return LineTransferred(
        transfer_id=transfer_id,
        line_id="intervention.rd",
        from_line_id="intervention.rd",
        to_line_id="intervention.platforms",
        amount_cents=amount_cents,
        reason="more platforms",
        author="dge",
        transferred_at=at,
        years=[YearAmount(year=year, amount_cents=amount_cents)],
    )
