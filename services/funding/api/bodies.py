"""Request bodies of the State's commands on money."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events.funding import Beneficiary, YearAmount

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
    reason: str = Reason

    @field_validator("years")
    @classmethod
    def each_year_once(cls, years: list[YearAmount]) -> list[YearAmount]:
        if len({item.year for item in years}) != len(years):
            raise ValueError("each year appears once")
        if any(item.amount_cents > MAX_CENTS for item in years):
            # Bounded like every amount of a command, so totals stay in the 64-bit integers
            # the store and the wire hold.
            raise ValueError(f"a year's amount is at most {MAX_CENTS} cents")
        return years


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
