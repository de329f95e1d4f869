"""A preliminary dossier's lifecycle, from submission to the final decision.

    submitted ──replace──> submitted          (until the deadline)
    submitted ──withdraw─> withdrawn          (until the deadline)
    submitted ──screen───> eligible | ineligible                (after the deadline)
    eligible  ──votes────> preselected (State and CDC say yes) | not-preselected (either says no)
    preselected ──commission study──> study-commissioned ──complete──> study-completed
    eligible ──evaluate──> evaluated                             (an expert's score and opinion)
    <ready> ──decide──> selected | not-selected
    selected ──funding completed──> funded | ──funding refused──> funding-refused

Which stages a dossier goes through is its call type's (``call_types.json``): the platforms call
votes and may study, the FUI R&D calls evaluate, the labelling call goes from screening to the
decision; <ready> is the status the stage before the selection leaves. Every other move is a
Conflict (409, reason "lifecycle") that changes nothing. Each transition returns a
``Decision``: the new state and the events it produced, which the handler's repository saves
in one guarded update.

A selection announces no money: it proposes a financing plan (the State's grant, the CDC's
investment, the other financers' shares by year) and funding's co-financing answers. Only
``funded`` means that every financer committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from services.calls.domain.call import CallState, ensure_in_window
from services.calls.domain.call_types import CallType, Stage, call_type
from services.calls.domain.inputs import (
    DossierContent,
    Expertise,
    FinalDecision,
    Screening,
    StudyConclusions,
    StudyOrder,
    Vote,
)
from services.calls.domain.poles import PoleLabels, region_codes_of
from shared.clock import PARIS
from shared.decision import Decision
from shared.errors import Conflict, invalid
from shared.events.base import EventData
from shared.events.calls import (
    DossierEvaluated,
    DossierFoundEligible,
    DossierFoundIneligible,
    DossierFunded,
    DossierFundingRefused,
    DossierNotPreselected,
    DossierNotSelected,
    DossierPreselected,
    DossierReplaced,
    DossierSelected,
    DossierSubmitted,
    DossierWithdrawn,
    PreselectionVoted,
    StudyCommissioned,
    StudyCompleted,
    Voter,
)
from shared.events.funding import (
    FinancingCompleted,
    FinancingRefusal,
    FinancingRefused,
    PlanShare,
    YearAmount,
    total_cents,
)
from shared.reference.poles import Pole

Status = Literal[
    "submitted",
    "withdrawn",
    "eligible",
    "ineligible",
    "preselected",
    "not-preselected",
    "study-commissioned",
    "study-completed",
    "evaluated",
    "selected",
    "not-selected",
    "funded",
    "funding-refused",
]
STUDY_SHARE_PERCENT_MAX = 80


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScreeningRecord(Record):
    eligible: bool
    reasons: list[str]
    decided_by: Voter
    decided_at: datetime


class VoteRecord(Record):
    decision: Literal["yes", "no"]
    reasons: list[str]
    voted_at: datetime


class StudyRecord(Record):
    study_id: str
    cost_cents: int
    cdc_share_cents: int
    commissioned_at: datetime
    conclusions: StudyConclusions | None = None
    completed_at: datetime | None = None


class EvaluationRecord(Expertise):
    evaluated_by: str
    evaluated_at: datetime


class DecisionRecord(FinalDecision):
    decided_at: datetime


class FundingRecord(Record):
    """What funding's co-financing answered: funded, or refused with the reason."""

    outcome: Literal["funded", "refused"]
    at: datetime
    total_cents: int | None = None
    financer: str | None = None
    reason: FinancingRefusal | None = None
    detail: str | None = None


