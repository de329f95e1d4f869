"""Events the funding service publishes (topics ``funding.line``, ``funding.commitment``,
``funding.ledger``).

Every change to money is one of these events, so that the balance of any line at any past instant
can be rebuilt from them: a line's amount comes from ``line.loaded`` and ``line.transferred``, its
committed total from ``commitment.made`` and ``commitment.decommitted``, its paid total from
``payment.recorded``. Events about a pôle's money carry ``pole_id`` and ``region_codes``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData, event_type
from shared.topics import FUNDING_COMMITMENT, FUNDING_FINANCING, FUNDING_LEDGER, FUNDING_LINE

FINANCER = r"^(state|cdc|feder|private|region:\d{2}|department:[0-9AB]{2,3}|city:[a-z0-9-]{1,64})$"
"""Who finances: the State (on the envelope's lines), the CDC, a region, a department, a city,
FEDER (the European regional fund, managed by the State in the region), or private money."""


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


class PlanShare(BaseModel):
    """One financer's share of a financing plan, by budget year."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    financer: str = Field(pattern=FINANCER)
    years: list[YearAmount] = Field(min_length=1)


class ConsortiumMember(BaseModel):
    """A company or a laboratory of a project: a SIRET (14 digits) or another identifier (a
    laboratory's RNSR number, say); funding flags one funded twice for the same project."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    identifier: str = Field(min_length=1, max_length=40)
    kind: Literal["company", "sme", "laboratory", "other"]
    name: str = Field(min_length=1, max_length=300)


class CommitmentSource(BaseModel):
    """Why a commitment was asked: an event of another service, a manual decision (the State's),
    or an agency's own system (ANR, OSEO) through its commands."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["event", "manual", "agency"]
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
    project_key: str | None = Field(
        default=None, description="the project's normalised name or acronym (overlap checks)"
    )
    members: list[ConsortiumMember] = Field(default_factory=list)


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
    years: list[YearAmount] = Field(
        default_factory=list, description="the yearly ceilings moved with the amount, if any"
    )


class LineAmendment(BaseModel):
    """A line as an envelope amendment leaves it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    line_id: str
    amount_cents: int = Field(ge=0)
    yearly_ceilings: list[YearAmount] = Field(default_factory=list)


@event_type("funding.line.envelope-amended.v1", FUNDING_LINE)
class EnvelopeAmended(EventData):
    """A dated decision changes the envelope: its years (the 2012 extension) and its lines."""

    envelope_id: str
    amendment_id: str
    decided_on: date
    reference: str = Field(description="the decision, e.g. the CIADT of 11 May 2010")
    years: list[int] = Field(description="the envelope's years after the amendment")
    amount_cents: int = Field(description="the envelope's total after the amendment")
    lines: list[LineAmendment]
    amended_at: datetime


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
    reason: Literal["over-line", "over-yearly-ceiling", "year-outside-envelope", "over-request"]
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


@event_type("funding.ledger.committed.v1", FUNDING_LEDGER)
class LedgerCommitted(EventData):
    """Another financer's commitment (AE) by year, in that financer's ledger: a region's, a
    department's, a city's, the CDC's, FEDER's or private money, beside the State's lines."""

    entry_id: str
    financer: str = Field(pattern=FINANCER)
    item: str = Field(description="study, investment, contract, dossier, ...")
    years: list[YearAmount] = Field(min_length=1)
    amount_cents: int = Field(gt=0)
    pole_id: str | None = None
    region_codes: list[str] = Field(default_factory=list)
    call_id: str | None = None
    dossier_id: str | None = None
    contract_id: str | None = None
    source_event_id: str | None = None
    source_event_type: str | None = None
    author: str | None = None
    committed_at: datetime


@event_type("funding.ledger.paid.v1", FUNDING_LEDGER)
class LedgerPaid(EventData):
    """A payment (CP) by another financer on one of its ledger commitments."""

    payment_id: str
    entry_id: str
    financer: str = Field(pattern=FINANCER)
    year: int
    amount_cents: int = Field(gt=0)
    paid_total_cents: int
    remaining_cents: int
    author: str
    pole_id: str | None = None
    region_codes: list[str] = Field(default_factory=list)
    paid_at: datetime


class FinancingFacts(EventData):
    """What every event of a dossier's co-financing carries."""

    dossier_id: str
    call_id: str
    call_kind: str
    pole_id: str
    partner_pole_ids: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(default_factory=list)
    platform_name: str
    contact_email: str | None = None


@event_type("funding.financing.opened.v1", FUNDING_FINANCING)
class FinancingOpened(FinancingFacts):
    """A selected dossier's plan: each financer is asked to commit its share by ``due_at``."""

    plan: list[PlanShare]
    due_at: datetime
    opened_at: datetime


@event_type("funding.financing.financer-committed.v1", FUNDING_FINANCING)
class FinancerCommitted(FinancingFacts):
    financer: str = Field(pattern=FINANCER)
    years: list[YearAmount]
    commitment_id: str = Field(description="the line's commitment (State) or the ledger entry")
    committed_at: datetime


@event_type("funding.financing.completed.v1", FUNDING_FINANCING)
class FinancingCompleted(FinancingFacts):
    """Every financer of the plan has committed: the dossier is funded."""

    plan: list[PlanShare]
    total_cents: int
    completed_at: datetime


FinancingRefusal = Literal[
    "over-line",
    "over-yearly-ceiling",
    "year-outside-envelope",
    "over-request",
    "financer-declined",
    "financer-timeout",
]


@event_type("funding.financing.refused.v1", FUNDING_FINANCING)
class FinancingRefused(FinancingFacts):
    """The plan cannot be financed; what was already committed for it is given back."""

    financer: str
    reason: FinancingRefusal
    detail: str
    refused_at: datetime


@event_type("funding.financing.financer-overdue.v1", FUNDING_FINANCING)
class FinancerOverdue(FinancingFacts):
    """A clock event: a financer has not answered by the plan's due date (operators alerted)."""

    financer: str
    due_at: datetime
    detected_at: datetime


@event_type("funding.financing.overlap-flagged.v1", FUNDING_FINANCING)
class OverlapFlagged(FinancingFacts):
    """A company or laboratory is funded twice for the same project across calls or financers."""

    identifier: str
    project_key: str
    other_commitment_ids: list[str]
    flagged_at: datetime


@event_type("funding.ledger.promise-recorded.v1", FUNDING_LEDGER)
class PromiseRecorded(EventData):
    """Superseded by ``LedgerCommitted`` (kept so that older records still read): another
    financer's promise, beside the State's."""

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
