"""Events the funding service publishes (topics ``funding.line``, ``funding.commitment``,
``funding.ledger``).

Every change to money is one of these events, so that the balance of any line at any past instant
can be rebuilt from them: a line's amount comes from ``line.loaded`` and ``line.transferred``, its
committed total from ``commitment.made`` and ``commitment.decommitted``, its paid total from
``payment.recorded``. Events about a pôle's money carry ``pole_id`` and ``region_codes``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData, event_type
from shared.topics import FUNDING_COMMITMENT, FUNDING_LEDGER, FUNDING_LINE


class YearAmount(BaseModel):
    """An amount for one budget year."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    year: int = Field(ge=2000, le=2100)
    amount_cents: int = Field(gt=0)


def total_cents(years: list[YearAmount]) -> int:
    return sum(item.amount_cents for item in years)


class Beneficiary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["pole", "project", "platform"]
    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=300)


class CommitmentSource(BaseModel):
    """Why a commitment was asked: an event of another service, or a manual decision."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["event", "manual"]
    event_id: str | None = None
    event_type: str | None = None
    author: str | None = Field(default=None, description="the token's subject, for manual ones")
    reason: str | None = None


class CommitmentTerms(EventData):
    """What a commitment asks for; shared by the ``made`` and ``refused`` events."""

    commitment_id: str = Field(description="derived from the source event id or idempotency key")
    line_id: str
    years: list[YearAmount] = Field(min_length=1)
    beneficiary: Beneficiary
    pole_id: str | None = None
    partner_pole_ids: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(default_factory=list)
    call_id: str | None = None
    dossier_id: str | None = None
    contract_id: str | None = None
    source: CommitmentSource


@event_type("funding.line.loaded.v1", FUNDING_LINE)
class LineLoaded(EventData):
    """A line of the envelope was loaded from its declarative file: its first amount."""

    line_id: str
    parent_line_id: str | None = None
    envelope_id: str
    amount_cents: int = Field(ge=0)
    yearly_ceilings: list[YearAmount] = Field(default_factory=list)
    loaded_at: datetime


@event_type("funding.line.threshold-crossed.v1", FUNDING_LINE)
class LineThresholdCrossed(EventData):
    line_id: str
    threshold_percent: int = Field(description="80, 95 or 100")
    amount_cents: int
    committed_cents: int
    crossed_at: datetime


@event_type("funding.line.transferred.v1", FUNDING_LINE)
class LineTransferred(EventData):
    """Money moved from one line to another; the envelope's total is unchanged."""

    transfer_id: str
    line_id: str = Field(description="the giving line (same as from_line_id)")
    from_line_id: str
    to_line_id: str
    amount_cents: int = Field(gt=0)
    reason: str
    author: str
    transferred_at: datetime


@event_type("funding.commitment.made.v1", FUNDING_COMMITMENT)
class CommitmentMade(CommitmentTerms):
    amount_cents: int = Field(description="the sum of the years' amounts")
    committed_at: datetime
    line_amount_cents: int
    line_committed_cents: int = Field(description="the line's committed total after this one")


@event_type("funding.commitment.refused.v1", FUNDING_COMMITMENT)
class CommitmentRefused(CommitmentTerms):
    asked_cents: int
    available_cents: int
    reason: Literal["over-line", "over-yearly-ceiling", "year-outside-envelope"]
    source_event_id: str | None = None
    refused_at: datetime


@event_type("funding.commitment.decommitted.v1", FUNDING_COMMITMENT)
class CommitmentDecommitted(EventData):
    """Part of a commitment is given back to its line."""

    decommitment_id: str
    commitment_id: str
    line_id: str
    year: int
    amount_cents: int = Field(gt=0)
    author: str
    reason: str
    pole_id: str | None = None
    region_codes: list[str] = Field(default_factory=list)
    decommitted_at: datetime


@event_type("funding.payment.recorded.v1", FUNDING_COMMITMENT)
class PaymentRecorded(EventData):
    payment_id: str
    commitment_id: str
    line_id: str
    year: int
    amount_cents: int = Field(gt=0)
    paid_total_cents: int = Field(description="paid on the commitment, this payment included")
    remaining_cents: int = Field(description="what the commitment has left after this payment")
    author: str
    reference: str | None = None
    pole_id: str | None = None
    region_codes: list[str] = Field(default_factory=list)
    paid_at: datetime


@event_type("funding.ledger.promise-recorded.v1", FUNDING_LEDGER)
class PromiseRecorded(EventData):
    """Another financer's promise (a region, a department, a city, the CDC), beside the State's."""

    entry_id: str
    financer: str = Field(description="cdc, region:<code>, department:<code>, city:<id>, ...")
    financer_kind: str
    item: str = Field(description="study, investment, or the contract party's financing")
    amount_cents: int = Field(ge=0)
    years: list[YearAmount] = Field(default_factory=list)
    pole_id: str
    partner_pole_ids: list[str] = Field(default_factory=list)
    region_codes: list[str]
    call_id: str | None = None
    dossier_id: str | None = None
    contract_id: str | None = None
    source_event_id: str
    source_event_type: str
    recorded_at: datetime