class DossierState(Record):
    dossier_id: str
    call_id: str
    call_kind: str
    call_opens_at: datetime
    call_deadline: datetime
    status: Status
    version: int
    content: DossierContent
    live_key: str
    pole_ids: list[str]
    region_codes: list[str]
    receipt_number: str
    submitted_by: str
    submitted_at: datetime
    updated_at: datetime
    requested_total_cents: int
    granted_total_cents: int = 0
    screening: ScreeningRecord | None = None
    votes: dict[Voter, VoteRecord] = {}
    study: StudyRecord | None = None
    evaluation: EvaluationRecord | None = None
    decision: DecisionRecord | None = None
    financing_plan: list[PlanShare] = []
    funding: FundingRecord | None = None
    history: list[dict[str, Any]] = []

    def facts(self) -> dict[str, Any]:
        """The DossierFacts every event of this dossier carries."""
        return {
            "dossier_id": self.dossier_id,
            "call_id": self.call_id,
            "call_kind": self.call_kind,
            "pole_id": self.content.lead_pole_id,
            "partner_pole_ids": list(self.content.partner_pole_ids),
            "region_codes": list(self.region_codes),
            "platform_name": self.content.platform_name,
            "contact_email": self.content.carrier.contact_email,
        }

    def version_facts(self) -> dict[str, Any]:
        requested = self.content.requested
        return {
            **self.facts(),
            "version": self.version,
            "carrier_siret": self.content.carrier.siret,
            "requested_investment_cents": requested.investment_cents,
            "requested_operation_cents": requested.operation_cents,
            "requested_studies_cents": requested.studies_cents,
            "requested_total_cents": requested.total_cents,
            "receipt_number": self.receipt_number,
        }

    def moved(self, now: datetime, **changes: Any) -> DossierState:
        return self.model_copy(update={**changes, "updated_at": now})

    @property
    def call_type(self) -> CallType:
        return call_type(self.call_kind)

    def ensure_stage(self, stage: Stage, action: str) -> None:
        self.call_type.ensure_stage(stage, action)

    def ensure_status(self, action: str, *allowed: str) -> None:
        if self.status not in allowed:
            raise Conflict(
                f"{action} refused: the dossier is {self.status}, not {' or '.join(allowed)}",
                "lifecycle",
            )


def labelled_poles(content: DossierContent, now: datetime, labels: PoleLabels) -> list[Pole]:
    """The lead pôle, then the partner pôles; 422 naming the first that is not labelled now
    (as ``labels``, calls' view of contracts' label decisions, says)."""
    on = now.astimezone(PARIS).date().isoformat()
    lead = labels.labelled_pole(content.lead_pole_id, now)
    if lead is None:
        raise invalid(("lead_pole_id",), f"{content.lead_pole_id} is not a labelled pôle on {on}")
    poles = [lead]
    for index, pole_id in enumerate(content.partner_pole_ids):
        partner = labels.labelled_pole(pole_id, now)
        if partner is None:
            raise invalid(("partner_pole_ids", index), f"{pole_id} is not a labelled pôle on {on}")
        poles.append(partner)
    return poles


def check_parts(kind: CallType, content: DossierContent, now: datetime, labels: PoleLabels) -> None:
    """The parts the call type requires, and what an R&D project's labels must be: each given by
    a labelled pôle, on or before the day of the submission; 422 naming the field otherwise."""
    for part in kind.requires:
        if not getattr(content, part):
            raise invalid((part,), f"a {kind.kind} dossier gives its {part}")
    requested = content.requested.total_cents
    if kind.money and requested == 0:
        raise invalid(("requested",), "the dossier requests nothing")
    if not kind.money and requested:
        raise invalid(("requested",), f"a {kind.kind} call grants no money: request none")
    today = now.astimezone(PARIS).date()
    for index, label in enumerate(content.labels):
        if label.labelled_on > today:
            raise invalid(
                ("labels", index, "labelled_on"), "a project is labelled before its submission"
            )
        if labels.labelled_pole(label.pole_id, now) is None:
            raise invalid(
                ("labels", index, "pole_id"), f"{label.pole_id} is not a labelled pôle on {today}"
            )


def checked_poles(
    kind: CallType, content: DossierContent, now: datetime, labels: PoleLabels
) -> list[Pole]:
    check_parts(kind, content, now, labels)
    return labelled_poles(content, now, labels)


