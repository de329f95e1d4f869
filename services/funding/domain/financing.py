"""The co-financing of a selected dossier: one ``FinancingState`` per dossier (id = dossier id).

The plan names every financer's share by year. At opening the State's share is already decided
on its line (the handler commits it first, with the plan's years); private money is the
carrier's own, committed at once; every other financer (the CDC, a region, a department, a city,
FEDER) is asked and answers by command before ``due_at``. The financing is completed when every
share is committed, refused when the plan asks more than the dossier requested, when the line
refuses the State's share, or when a financer declines. A financer that has not answered by
``due_at`` is flagged once (a clock event); the financing stays open.

Pure functions: each returns a ``Decision`` or raises a refusal of the kernel.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.funding.domain import ids
from shared.decision import Answer, Decision
from shared.errors import Conflict, NotFound, invalid
from shared.events.calls import DossierSelected
from shared.events.funding import (
    ConsortiumMember,
    FinancerCommitted,
    FinancerOverdue,
    FinancingCompleted,
    FinancingFacts,
    FinancingOpened,
    FinancingRefusal,
    FinancingRefused,
    OverlapFlagged,
    PlanShare,
    YearAmount,
    total_cents,
)

Status = Literal["open", "completed", "refused"]
ASKED_AT_ONCE = frozenset({"state", "private"})
"""Shares nobody is asked for: the State's (decided on its line) and the carrier's own."""


class Share(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    financer: str
    years: list[YearAmount]
    status: Literal["asked", "committed", "declined"] = "asked"
    commitment_id: str | None = Field(
        default=None, description="the line's commitment (State) or the ledger entry"
    )
    answered_at: datetime | None = None
    overdue_at: datetime | None = Field(default=None, description="when it was flagged overdue")

    @property
    def amount_cents(self) -> int:
        return total_cents(self.years)


class Overlap(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    identifier: str
    other_ids: list[str]
    flagged_at: datetime


class Refusal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    financer: str
    reason: FinancingRefusal
    detail: str
    refused_at: datetime


class FinancingState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    dossier_id: str
    call_id: str
    call_kind: str
    pole_id: str
    partner_pole_ids: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(default_factory=list)
    platform_name: str
    contact_email: str | None = None
    decision_year: int
    requested_total_cents: int
    project_key: str | None = None
    members: list[ConsortiumMember] = Field(default_factory=list)
    source_event_id: str
    status: Status
    opened_at: datetime
    due_at: datetime
    shares: list[Share]
    financers: list[str] = Field(description="the plan's financers (for queries)")
    overlaps: list[Overlap] = Field(default_factory=list)
    refusal: Refusal | None = None
    completed_at: datetime | None = None

    @property
    def plan(self) -> list[PlanShare]:
        return [PlanShare(financer=s.financer, years=s.years) for s in self.shares]

    @property
    def total_cents(self) -> int:
        return sum(share.amount_cents for share in self.shares)

    def facts(self) -> dict[str, Any]:
        """What every event of this financing carries (``FinancingFacts``)."""
        return {name: getattr(self, name) for name in FinancingFacts.model_fields}

    def share(self, financer: str) -> Share:
        for share in self.shares:
            if share.financer == financer:
                return share
        raise NotFound(f"{financer} has no share in the financing of dossier {self.dossier_id}")

    def overdue(self, now: datetime) -> list[Share]:
        """The shares still unanswered at ``now``, past the due date."""
        if self.status != "open" or now < self.due_at:
            return []
        return [share for share in self.shares if share.status == "asked"]


FinancingDecision = Decision[FinancingState]


def plan_of(selected: DossierSelected) -> list[PlanShare]:
    """The dossier's plan, one share per financer (amounts of a repeated financer or year
    summed); without a plan, the State's grant and the CDC's investment in the decision year."""
    shares = selected.financing_plan or [
        PlanShare(
            financer=financer, years=[YearAmount(year=selected.decision_year, amount_cents=a)]
        )
        for financer, a in (
            ("state", selected.state_grant_cents),
            ("cdc", selected.cdc_investment_cents),
        )
        if a > 0
    ]
    merged: dict[str, dict[int, int]] = {}
    for share in shares:
        years = merged.setdefault(share.financer, defaultdict(int))
        for item in share.years:
            years[item.year] += item.amount_cents
    return [
        PlanShare(
            financer=financer,
            years=[YearAmount(year=y, amount_cents=a) for y, a in sorted(years.items())],
        )
        for financer, years in merged.items()
    ]


def state_share(plan: list[PlanShare]) -> PlanShare | None:
    return next((share for share in plan if share.financer == "state"), None)


def over_request(plan: list[PlanShare], requested_cents: int) -> bool:
    return sum(total_cents(share.years) for share in plan) > requested_cents


def open_financing(
    selected: DossierSelected,
    plan: list[PlanShare],
    *,
    line_answer: Answer | None,
    overlaps: dict[str, list[str]],
    source_event_id: str,
    now: datetime,
    financer_days: float,
) -> FinancingDecision:
    """The financing of a selected dossier as it opens. ``line_answer`` is the State's line's
    answer to the State's share (None when the plan has none, or asks too much to try)."""
    shares = [_opening_share(share, selected.dossier_id, line_answer, now) for share in plan]
    state = FinancingState(
        **{name: getattr(selected, name) for name in FinancingFacts.model_fields},
        decision_year=selected.decision_year,
        requested_total_cents=selected.requested_total_cents,
        project_key=selected.project_key,
        members=selected.consortium,
        source_event_id=source_event_id,
        status="open",
        opened_at=now,
        due_at=now + timedelta(days=financer_days),
        shares=shares,
        financers=[share.financer for share in shares],
    )
    if over_request(plan, selected.requested_total_cents):
        detail = (
            f"the plan's total of {state.total_cents} cents exceeds the "
            f"{selected.requested_total_cents} cents the dossier requested"
        )
        return refused(state, "state", "over-request", detail, now)
    if line_answer is not None and line_answer.get("outcome") == "refused":
        detail = (
            f"line {line_answer['line_id']} refused the State's share "
            f"({line_answer['reason']}): {line_answer['asked_cents']} cents asked, "
            f"{line_answer['available_cents']} available"
        )
        return refused(state, "state", line_answer["reason"], detail, now)
    facts = state.facts()
    opened = FinancingOpened(**facts, plan=plan, due_at=state.due_at, opened_at=now)
    committed = [_committed(state, share) for share in shares if share.status == "committed"]
    flagged = [
        Overlap(identifier=identifier, other_ids=others, flagged_at=now)
        for identifier, others in sorted(overlaps.items())
        if others and state.project_key is not None
    ]
    overlap_events = [
        OverlapFlagged(
            **facts,
            identifier=item.identifier,
            project_key=state.project_key or "",
            other_commitment_ids=item.other_ids,
            flagged_at=now,
        )
        for item in flagged
    ]
    state = state.model_copy(update={"overlaps": flagged})
    answer = {"dossier_id": state.dossier_id, "status": "open"}
    return _completed_if_done(
        Decision.of(state, [opened, *committed, *overlap_events], answer), now
    )


