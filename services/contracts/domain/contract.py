"""The contract aggregate's data, and the facts every one of its events carries.

The commands that change a contract live beside it: ``signatures`` (draft to signed),
``execution`` (active to closed) and ``clocks`` (what the passing of time raises). Each changes
the contract and returns a ``Decision`` (``decided``): the contract, the events it produced and
the command's answer; the handler saves them in one guarded update.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.contracts.domain.terms import Programme, Roadmap, Terms
from shared.decision import Decision
from shared.errors import Conflict, Forbidden, NotFound
from shared.events.base import EventData
from shared.events.contracts import IndicatorValue, Party

Status = Literal[
    "drafted", "roadmap-annexed", "open-for-signature", "signed", "active", "evaluated", "closed"
]
STATUSES: tuple[Status, ...] = (
    "drafted",
    "roadmap-annexed",
    "open-for-signature",
    "signed",
    "active",
    "evaluated",
    "closed",
)
UNSIGNED: tuple[Status, ...] = ("drafted", "roadmap-annexed", "open-for-signature")
EDITABLE: tuple[Status, ...] = ("drafted", "roadmap-annexed")
Rating = Literal["très performant", "performant", "moins performant"]


class TermsVersion(BaseModel):
    """One version of the terms: 1 as signed, then one more per amendment (targets kept)."""

    version: int
    period_end_year: int
    terms: Terms
    effective_at: datetime
    reason: str


class Signature(BaseModel):
    party_id: str
    signatory_name: str
    signed_at: datetime
    recorded_by: str
    on_paper: bool = False


class Report(BaseModel):
    """The indicator values of one period (a year), as the pôle filed them."""

    period: int
    values: list[IndicatorValue]
    status: Literal["submitted", "validated", "sent-back"] = "submitted"
    reported_at: datetime
    decided_at: datetime | None = None
    reason: str | None = None


class MilestoneDone(BaseModel):
    milestone_id: str
    completed_at: datetime


class Evaluation(BaseModel):
    rating: Rating
    comments: str
    evaluated_at: datetime


class Contract(BaseModel):
    contract_id: str
    pole_id: str
    pole_name: str
    region_codes: list[str]
    status: Status = "drafted"
    period_start_year: int
    signature_deadline: datetime
    parties: list[Party]
    roadmap: Roadmap | None = None
    versions: list[TermsVersion]
    signatures: list[Signature] = Field(default_factory=list)
    reports: list[Report] = Field(default_factory=list)
    milestones_done: list[MilestoneDone] = Field(default_factory=list)
    evaluation: Evaluation | None = None
    closed_at: datetime | None = None
    # Set in the same save as the clock event they stand for: each fires once, across restarts.
    signature_overdue_at: datetime | None = None
    reports_overdue: list[int] = Field(default_factory=list)
    milestones_missed: list[str] = Field(default_factory=list)

    @staticmethod
    def id_for(pole_id: str, start_year: int) -> str:
        """One contract per pôle and period: a second draft for them finds this id taken."""
        return f"contract:{pole_id}:{start_year}"

    @property
    def current(self) -> TermsVersion:
        return self.versions[-1]

    @property
    def terms(self) -> Terms:
        return self.current.terms

    @property
    def period_end_year(self) -> int:
        return self.current.period_end_year

    def years(self) -> range:
        return range(self.period_start_year, self.period_end_year + 1)

    def version(self, number: int | None) -> TermsVersion:
        if number is None:
            return self.current
        for version in self.versions:
            if version.version == number:
                return version
        raise NotFound(f"{self.contract_id} has no version {number}")

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.party_id == party_id), None)

    def unsigned_party_ids(self) -> list[str]:
        signed = {s.party_id for s in self.signatures}
        return [p.party_id for p in self.parties if p.party_id not in signed]

    def report(self, period: int) -> Report | None:
        return next((r for r in self.reports if r.period == period), None)

    def done_milestones(self) -> set[str]:
        return {m.milestone_id for m in self.milestones_done}

    def programme_of(self, milestone_id: str) -> Programme | None:
        for programme in self.terms.programmes:
            if any(m.id == milestone_id for m in programme.milestones):
                return programme
        return None

    def facts(self) -> dict[str, Any]:
        """The fields of ``ContractFacts``: what every event about this contract carries."""
        return {
            "contract_id": self.contract_id,
            "version": self.current.version,
            "pole_id": self.pole_id,
            "pole_name": self.pole_name,
            "region_codes": self.region_codes,
            "parties": self.parties,
        }

    def require_status(self, *allowed: Status, doing: str) -> None:
        if self.status not in allowed:
            raise Conflict(f"cannot {doing}: the contract is {self.status}")

    def require_author(self, roles: frozenset[str]) -> None:
        """The pôle drafts and edits its own contract; the State may too."""
        if "state" not in roles and f"pole:{self.pole_id}" not in roles:
            raise Forbidden(f"only pole:{self.pole_id} or the State edit this contract")


def decided(contract: Contract, *events: EventData) -> Decision[Contract]:
    """The contract as changed, its events, and what the command answers: the contract's id,
    status and version and the types of the events it produced."""
    answer = {
        "contract_id": contract.contract_id,
        "status": contract.status,
        "version": contract.current.version,
        "events": [event.type_name for event in events],
    }
    return Decision.of(contract, events, answer)
