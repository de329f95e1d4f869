"""Events the calls service publishes (topics ``calls.call``, ``calls.dossier``,
``calls.command-result``).

Cross-service contracts fixed here first (funding consumes them): ``DossierSelected`` and
``StudyCommissioned``. Every dossier event carries what a subscriber needs without calling back:
the call, the lead pôle, the partner pôles, the regions, the amounts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.events.base import EventData, event_type
from shared.events.funding import ConsortiumMember, PlanShare
from shared.topics import CALLS_CALL, CALLS_COMMAND_RESULT, CALLS_DOSSIER

Voter = Literal["state", "cdc"]


@event_type("calls.call.opened.v1", CALLS_CALL)
class CallOpened(EventData):
    """A call for projects is published; dossiers are accepted from ``opens_at`` (inclusive)
    until ``deadline`` (exclusive)."""

    call_id: str
    kind: str
    title: str
    funders: list[str]
    opens_at: datetime
    deadline: datetime
    budget_line_id: str | None = None
    opened_at: datetime


@event_type("calls.call.closed.v1", CALLS_CALL)
class CallClosed(EventData):
    """The call's deadline has passed: no dossier is submitted, replaced or withdrawn any more."""

    call_id: str
    kind: str
    deadline: datetime
    closed_at: datetime
    dossiers_live: int = Field(ge=0, description="dossiers submitted and not withdrawn")


class DossierFacts(EventData):
    """What every dossier event carries."""

    dossier_id: str
    call_id: str
    call_kind: str = Field(description="innovation-platforms, fui-rd, ecotech, ...")
    pole_id: str = Field(description="the lead pôle")
    partner_pole_ids: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(description="INSEE codes of the pôles' regions")
    platform_name: str
    contact_email: str | None = None


class DossierVersionFacts(DossierFacts):
    """A version of the dossier's content as filed: its carrier and what it asks for."""

    version: int = Field(ge=1)
    carrier_siret: str
    requested_investment_cents: int = Field(ge=0)
    requested_operation_cents: int = Field(ge=0)
    requested_studies_cents: int = Field(ge=0)
    requested_total_cents: int = Field(ge=0)


@event_type("calls.dossier.submitted.v1", CALLS_DOSSIER)
class DossierSubmitted(DossierVersionFacts):
    """The receipt: a number and the server's timestamp."""

    receipt_number: str
    submitted_at: datetime


@event_type("calls.dossier.replaced.v1", CALLS_DOSSIER)
class DossierReplaced(DossierVersionFacts):
    """A new version replaces the previous one before the deadline; the receipt number stays."""

    receipt_number: str
    replaced_at: datetime


@event_type("calls.dossier.withdrawn.v1", CALLS_DOSSIER)
class DossierWithdrawn(DossierFacts):
    withdrawn_at: datetime


@event_type("calls.dossier.found-eligible.v1", CALLS_DOSSIER)
class DossierFoundEligible(DossierFacts):
    decided_at: datetime
    decided_by: Voter


@event_type("calls.dossier.found-ineligible.v1", CALLS_DOSSIER)
class DossierFoundIneligible(DossierFacts):
    decided_at: datetime
    decided_by: Voter
    reasons: list[str]


@event_type("calls.dossier.preselection-vote.v1", CALLS_DOSSIER)
class PreselectionVoted(DossierFacts):
    """One of the two joint deciders has voted; the outcome follows once it is known."""

    voter: Voter
    decision: Literal["yes", "no"]
    reasons: list[str] = Field(default_factory=list)
    voted_at: datetime


@event_type("calls.dossier.preselected.v1", CALLS_DOSSIER)
class DossierPreselected(DossierFacts):
    """Both the State and the CDC said yes."""

    decided_at: datetime


@event_type("calls.dossier.not-preselected.v1", CALLS_DOSSIER)
class DossierNotPreselected(DossierFacts):
    """The State or the CDC said no."""

    decided_at: datetime
    refused_by: Voter
    reasons: list[str]


@event_type("calls.study.commissioned.v1", CALLS_DOSSIER)
class StudyCommissioned(DossierFacts):
    """The CDC commissions an engineering study; it pays ``cdc_share_cents`` (at most 80%)."""

    study_id: str
    cost_cents: int = Field(ge=0)
    cdc_share_cents: int = Field(ge=0)
    commissioned_at: datetime


@event_type("calls.study.completed.v1", CALLS_DOSSIER)
class StudyCompleted(DossierFacts):
    """The study's conclusions: business model, legal structure, business plan."""

    study_id: str
    completed_at: datetime
    business_model: str
    legal_structure: str
    business_plan: str


@event_type("calls.dossier.evaluated.v1", CALLS_DOSSIER)
class DossierEvaluated(DossierFacts):
    """An expert evaluated an R&D project (the FUI calls): a score out of 20 and an opinion;
    the final decision comes after it."""

    score: float = Field(ge=0, le=20)
    opinion: str
    evaluated_at: datetime


@event_type("calls.dossier.selected.v1", CALLS_DOSSIER)
class DossierSelected(DossierFacts):
    """Final decision: selected, with the State's grant and any CDC investment."""

    decided_at: datetime
    decision_year: int = Field(description="the budget year of the decision (Europe/Paris)")
    state_grant_cents: int = Field(ge=0)
    cdc_investment_cents: int = Field(default=0, ge=0)
    requested_total_cents: int = Field(ge=0)
    financing_plan: list[PlanShare] = Field(
        default_factory=list,
        description="every financer's share by year (the State's is state_grant_cents); "
        "funding asks each to commit",
    )
    project_key: str | None = None
    consortium: list[ConsortiumMember] = Field(default_factory=list)


@event_type("calls.dossier.funded.v1", CALLS_DOSSIER)
class DossierFunded(DossierFacts):
    """Every financer of the selected dossier's plan has committed: the grant is real."""

    financing_plan: list[PlanShare]
    total_cents: int
    funded_at: datetime


@event_type("calls.dossier.funding-refused.v1", CALLS_DOSSIER)
class DossierFundingRefused(DossierFacts):
    """Funding could not finance the selected dossier's plan; no grant is announced."""

    financer: str
    reason: str
    detail: str
    refused_at: datetime


@event_type("calls.dossier.not-selected.v1", CALLS_DOSSIER)
class DossierNotSelected(DossierFacts):
    decided_at: datetime
    reasons: list[str]


@event_type("calls.command.accepted.v1", CALLS_COMMAND_RESULT)
class CommandAccepted(EventData):
    """The answer to a command read on ``calls.command``: what HTTP would have answered."""

    command_id: str
    command_type: str
    status_code: int
    answer: dict[str, Any]


@event_type("calls.command.rejected.v1", CALLS_COMMAND_RESULT)
class CommandRejected(EventData):
    """A command changed nothing; ``reason`` is a short code, ``detail`` what HTTP would say."""

    command_id: str
    command_type: str | None = None
    status_code: int
    reason: str
    detail: Any = None
