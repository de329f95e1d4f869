"""Request bodies of the State's commands on money."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.funding.domain.envelope import Amendment
from shared.events.funding import Beneficiary, ConsortiumMember, YearAmount, total_cents

Reason = Field(min_length=1, max_length=1000, description="why; kept with the change")
MAX_CENTS = 10**15
Cents = Field(gt=0, le=MAX_CENTS, description="integer euro cents")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommitBody(Body):
    beneficiary: Beneficiary
    years: list[YearAmount] = Field(min_length=1, max_length=20)
    pole_id: str | None = Field(default=None, description="the pôle concerned, if any")
    partner_pole_ids: list[str] = Field(default_factory=list, max_length=100)
    region_codes: list[str] | None = Field(
        default=None, description="defaults to the pôle's regions"
    )
    call_id: str | None = None
    dossier_id: str | None = None
    contract_id: str | None = None
    project_key: str | None = Field(
        default=None, max_length=200, description="the project's name or acronym (overlaps)"
    )
    members: list[ConsortiumMember] = Field(default_factory=list, max_length=200)
    reason: str = Reason

    @field_validator("years")
    @classmethod
    def each_year_once(cls, years: list[YearAmount]) -> list[YearAmount]:
        return each_year_once(years)


def each_year_once(years: list[YearAmount]) -> list[YearAmount]:
    if len({item.year for item in years}) != len(years):
        raise ValueError("each year appears once")
    if any(item.amount_cents > MAX_CENTS for item in years):
        # Bounded like every amount of a command, so totals stay in the 64-bit integers
        # the store and the wire hold.
        raise ValueError(f"a year's amount is at most {MAX_CENTS} cents")
    return years


class AgencyCommitBody(CommitBody):
    """An agency's commitment (ANR, OSEO): always to a project."""

    @field_validator("beneficiary")
    @classmethod
    def a_project(cls, beneficiary: Beneficiary) -> Beneficiary:
        if beneficiary.kind != "project":
            raise ValueError("an agency commits to a project (kind 'project')")
        return beneficiary


class PaymentBody(Body):
    year: int = Field(ge=2000, le=2100, description="the budget year of the payment")
    amount_cents: int = Cents
    reference: str | None = Field(default=None, max_length=200)


class DecommitBody(Body):
    year: int = Field(ge=2000, le=2100, description="the committed year given back")
    amount_cents: int = Cents
    reason: str = Reason


class TransferBody(Body):
    from_line_id: str = Field(min_length=1, max_length=100)
    to_line_id: str = Field(min_length=1, max_length=100)
    amount_cents: int = Cents
    reason: str = Reason
    years: list[YearAmount] = Field(
        default_factory=list,
        max_length=20,
        description="the yearly ceilings moved with the amount (adding up to it); required "
        "when either line has yearly ceilings",
    )

    @field_validator("years")
    @classmethod
    def each_year_once(cls, years: list[YearAmount]) -> list[YearAmount]:
        return each_year_once(years)

    @model_validator(mode="after")
    def years_add_up(self) -> TransferBody:
        if self.years and total_cents(self.years) != self.amount_cents:
            raise ValueError("the years' amounts add up to the amount")
        return self


AmendmentBody = Amendment
"""An envelope amendment: ``amendment_id``, ``decided_on``, ``reference``, ``years`` (the
envelope's years after it), ``lines`` (only those that change: ``line_id``, ``amount_cents``,
``yearly_ceilings``)."""