def check_submission(
    call: CallState, content: DossierContent, now: datetime, labels: PoleLabels
) -> list[Pole]:
    """Everything a submission must satisfy, checked before a receipt number is taken."""
    ensure_in_window(call.opens_at, call.deadline, now, "submission")
    return checked_poles(call_type(call.kind), content, now, labels)


def submit(
    call: CallState,
    content: DossierContent,
    *,
    dossier_id: str,
    receipt_number: str,
    submitted_by: str,
    now: datetime,
    labels: PoleLabels,
) -> Decision[DossierState]:
    poles = check_submission(call, content, now, labels)
    state = DossierState(
        dossier_id=dossier_id,
        call_id=call.call_id,
        call_kind=call.kind,
        call_opens_at=call.opens_at,
        call_deadline=call.deadline,
        status="submitted",
        version=1,
        content=content,
        live_key=content.live_key(call.call_id),
        pole_ids=[pole.id for pole in poles],
        region_codes=region_codes_of(poles),
        receipt_number=receipt_number,
        submitted_by=submitted_by,
        submitted_at=now,
        updated_at=now,
        requested_total_cents=content.requested.total_cents,
    )
    return Decision.of(state, [DossierSubmitted(**state.version_facts(), submitted_at=now)])


def replace(
    dossier: DossierState, content: DossierContent, now: datetime, labels: PoleLabels
) -> Decision[DossierState]:
    ensure_in_window(dossier.call_opens_at, dossier.call_deadline, now, "replacement")
    dossier.ensure_status("replacement", "submitted")
    if content.lead_pole_id != dossier.content.lead_pole_id:
        raise invalid(("lead_pole_id",), "a replacement keeps the lead pôle")
    if content.live_key(dossier.call_id) != dossier.live_key:
        raise invalid(
            ("carrier", "siret"),
            "a replacement keeps the carrier and the platform name; withdraw and submit anew",
        )
    poles = checked_poles(dossier.call_type, content, now, labels)
    state = dossier.moved(
        now,
        content=content,
        version=dossier.version + 1,
        pole_ids=[pole.id for pole in poles],
        region_codes=region_codes_of(poles),
        requested_total_cents=content.requested.total_cents,
    )
    return Decision.of(state, [DossierReplaced(**state.version_facts(), replaced_at=now)])


def withdraw(dossier: DossierState, now: datetime) -> Decision[DossierState]:
    ensure_in_window(dossier.call_opens_at, dossier.call_deadline, now, "withdrawal")
    dossier.ensure_status("withdrawal", "submitted")
    # A withdrawn dossier gives its live key up, so the carrier may file the platform again.
    state = dossier.moved(now, status="withdrawn", live_key=f"withdrawn|{dossier.dossier_id}")
    return Decision.of(state, [DossierWithdrawn(**state.facts(), withdrawn_at=now)])


def screen(
    dossier: DossierState, screening: Screening, by: Voter, now: datetime
) -> Decision[DossierState]:
    if now < dossier.call_deadline:
        raise Conflict("screening waits for the deadline: the dossier may change", "window-open")
    dossier.ensure_stage("screening", "screening")
    dossier.ensure_status("screening", "submitted")
    record = ScreeningRecord(**screening.model_dump(), decided_by=by, decided_at=now)
    if screening.eligible:
        state = dossier.moved(now, status="eligible", screening=record)
        event: EventData = DossierFoundEligible(**state.facts(), decided_at=now, decided_by=by)
    else:
        state = dossier.moved(now, status="ineligible", screening=record)
        event = DossierFoundIneligible(
            **state.facts(), decided_at=now, decided_by=by, reasons=list(screening.reasons)
        )
    return Decision.of(state, [event])


