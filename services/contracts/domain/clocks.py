"""What the passing of time raises: signature overdue, report overdue, milestone missed, and the
activation of a signed contract when its period begins.

Each overdue event is flagged in the contract (``signature_overdue_at``, ``reports_overdue``,
``milestones_missed``) by the same save that queues it, so it fires once even across restarts
and with several instances. ``next_clock_at`` tells the clock job when to look at a contract
again, so it reads only the contracts that have something due.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from services.contracts.domain.calendar import (
    milestone_overdue_from,
    report_due_at,
    report_overdue_from,
    signature_overdue_from,
    year_start,
)
from services.contracts.domain.contract import UNSIGNED, Contract, decided
from services.contracts.domain.signatures import activate_if_due
from services.contracts.domain.terms import Milestone
from shared.decision import Decision
from shared.events.base import EventData
from shared.events.contracts import MilestoneMissed, ReportOverdue, SignatureOverdue


def tick(contract: Contract, now: datetime) -> Decision[Contract]:
    """What is due at ``now``, flagged in the contract so that it is raised once (no event when
    nothing is due)."""
    events: list[EventData] = []
    if _signature_pending(contract) and now >= signature_overdue_from(contract.signature_deadline):
        contract.signature_overdue_at = now
        events.append(
            SignatureOverdue(
                **contract.facts(),
                signature_deadline=contract.signature_deadline,
                unsigned_party_ids=contract.unsigned_party_ids(),
                detected_at=now,
            )
        )
    events += activate_if_due(contract, now)
    for period in list(_reports_pending(contract)):
        if now >= report_overdue_from(period):
            contract.reports_overdue.append(period)
            events.append(
                ReportOverdue(
                    **contract.facts(), period=period, due_at=report_due_at(period), detected_at=now
                )
            )
    for programme, milestone in list(_milestones_pending(contract)):
        if now >= milestone_overdue_from(milestone.due_on):
            contract.milestones_missed.append(milestone.id)
            events.append(
                MilestoneMissed(
                    **contract.facts(),
                    programme_id=programme,
                    milestone_id=milestone.id,
                    title=milestone.title,
                    due_on=milestone.due_on,
                    detected_at=now,
                )
            )
    return decided(contract, *events)


def next_clock_at(contract: Contract) -> datetime | None:
    """The first instant at which ``tick`` would raise something, or None if nothing is pending."""
    instants = [report_overdue_from(p) for p in _reports_pending(contract)]
    instants += [milestone_overdue_from(m.due_on) for _, m in _milestones_pending(contract)]
    if _signature_pending(contract):
        instants.append(signature_overdue_from(contract.signature_deadline))
    if contract.status == "signed":
        instants.append(year_start(contract.period_start_year))
    return min(instants, default=None)


def signature_overdue(contract: Contract, now: datetime) -> bool:
    return contract.status in UNSIGNED and now >= signature_overdue_from(
        contract.signature_deadline
    )


def reports_overdue(contract: Contract, now: datetime) -> list[int]:
    """The periods whose report is late and still not filed (for dashboards and gauges)."""
    if contract.status != "active":
        return []
    return [
        p for p in contract.years() if contract.report(p) is None and now >= report_overdue_from(p)
    ]


def _signature_pending(contract: Contract) -> bool:
    return contract.status in UNSIGNED and contract.signature_overdue_at is None


def _reports_pending(contract: Contract) -> Iterator[int]:
    if contract.status != "active":
        return
    for period in contract.years():
        if contract.report(period) is None and period not in contract.reports_overdue:
            yield period


def _milestones_pending(contract: Contract) -> Iterator[tuple[str, Milestone]]:
    if contract.status != "active":
        return
    done = contract.done_milestones() | set(contract.milestones_missed)
    for programme in contract.terms.programmes:
        for milestone in programme.milestones:
            if milestone.id not in done:
                yield programme.id, milestone
