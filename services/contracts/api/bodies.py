"""Request bodies. Field-level checks happen here (422 from FastAPI); the rules tying fields
together are the domain's (422 from ``Invalid``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Header
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.contracts.domain.contract import Rating
from services.contracts.domain.pole import LabelDecision
from services.contracts.domain.terms import Amount, Identifier, Name, PartyInput, Terms, Text
from shared.events.contracts import IndicatorValue

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="repeat a command safely: the same key gets the same answer",
    ),
]
Year = Annotated[int, Field(ge=2005, le=2020)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftBody(Body):
    pole_id: str = Field(max_length=80, examples=["aerospace-valley"])
    period_start_year: Year = 2009
    period_end_year: Year = 2011
    signature_deadline: AwareDatetime | None = Field(
        default=None, description="default: 30 June of the first year, 23:59:59 Europe/Paris"
    )
    parties: list[PartyInput] = Field(max_length=30)
    terms: Terms = Field(default_factory=Terms)


class TermsBody(Body):
    parties: list[PartyInput] = Field(max_length=30)
    terms: Terms


class SignatureBody(Body):
    party_id: str = Field(max_length=80, examples=["region:73"])
    signatory_name: Name = Field(description="the person who signs (or signed on paper)")


class ReportValue(Body):
    indicator_id: Identifier
    value: Amount

    def wire(self) -> IndicatorValue:
        return IndicatorValue(indicator_id=self.indicator_id, value=self.value)


class ReportBody(Body):
    period: Year = Field(description="the year the values describe")
    values: list[ReportValue] = Field(min_length=1, max_length=200)


class SendBackBody(Body):
    reason: Text


class AmendmentBody(Body):
    reason: Text = Field(examples=["extension of phase 2 to 2012 (CIADT of 11 May 2010)"])
    period_end_year: Year
    terms: Terms


class EvaluationBody(Body):
    rating: Rating
    comments: Text


class LabelDecisionBody(Body):
    decision: LabelDecision
    decided_on: date = Field(examples=["2010-05-11"])
    reference: Name = Field(examples=["CIADT of 11 May 2010"])