def vote(
    dossier: DossierState, voter: Voter, ballot: Vote, now: datetime
) -> Decision[DossierState]:
    """Pre-selection is joint: both yes pre-select, either no refuses; votes come in any order."""
    dossier.ensure_stage("preselection", "pre-selection vote")
    dossier.ensure_status("pre-selection vote", "eligible")
    if voter in dossier.votes:
        raise Conflict(f"the {voter} has already voted on this dossier", "lifecycle")
    votes = {**dossier.votes, voter: VoteRecord(**ballot.model_dump(), voted_at=now)}
    facts = dossier.facts()
    events: list[EventData] = [
        PreselectionVoted(**facts, voter=voter, **ballot.model_dump(), voted_at=now)
    ]
    status: Status = "eligible"
    if ballot.decision == "no":
        status = "not-preselected"
        events.append(
            DossierNotPreselected(
                **facts, decided_at=now, refused_by=voter, reasons=list(ballot.reasons)
            )
        )
    elif all(v in votes and votes[v].decision == "yes" for v in ("state", "cdc")):
        status = "preselected"
        events.append(DossierPreselected(**facts, decided_at=now))
    return Decision.of(dossier.moved(now, status=status, votes=votes), events)


def commission_study(
    dossier: DossierState, order: StudyOrder, now: datetime
) -> Decision[DossierState]:
    dossier.ensure_stage("study", "study commission")
    dossier.ensure_status("study commission", "preselected")
    if order.cdc_share_cents * 100 > order.cost_cents * STUDY_SHARE_PERCENT_MAX:
        raise invalid(
            ("cdc_share_cents",), f"the CDC pays at most {STUDY_SHARE_PERCENT_MAX}% of the cost"
        )
    study = StudyRecord(
        study_id=f"study-{dossier.dossier_id}", **order.model_dump(), commissioned_at=now
    )
    state = dossier.moved(now, status="study-commissioned", study=study)
    event = StudyCommissioned(
        **state.facts(), **order.model_dump(), study_id=study.study_id, commissioned_at=now
    )
    return Decision.of(state, [event])


def complete_study(
    dossier: DossierState, conclusions: StudyConclusions, now: datetime
) -> Decision[DossierState]:
    dossier.ensure_stage("study", "study completion")
    dossier.ensure_status("study completion", "study-commissioned")
    assert dossier.study is not None  # a commissioned dossier always holds its study
    study = dossier.study.model_copy(update={"conclusions": conclusions, "completed_at": now})
    state = dossier.moved(now, status="study-completed", study=study)
    event = StudyCompleted(
        **state.facts(), **conclusions.model_dump(), study_id=study.study_id, completed_at=now
    )
    return Decision.of(state, [event])


def evaluate(
    dossier: DossierState, expertise: Expertise, by: str, now: datetime
) -> Decision[DossierState]:
    """An expert's evaluation of an eligible R&D project; the final decision comes after it."""
    dossier.ensure_stage("evaluation", "evaluation")
    dossier.ensure_status("evaluation", "eligible")
    record = EvaluationRecord(**expertise.model_dump(), evaluated_by=by, evaluated_at=now)
    state = dossier.moved(now, status="evaluated", evaluation=record)
    event = DossierEvaluated(**state.facts(), **expertise.model_dump(), evaluated_at=now)
    return Decision.of(state, [event])


def decide(dossier: DossierState, decision: FinalDecision, now: datetime) -> Decision[DossierState]:
    kind = dossier.call_type
    kind.ensure_stage("selection", "final decision")
    dossier.ensure_status("final decision", *kind.ready_for_selection())
    record = DecisionRecord(**decision.model_dump(), decided_at=now)
    if not decision.selected:
        state = dossier.moved(now, status="not-selected", decision=record)
        refusal = DossierNotSelected(
            **state.facts(), decided_at=now, reasons=list(decision.reasons)
        )
        return Decision.of(state, [refusal])
    year = now.astimezone(PARIS).year
    plan = financing_plan(kind, decision, year, dossier.requested_total_cents)
    granted = decision.state_grant_cents + decision.cdc_investment_cents
    state = dossier.moved(
        now, status="selected", decision=record, granted_total_cents=granted, financing_plan=plan
    )
    event = DossierSelected(
        **state.facts(),
        decided_at=now,
        decision_year=year,
        state_grant_cents=decision.state_grant_cents,
        cdc_investment_cents=decision.cdc_investment_cents,
        requested_total_cents=dossier.requested_total_cents,
        financing_plan=plan,
        project_key=dossier.content.project_key(),
        consortium=[member.member() for member in dossier.content.consortium],
    )
    return Decision.of(state, [event])


