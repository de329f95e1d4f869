"""The active contract: indicator reports, milestones, amendments, evaluation, closing."""

from __future__ import annotations

from datetime import datetime

from services.contracts.domain.calendar import year_start
from services.contracts.domain.contract import (
    Contract,
    Evaluation,
    MilestoneDone,
    Rating,
    Report,
    TermsVersion,
    decided,
)
from services.contracts.domain.terms import Terms, check_terms
from shared.decision import Decision
from shared.errors import Conflict, Forbidden, Invalid, NotFound, Problem, invalid
from shared.events.contracts import (
    ContractAmended,
    ContractClosed,
    ContractEvaluated,
    IndicatorReported,
    IndicatorValue,
    MilestoneCompleted,
    ReportSentBack,
    ReportValidated,
)

LONGEST_EXTENSION_YEARS = 3
"""Phase 2 ran 2009-2011 and was extended to 2012: a contract may run at most 4 years."""


def report_indicators(
    contract: Contract,
    period: int,
    values: list[IndicatorValue],
    roles: frozenset[str],
    now: datetime,
) -> Decision[Contract]:
    if f"pole:{contract.pole_id}" not in roles:
        raise Forbidden(f"only pole:{contract.pole_id} reports this contract's indicators")
    contract.require_status("active", doing="report indicators")
    if period not in contract.years():
        raise invalid(
            ("period",),
            f"outside the period {contract.period_start_year}-{contract.period_end_year}",
        )
    if now < year_start(period):
        raise invalid(("period",), f"{period} has not begun")
    known = contract.terms.indicator_ids()
    problems, seen = [], set()
    for i, value in enumerate(values):
        if value.indicator_id not in known:
            problems.append(Problem(("values", i, "indicator_id"), "no such indicator"))
        elif value.indicator_id in seen:
            problems.append(Problem(("values", i, "indicator_id"), "given twice"))
        seen.add(value.indicator_id)
    if problems:
        raise Invalid(problems)
    previous = contract.report(period)
    if previous is not None and previous.status != "sent-back":
        raise Conflict(f"the report for {period} is already {previous.status}")
    contract.reports = [r for r in contract.reports if r.period != period]
    contract.reports.append(Report(period=period, values=values, reported_at=now))
    return decided(
        contract,
        IndicatorReported(**contract.facts(), period=period, values=values, reported_at=now),
    )


def _submitted(contract: Contract, period: int) -> Report:
    report = contract.report(period)
    if report is None:
        raise NotFound(f"no report for {period}")
    if report.status == "validated":
        raise Conflict(f"the report for {period} is already validated (a report is validated once)")
    if report.status == "sent-back":
        raise Conflict(f"the report for {period} was sent back; a new one is awaited")
    return report


def _correspondent(contract: Contract, roles: frozenset[str]) -> None:
    """Only the pôle's State correspondent decides on its reports (not any ``state`` token)."""
    if f"correspondent:{contract.pole_id}" not in roles:
        raise Forbidden(f"only correspondent:{contract.pole_id} decides on this pôle's reports")


def validate_report(
    contract: Contract, period: int, roles: frozenset[str], now: datetime
) -> Decision[Contract]:
    _correspondent(contract, roles)
    report = _submitted(contract, period)
    report.status, report.decided_at = "validated", now
    return decided(
        contract,
        ReportValidated(**contract.facts(), period=period, values=report.values, validated_at=now),
    )


def send_back_report(
    contract: Contract, period: int, reason: str, roles: frozenset[str], now: datetime
) -> Decision[Contract]:
    _correspondent(contract, roles)
    report = _submitted(contract, period)
    report.status, report.decided_at, report.reason = "sent-back", now, reason
    return decided(
        contract, ReportSentBack(**contract.facts(), period=period, reason=reason, sent_back_at=now)
    )


def complete_milestone(
    contract: Contract, milestone_id: str, roles: frozenset[str], now: datetime
) -> Decision[Contract]:
    contract.require_author(roles)
    contract.require_status("active", doing="mark a milestone done")
    programme = contract.programme_of(milestone_id)
    if programme is None:
        raise NotFound(f"no milestone {milestone_id} in the current terms")
    if milestone_id in contract.done_milestones():
        raise Conflict(f"milestone {milestone_id} is already done")
    contract.milestones_done.append(MilestoneDone(milestone_id=milestone_id, completed_at=now))
    return decided(
        contract,
        MilestoneCompleted(
            **contract.facts(),
            programme_id=programme.id,
            milestone_id=milestone_id,
            completed_at=now,
        ),
    )


def amend(
    contract: Contract, terms: Terms, period_end_year: int, reason: str, now: datetime
) -> Decision[Contract]:
    """A new version of the terms; earlier versions stay readable (progress against either)."""
    contract.require_status("active", doing="amend")
    latest = contract.period_start_year + LONGEST_EXTENSION_YEARS
    if not contract.period_end_year <= period_end_year <= latest:
        raise invalid(("period_end_year",), f"between {contract.period_end_year} and {latest}")
    check_terms(terms, contract.parties, contract.period_start_year, period_end_year)
    contract.versions.append(
        TermsVersion(
            version=contract.current.version + 1,
            period_end_year=period_end_year,
            terms=terms,
            effective_at=now,
            reason=reason,
        )
    )
    return decided(
        contract,
        ContractAmended(
            **contract.facts(),
            reason=reason,
            period_start_year=contract.period_start_year,
            period_end_year=period_end_year,
            financing=terms.financing,
            amended_at=now,
        ),
    )


def evaluate(
    contract: Contract, rating: Rating, comments: str, now: datetime
) -> Decision[Contract]:
    contract.require_status("active", doing="evaluate (a contract is evaluated once, when active)")
    contract.evaluation = Evaluation(rating=rating, comments=comments, evaluated_at=now)
    contract.status = "evaluated"
    return decided(
        contract,
        ContractEvaluated(**contract.facts(), rating=rating, comments=comments, evaluated_at=now),
    )


def close(contract: Contract, now: datetime) -> Decision[Contract]:
    contract.require_status("evaluated", doing="close (evaluate it first)")
    contract.status = "closed"
    contract.closed_at = now
    return decided(contract, ContractClosed(**contract.facts(), closed_at=now))
