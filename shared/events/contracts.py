"""Events the contracts service publishes (topics ``contracts.contract``, ``contracts.pole``).

Cross-service contract fixed here first (funding consumes it): ``ContractSigned`` carries every
party and each party's financial commitment per year.

Every other contract event carries ``ContractFacts``: the contract, its terms' version, the pôle,
its regions and the parties with their contact e-mail, so that notify can route and filter without
calling back. Pôle events (``contracts.pole``) record the label decisions (CIADT of 11 May 2010).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData, event_type
from shared.topics import CONTRACTS_CONTRACT, CONTRACTS_POLE

PartyKind = Literal["pole", "state", "region", "department", "city", "feder", "cdc"]


class Party(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    party_id: str = Field(description="pole:<id>, state, region:<code>, department:<code>, ...")
    kind: PartyKind
    name: str
    region_code: str | None = None
    contact_email: str | None = None


class YearlyCommitment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    party_id: str
    year: int
    amount_cents: int = Field(ge=0)


@event_type("contracts.contract.signed.v1", CONTRACTS_CONTRACT)
class ContractSigned(EventData):
    """The last party has signed; the contract's terms are binding."""

    contract_id: str
    version: int = Field(description="the contract's version (1, then one more per amendment)")
    pole_id: str
    pole_name: str
    region_codes: list[str]
    period_start_year: int
    period_end_year: int
    signed_at: datetime
    parties: list[Party]
    financing: list[YearlyCommitment] = Field(
        description="each party's financial commitment per year; the State's are animation credits"
    )


class ContractFacts(EventData):
    """What every contract event (but ``ContractSigned``, fixed earlier) carries."""

    contract_id: str
    version: int = Field(description="the version of the terms (1, then one more per amendment)")
    pole_id: str
    pole_name: str
    region_codes: list[str]
    parties: list[Party]


class IndicatorValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    indicator_id: str
    value: float


@event_type("contracts.contract.drafted.v1", CONTRACTS_CONTRACT)
class ContractDrafted(ContractFacts):
    period_start_year: int
    period_end_year: int
    signature_deadline: datetime
    drafted_at: datetime


@event_type("contracts.contract.terms-edited.v1", CONTRACTS_CONTRACT)
class ContractTermsEdited(ContractFacts):
    """The draft's parties, objectives, programmes or financing changed before signature."""

    edited_at: datetime


@event_type("contracts.contract.roadmap-annexed.v1", CONTRACTS_CONTRACT)
class RoadmapAnnexed(ContractFacts):
    technology_ambition: str
    market_ambition: str
    horizon_years: int
    ecosystem_plan: str
    annexed_at: datetime


@event_type("contracts.contract.opened-for-signature.v1", CONTRACTS_CONTRACT)
class OpenedForSignature(ContractFacts):
    """The signature request: every party (with its contact e-mail) is asked to sign."""

    signature_deadline: datetime
    period_start_year: int
    period_end_year: int
    financing: list[YearlyCommitment]
    opened_at: datetime


@event_type("contracts.contract.party-signed.v1", CONTRACTS_CONTRACT)
class PartySigned(ContractFacts):
    party_id: str
    signatory_name: str
    signed_at: datetime
    recorded_by: str = Field(description="the role that recorded the signature")
    on_paper: bool = Field(
        default=False, description="a department's or city's paper signature recorded by the State"
    )
    unsigned_party_ids: list[str]


@event_type("contracts.contract.activated.v1", CONTRACTS_CONTRACT)
class ContractActivated(ContractFacts):
    activated_at: datetime


@event_type("contracts.contract.indicator-reported.v1", CONTRACTS_CONTRACT)
class IndicatorReported(ContractFacts):
    period: int = Field(description="the year the values describe")
    values: list[IndicatorValue]
    reported_at: datetime


@event_type("contracts.contract.report-validated.v1", CONTRACTS_CONTRACT)
class ReportValidated(ContractFacts):
    period: int
    values: list[IndicatorValue]
    validated_at: datetime


@event_type("contracts.contract.report-sent-back.v1", CONTRACTS_CONTRACT)
class ReportSentBack(ContractFacts):
    period: int
    reason: str
    sent_back_at: datetime


@event_type("contracts.contract.milestone-completed.v1", CONTRACTS_CONTRACT)
class MilestoneCompleted(ContractFacts):
    programme_id: str
    milestone_id: str
    completed_at: datetime


@event_type("contracts.contract.amended.v1", CONTRACTS_CONTRACT)
class ContractAmended(ContractFacts):
    """A new version of the terms; the previous versions' targets are kept."""

    reason: str
    period_start_year: int
    period_end_year: int
    financing: list[YearlyCommitment]
    amended_at: datetime


@event_type("contracts.contract.evaluated.v1", CONTRACTS_CONTRACT)
class ContractEvaluated(ContractFacts):
    rating: Literal["très performant", "performant", "moins performant"]
    comments: str
    evaluated_at: datetime


@event_type("contracts.contract.closed.v1", CONTRACTS_CONTRACT)
class ContractClosed(ContractFacts):
    closed_at: datetime


@event_type("contracts.contract.signature-overdue.v1", CONTRACTS_CONTRACT)
class SignatureOverdue(ContractFacts):
    signature_deadline: datetime
    unsigned_party_ids: list[str]
    detected_at: datetime


@event_type("contracts.contract.report-overdue.v1", CONTRACTS_CONTRACT)
class ReportOverdue(ContractFacts):
    period: int
    due_at: datetime
    detected_at: datetime


@event_type("contracts.contract.milestone-missed.v1", CONTRACTS_CONTRACT)
class MilestoneMissed(ContractFacts):
    programme_id: str
    milestone_id: str
    title: str
    due_on: date
    detected_at: datetime


class PoleLabelDecision(EventData):
    """A label decision (for example the CIADT of 11 May 2010) about one pôle."""

    pole_id: str
    pole_name: str
    region_codes: list[str]
    decided_on: date
    effective_at: datetime
    reference: str


@event_type("contracts.pole.labelled.v1", CONTRACTS_POLE)
class PoleLabelled(PoleLabelDecision):
    """A new pôle (an ecotech pôle in 2010) is labelled; it may receive a contract from now on."""


@event_type("contracts.pole.renewed.v1", CONTRACTS_POLE)
class PoleRenewed(PoleLabelDecision):
    """A group-3 pôle of 2008 keeps its label and may now receive a contract."""


@event_type("contracts.pole.delabelled.v1", CONTRACTS_POLE)
class PoleDelabelled(PoleLabelDecision):
    """The pôle loses its label; it may receive no new contract."""


@event_type("contracts.pole.label-lapsed.v1", CONTRACTS_POLE)
class PoleLabelLapsed(PoleLabelDecision):
    """A clock event: a group-3 pôle's label lapses at the end of 2009 unless it was renewed."""


CONTRACT_EVENTS: tuple[type[EventData], ...] = (
    ContractDrafted,
    ContractTermsEdited,
    RoadmapAnnexed,
    OpenedForSignature,
    PartySigned,
    ContractSigned,
    ContractActivated,
    IndicatorReported,
    ReportValidated,
    ReportSentBack,
    MilestoneCompleted,
    ContractAmended,
    ContractEvaluated,
    ContractClosed,
    SignatureOverdue,
    ReportOverdue,
    MilestoneMissed,
)
POLE_EVENTS: tuple[type[EventData], ...] = (
    PoleLabelled,
    PoleRenewed,
    PoleDelabelled,
    PoleLabelLapsed,
)