def commit_share(
    financing: FinancingState, financer: str, years: list[YearAmount] | None, now: datetime
) -> FinancingDecision:
    """A financer commits its share (``years``, if given, must be the plan's share)."""
    share = _answerable(financing, financer, "commit")
    if years is not None and _by_year(years) != _by_year(share.years):
        raise invalid(
            ["years"],
            f"{financer}'s share in the plan is {_by_year(share.years)} (year -> cents); "
            f"a commitment takes the share as planned",
        )
    entry_id = ids.financing_ledger_entry(financer, financing.dossier_id)
    done = share.model_copy(
        update={"status": "committed", "commitment_id": entry_id, "answered_at": now}
    )
    state = _with_share(financing, done)
    answer = {"dossier_id": state.dossier_id, "financer": financer, "entry_id": entry_id}
    decision = Decision.of(state, [_committed(state, done)], answer)
    return _completed_if_done(decision, now)


def decline_share(
    financing: FinancingState, financer: str, reason: str, now: datetime
) -> FinancingDecision:
    """A financer declines its share: the financing is refused (what was committed for it is
    given back by the handler's follow-up)."""
    share = _answerable(financing, financer, "decline", committed_too=True)
    status = "committed" if share.status == "committed" else "declined"  # its entry is cancelled
    state = _with_share(financing, share.model_copy(update={"status": status, "answered_at": now}))
    detail = f"{financer} declined its share: {reason}"
    return refused(state, financer, "financer-declined", detail, now)