def financing_plan(
    kind: CallType, decision: FinalDecision, year: int, requested_cents: int
) -> list[PlanShare]:
    """The selection's plan, checked (422 naming the field): the State's share is the grant,
    the CDC's the investment proposed; neither the plan's total nor its public money (all but
    private) exceeds what the dossier asked for. Without a plan: the grant and the investment
    in the decision's year."""
    if not kind.money:
        if decision.state_grant_cents or decision.cdc_investment_cents or decision.financing_plan:
            raise invalid(("selected",), f"a {kind.kind} selection grants no money")
        return []
    if decision.state_grant_cents + decision.cdc_investment_cents == 0:
        raise invalid(
            ("state_grant_cents",), "a selected dossier gets a State grant or a CDC investment"
        )
    plan = decision.financing_plan
    if plan is None:
        plan = [
            PlanShare(financer=financer, years=[YearAmount(year=year, amount_cents=cents)])
            for financer, cents in (
                ("state", decision.state_grant_cents),
                ("cdc", decision.cdc_investment_cents),
            )
            if cents
        ]
    shares = {share.financer: total_cents(share.years) for share in plan}
    if len(shares) != len(plan):
        raise invalid(("financing_plan",), "a financer has one share of the plan")
    for index, share in enumerate(plan):
        if len({item.year for item in share.years}) != len(share.years):
            raise invalid(("financing_plan", index, "years"), "a year is named once")
    for financer, field in (("state", "state_grant_cents"), ("cdc", "cdc_investment_cents")):
        asked = getattr(decision, field)
        if shares.get(financer, 0) != asked:
            raise invalid(
                ("financing_plan",), f"the plan's {financer} share must equal {field} ({asked})"
            )
    public = sum(cents for financer, cents in shares.items() if financer != "private")
    if public > requested_cents:
        raise invalid(
            ("financing_plan",),
            f"over-request: the public money ({public} cents) exceeds what the dossier asked for "
            f"({requested_cents} cents)",
        )
    planned = sum(shares.values())
    if planned > requested_cents:
        raise invalid(
            ("financing_plan",),
            f"over-request: the plan ({planned} cents) exceeds what the dossier asked for "
            f"({requested_cents} cents)",
        )
    return list(plan)


def funded(
    dossier: DossierState, completed: FinancingCompleted, now: datetime
) -> Decision[DossierState] | None:
    """Every financer committed: the dossier is funded. None (nothing to save) unless it is
    selected: a completion for a dossier whose funding was refused, or funded, changes nothing."""
    if dossier.status != "selected":
        return None
    at = completed.completed_at
    record = FundingRecord(outcome="funded", at=at, total_cents=completed.total_cents)
    state = dossier.moved(now, status="funded", funding=record)
    event = DossierFunded(
        **state.facts(),
        financing_plan=list(completed.plan),
        total_cents=completed.total_cents,
        funded_at=at,
    )
    return Decision.of(state, [event])


def funding_refused(
    dossier: DossierState, refused: FinancingRefused, now: datetime
) -> Decision[DossierState] | None:
    """Funding cannot finance the plan: the dossier says so, with the reason. None (nothing to
    save) unless it is selected: once funded, every financer had committed and funding gives
    money back only through de-commitments, so a late refusal cannot undo the funding."""
    if dossier.status != "selected":
        return None
    at = refused.refused_at
    record = FundingRecord(
        outcome="refused",
        at=at,
        financer=refused.financer,
        reason=refused.reason,
        detail=refused.detail,
    )
    # Nothing is granted: the statistics count no money that funding refused.
    state = dossier.moved(now, status="funding-refused", funding=record, granted_total_cents=0)
    event = DossierFundingRefused(
        **state.facts(),
        financer=refused.financer,
        reason=refused.reason,
        detail=refused.detail,
        refused_at=at,
    )
    return Decision.of(state, [event])
