"""What the State, the CDC and the pôles send: the bodies of the commands, validated at the edge
(422 names the field and the reason)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from services.calls.domain.call_types import call_types
from services.calls.domain.siret import siret_valid
from shared.events.funding import ConsortiumMember, PlanShare, YearAmount, total_cents

Cents = Annotated[int, Field(ge=0, le=10**13, description="euro cents")]
Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=5000)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Siret = Annotated[str, Field(pattern=r"^\d{14}$", description="14 digits, checked by its key")]
PoleId = Annotated[str, Field(pattern=r"^[a-z0-9-]{1,64}$")]
Reasons = Annotated[list[LongText], Field(max_length=20)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReferenceDocument(Input):
    kind: Literal["call-text", "specifications", "dossier-form", "convention", "press-release"]
    title: Text
    url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=500)]


class CallSpec(Input):
    """A call for projects as the State and the CDC publish it."""

    call_id: str = Field(
        pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$",
        description="the call's code, e.g. PF-2008; receipts are numbered <call_id>-0001",
    )
    kind: str = Field(
        pattern=r"^[a-z0-9-]{2,40}$",
        description="a call type of call_types.json: innovation-platforms, fui-rd, ...",
    )
    title: Annotated[str, Field(min_length=1, max_length=300)]
    funders: Annotated[list[Literal["state", "cdc", "region", "feder"]], Field(min_length=1)]
    opens_at: AwareDatetime = Field(description="first instant a dossier is accepted")
    deadline: AwareDatetime = Field(description="first instant a dossier is late")
    documents: Annotated[list[ReferenceDocument], Field(max_length=20)] = []
    budget_line_id: Text | None = None
    eligibility_rules: Reasons = []

    @field_validator("kind")
    @classmethod
    def known_kind(cls, kind: str) -> str:
        known = call_types()
        if kind not in known:
            raise ValueError(f"no call type {kind}; the call types are {', '.join(sorted(known))}")
        return kind

    @model_validator(mode="after")
    def deadline_after_opening(self) -> CallSpec:
        if self.deadline <= self.opens_at:
            raise ValueError("the deadline must come after the opening")
        return self


class Carrier(Input):
    """The organisation that carries the platform."""

    name: Text
    siret: Siret
    contact_email: Email

    @field_validator("siret")
    @classmethod
    def checked_siret(cls, siret: str) -> str:
        if not siret_valid(siret):
            raise ValueError("the SIRET's check key is wrong")
        return siret


class Partner(Input):
    name: Text
    kind: Literal["company", "sme", "research", "education", "local-authority", "other"]


class Offer(Input):
    """The equipment and services offered to an open community of users, notably SMEs."""

    equipment: Annotated[list[Text], Field(min_length=1, max_length=50)]
    services: Annotated[list[Text], Field(min_length=1, max_length=50)]
    user_community: LongText
    open_to_smes: bool


class Requested(Input):
    investment_cents: Cents
    operation_cents: Cents
    studies_cents: Cents

    @property
    def total_cents(self) -> int:
        return self.investment_cents + self.operation_cents + self.studies_cents


class Financing(Input):
    """One financer's line of the plan the dossier proposes; ``years`` spreads it by budget year."""

    financer: Literal["state", "cdc", "region", "department", "city", "feder", "private"]
    amount_cents: Cents
    region_code: Annotated[str, Field(pattern=r"^\d{2}$")] | None = None
    department_code: Annotated[str, Field(pattern=r"^[0-9AB]{2,3}$")] | None = None
    city_id: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,64}$")] | None = None
    years: Annotated[list[YearAmount], Field(max_length=10)] | None = None

    @model_validator(mode="after")
    def consistent(self) -> Financing:
        if self.financer == "department" and self.department_code is None:
            raise ValueError("a department's line gives its department_code")
        if self.financer == "city" and self.city_id is None:
            raise ValueError("a city's line gives its city_id")
        if self.years is not None:
            if total_cents(self.years) != self.amount_cents:
                raise ValueError("the years' amounts add up to amount_cents")
            if len({item.year for item in self.years}) != len(self.years):
                raise ValueError("a year is named once")
        return self