def flag_overdue(financing: FinancingState, now: datetime) -> FinancingDecision | None:
    """Flag, once each, the financers that have not answered by the due date; None if none."""
    late = [share for share in financing.overdue(now) if share.overdue_at is None]
    if not late:
        return None
    state = financing
    for share in late:
        state = _with_share(state, share.model_copy(update={"overdue_at": now}))
    events = [
        FinancerOverdue(
            **financing.facts(), financer=share.financer, due_at=financing.due_at, detected_at=now
        )
        for share in late
    ]
    return Decision.of(state, events, {"overdue": [share.financer for share in late]})


def refused(
    financing: FinancingState,
    financer: str,
    reason: FinancingRefusal,
    detail: str,
    now: datetime,
) -> FinancingDecision:
    refusal = Refusal(financer=financer, reason=reason, detail=detail, refused_at=now)
    state = financing.model_copy(update={"status": "refused", "refusal": refusal})
    event = FinancingRefused(
        **state.facts(), financer=financer, reason=reason, detail=detail, refused_at=now
    )
    answer = {"dossier_id": state.dossier_id, "status": "refused", "reason": reason}
    return Decision.of(state, [event], answer)


def _opening_share(
    share: PlanShare, dossier_id: str, line_answer: Answer | None, now: datetime
) -> Share:
    if share.financer == "state" and line_answer is not None:
        if line_answer.get("outcome") != "committed":
            return Share(financer="state", years=share.years)
        return Share(
            financer="state",
            years=share.years,
            status="committed",
            commitment_id=line_answer["commitment_id"],
            answered_at=now,
        )
    if share.financer == "private":
        entry_id = ids.financing_ledger_entry("private", dossier_id)
        return Share(
            financer="private",
            years=share.years,
            status="committed",
            commitment_id=entry_id,
            answered_at=now,
        )
    return Share(financer=share.financer, years=share.years)


def _answerable(
    financing: FinancingState, financer: str, what: str, committed_too: bool = False
) -> Share:
    if financer in ASKED_AT_ONCE:
        raise Conflict(f"the {financer} share is not asked of anyone", "not-asked")
    share = financing.share(financer)
    if financing.status != "open":
        raise Conflict(
            f"the financing of dossier {financing.dossier_id} is {financing.status}; "
            f"{financer} cannot {what} any more",
            "financing-closed",
        )
    if share.status == "committed" and not committed_too:
        raise Conflict(f"{financer} has committed its share already", "already-answered")
    return share


def _committed(state: FinancingState, share: Share) -> FinancerCommitted:
    return FinancerCommitted(
        **state.facts(),
        financer=share.financer,
        years=share.years,
        commitment_id=share.commitment_id or "",
        committed_at=share.answered_at or state.opened_at,
    )


def _completed_if_done(decision: FinancingDecision, now: datetime) -> FinancingDecision:
    state = decision.state
    if state.status != "open" or any(s.status != "committed" for s in state.shares):
        return decision
    state = state.model_copy(update={"status": "completed", "completed_at": now})
    completed = FinancingCompleted(
        **state.facts(), plan=state.plan, total_cents=state.total_cents, completed_at=now
    )
    answer = {**decision.answer, "status": "completed"}
    return Decision.of(state, [*decision.events, completed], answer)


def _with_share(financing: FinancingState, share: Share) -> FinancingState:
    shares = [share if s.financer == share.financer else s for s in financing.shares]
    return financing.model_copy(update={"shares": shares})


def _by_year(years: list[YearAmount]) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for item in years:
        totals[item.year] += item.amount_cents
    return dict(totals)
