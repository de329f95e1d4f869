"""What the passing of time raises, once each: signature overdue, report overdue, milestone
missed; and when the clock job must look again (``next_clock_at``)."""

from __future__ import annotations

from datetime import timedelta

from services.contracts.domain import execution, signatures
from services.contracts.domain.clocks import next_clock_at, reports_overdue, tick
from services.contracts.tests.builders import (
    OWN_POLE,
    STATE,
    active_contract,
    drafted,
    kinds,
    open_contract,
    paris,
)
from shared.events.contracts import IndicatorValue, ReportOverdue, SignatureOverdue


def test_signature_overdue_fires_once_at_1_july_2009_paris() -> None:
    contract = open_contract()
    signatures.sign(contract, "state", "X", STATE, paris(2009, 6, 1))
    assert next_clock_at(contract) == paris(2009, 7, 1)
    assert kinds(tick(contract, paris(2009, 6, 30, 23, 59, 59))) == []
    decision = tick(contract, paris(2009, 7, 1))
    assert kinds(decision) == ["signature-overdue"]
    overdue = decision.events[0]
    assert isinstance(overdue, SignatureOverdue)
    assert "state" not in overdue.unsigned_party_ids
    assert len(overdue.unsigned_party_ids) == 4
    assert all(p.contact_email for p in overdue.parties)
    assert kinds(tick(contract, paris(2009, 7, 2))) == []
    assert next_clock_at(contract) is None


def test_an_unopened_draft_is_overdue_too() -> None:
    contract = drafted()
    assert kinds(tick(contract, paris(2009, 8, 1))) == ["signature-overdue"]


def test_no_signature_overdue_once_signed() -> None:
    contract = active_contract()
    assert "signature-overdue" not in kinds(tick(contract, paris(2009, 7, 2)))


def test_report_overdue_once_per_unfiled_report() -> None:
    contract = active_contract()
    execution.complete_milestone(contract, "M1", OWN_POLE, paris(2009, 10, 1))
    execution.complete_milestone(contract, "M2", OWN_POLE, paris(2009, 10, 1))
    assert next_clock_at(contract) == paris(2010, 2, 1)
    assert kinds(tick(contract, paris(2010, 1, 31, 23, 59, 59))) == []
    decision = tick(contract, paris(2010, 2, 1))
    assert kinds(decision) == ["report-overdue"]
    assert isinstance(decision.events[0], ReportOverdue)
    assert decision.events[0].period == 2009
    assert decision.events[0].due_at == paris(2010, 1, 31, 23, 59, 59)
    assert kinds(tick(contract, paris(2010, 2, 2))) == []
    assert reports_overdue(contract, paris(2010, 2, 2)) == [2009]
    assert next_clock_at(contract) == paris(2011, 2, 1)
    execution.report_indicators(
        contract, 2010, [IndicatorValue(indicator_id="I1", value=1)], OWN_POLE, paris(2011, 1, 10)
    )
    assert next_clock_at(contract) == paris(2012, 2, 1)
    decision = tick(contract, paris(2012, 3, 1))
    assert [e.period for e in decision.events] == [2011]  # type: ignore[attr-defined]


def test_a_filed_report_is_not_overdue() -> None:
    contract = active_contract()
    execution.report_indicators(
        contract, 2009, [IndicatorValue(indicator_id="I1", value=1)], OWN_POLE, paris(2010, 1, 10)
    )
    assert "report-overdue" not in kinds(tick(contract, paris(2010, 2, 5)))
    assert reports_overdue(contract, paris(2010, 2, 5)) == []


def test_milestone_missed_once_unless_done() -> None:
    contract = active_contract()
    execution.complete_milestone(contract, "M2", OWN_POLE, paris(2009, 10, 1))
    assert next_clock_at(contract) == paris(2010, 1, 1)
    decision = tick(contract, paris(2010, 1, 1))
    assert kinds(decision) == ["milestone-missed"]
    assert decision.events[0].milestone_id == "M1"  # type: ignore[attr-defined]
    assert kinds(tick(contract, paris(2010, 1, 1) + timedelta(hours=1))) == []


def test_the_clock_raises_everything_due_at_once_after_a_long_sleep() -> None:
    contract = active_contract()
    decision = tick(contract, paris(2012, 6, 1))
    assert sorted(kinds(decision)) == ["milestone-missed"] * 2 + ["report-overdue"] * 3
    assert kinds(tick(contract, paris(2012, 6, 2))) == []
    assert next_clock_at(contract) is None


def test_nothing_is_due_once_evaluated() -> None:
    contract = active_contract()
    execution.evaluate(contract, "performant", "ok", paris(2009, 9, 1))
    assert next_clock_at(contract) is None
    assert kinds(tick(contract, paris(2012, 6, 1))) == []