class Member(ConsortiumMember):
    """A company or a laboratory of an R&D project's consortium: a company's (or an SME's)
    identifier is its SIRET, checked by its key; a laboratory's any identifier (RNSR, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def company_siret(self) -> Member:
        if self.kind in ("company", "sme") and not siret_valid(self.identifier):
            raise ValueError("a company's identifier is its SIRET; this one's check key is wrong")
        return self

    def member(self) -> ConsortiumMember:
        return ConsortiumMember.model_validate(self.model_dump())


class Label(Input):
    """A pôle that labelled the R&D project, and when."""

    pole_id: PoleId
    labelled_on: Annotated[date, PlainSerializer(date.isoformat, return_type=str)] = Field(
        description="kept as an ISO date (the store encodes no bare date)"
    )


class DossierContent(Input):
    """One version of a dossier; the call type says which optional parts it must give
    (``offer`` for a platform, ``consortium`` and ``labels`` for an R&D project)."""

    platform_name: Text = Field(description="the platform's or the project's name")
    lead_pole_id: PoleId
    partner_pole_ids: Annotated[list[PoleId], Field(max_length=20)] = []
    carrier: Carrier
    partners: Annotated[list[Partner], Field(max_length=100)] = []
    offer: Offer | None = None
    consortium: Annotated[list[Member], Field(max_length=100)] = []
    labels: Annotated[list[Label], Field(max_length=20)] = []
    requested: Requested
    financing: Annotated[list[Financing], Field(max_length=20)] = []

    @model_validator(mode="after")
    def consistent(self) -> DossierContent:
        if self.lead_pole_id in self.partner_pole_ids:
            raise ValueError("the lead pôle is not also a partner pôle")
        if len(set(self.partner_pole_ids)) != len(self.partner_pole_ids):
            raise ValueError("a partner pôle is named twice")
        identifiers = [member.identifier for member in self.consortium]
        if len(set(identifiers)) != len(identifiers):
            raise ValueError("a consortium member is named twice")
        labellers = [label.pole_id for label in self.labels]
        if len(set(labellers)) != len(labellers):
            raise ValueError("a pôle labels the project once")
        planned = sum(line.amount_cents for line in self.financing)
        if planned != self.requested.total_cents:
            raise ValueError(
                f"the financing plan ({planned} cents) must cover the amounts requested "
                f"({self.requested.total_cents} cents) exactly"
            )
        return self

    def project_key(self) -> str:
        """The project's name casefolded, its runs of spaces made one (funding's overlap key)."""
        return " ".join(self.platform_name.casefold().split())

    def live_key(self, call_id: str) -> str:
        """At most one live dossier per call, carrier and platform name."""
        return f"{call_id}|{self.carrier.siret}|{self.project_key()}"


class Screening(Input):
    eligible: bool
    reasons: Reasons = []

    @model_validator(mode="after")
    def reasons_for_refusal(self) -> Screening:
        if not self.eligible and not self.reasons:
            raise ValueError("an ineligible dossier is told why: give reasons")
        return self


class Vote(Input):
    decision: Literal["yes", "no"]
    reasons: Reasons = []

    @model_validator(mode="after")
    def reasons_for_no(self) -> Vote:
        if self.decision == "no" and not self.reasons:
            raise ValueError("a 'no' is told why: give reasons")
        return self


class StudyOrder(Input):
    cost_cents: Annotated[int, Field(gt=0, le=10**13)]
    cdc_share_cents: Cents


class StudyConclusions(Input):
    business_model: LongText
    legal_structure: LongText
    business_plan: LongText


class Expertise(Input):
    """An expert's evaluation of an R&D project: a score out of 20 and an opinion."""

    score: Annotated[float, Field(ge=0, le=20)]
    opinion: LongText


class FinalDecision(Input):
    """Selected, with the State's grant and the CDC investment it proposes (the CDC commits or
    declines it in funding's co-financing), or not selected, with reasons.

    ``financing_plan`` gives every financer's share by year; when absent, the plan is the State's
    grant and the CDC's investment in the decision's year. Whether a selection carries money is
    the call type's (checked by the domain)."""

    selected: bool
    state_grant_cents: Cents = 0
    cdc_investment_cents: Cents = 0
    financing_plan: Annotated[list[PlanShare], Field(max_length=30)] | None = None
    reasons: Reasons = []

    @model_validator(mode="after")
    def amounts_fit_decision(self) -> FinalDecision:
        money = self.state_grant_cents or self.cdc_investment_cents or self.financing_plan
        if not self.selected and money:
            raise ValueError("a dossier not selected gets no money")
        if not self.selected and not self.reasons:
            raise ValueError("a dossier not selected is told why: give reasons")
        return self
