"""Events the contracts service publishes (topics ``contracts.contract``, ``contracts.pole``).

Cross-service contract fixed here first (funding consumes it): ``ContractSigned`` carries every
party and each party's financial commitment per year.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData, event_type
from shared.topics import CONTRACTS_CONTRACT

PartyKind = Literal["pole", "state", "region", "department", "city"]


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
