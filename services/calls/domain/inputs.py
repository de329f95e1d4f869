"""What the State, the CDC and the pôles send: the bodies of the commands, validated at the edge
(422 names the field and the reason)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.calls.domain.siret import siret_valid

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
    kind: str = Field(pattern=r"^[a-z0-9-]{2,40}$", description="innovation-platforms, fui-rd, ...")
    title: Annotated[str, Field(min_length=1, max_length=300)]
    funders: Annotated[list[Literal["state", "cdc", "region", "feder"]], Field(min_length=1)]
    opens_at: AwareDatetime = Field(description="first instant a dossier is accepted")
    deadline: AwareDatetime = Field(description="first instant a dossier is late")
    documents: Annotated[list[ReferenceDocument], Field(max_length=20)] = []
    budget_line_id: Text | None = None
    eligibility_rules: Reasons = []

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
    financer: Literal["state", "cdc", "region", "feder", "private"]
    amount_cents: Cents
    region_code: Annotated[str, Field(pattern=r"^\d{2}$")] | None = None


class DossierContent(Input):
    """One version of a preliminary dossier."""

    platform_name: Text
    lead_pole_id: PoleId
    partner_pole_ids: Annotated[list[PoleId], Field(max_length=20)] = []
    carrier: Carrier
    partners: Annotated[list[Partner], Field(max_length=100)] = []
    offer: Offer
    requested: Requested
    financing: Annotated[list[Financing], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def consistent(self) -> DossierContent:
        if self.lead_pole_id in self.partner_pole_ids:
            raise ValueError("the lead pôle is not also a partner pôle")
        if len(set(self.partner_pole_ids)) != len(self.partner_pole_ids):
            raise ValueError("a partner pôle is named twice")
        if self.requested.total_cents == 0:
            raise ValueError("the dossier requests nothing")
        planned = sum(line.amount_cents for line in self.financing)
        if planned != self.requested.total_cents:
            raise ValueError(
                f"the financing plan ({planned} cents) must cover the amounts requested "
                f"({self.requested.total_cents} cents) exactly"
            )
        return self

    def live_key(self, call_id: str) -> str:
        """At most one live dossier per call, carrier and platform name."""
        name = " ".join(self.platform_name.casefold().split())
        return f"{call_id}|{self.carrier.siret}|{name}"


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


class FinalDecision(Input):
    """Selected, with the State's grant and any CDC investment, or not selected, with reasons."""

    selected: bool
    state_grant_cents: Cents = 0
    cdc_investment_cents: Cents = 0
    reasons: Reasons = []

    @model_validator(mode="after")
    def amounts_fit_decision(self) -> FinalDecision:
        if self.selected and self.state_grant_cents + self.cdc_investment_cents == 0:
            raise ValueError("a selected dossier gets a State grant or a CDC investment")
        if not self.selected and (self.state_grant_cents or self.cdc_investment_cents):
            raise ValueError("a dossier not selected gets no money")
        if not self.selected and not self.reasons:
            raise ValueError("a dossier not selected is told why: give reasons")
        return self
