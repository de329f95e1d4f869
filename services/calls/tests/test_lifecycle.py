"""A dossier's lifecycle in the domain: each move, the events it emits, and the 409s."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.calls.domain import dossier as lifecycle
from services.calls.domain import inputs
from services.calls.domain.call import CallState, close_call, open_call
from services.calls.domain.dossier import DossierState
from services.calls.domain.poles import PoleLabels
from services.calls.tests.samples import DEADLINE, IN_TIME, OPENS_AT, dossier, platform_call
from shared.clock import PARIS
from shared.decision import Decision
from shared.errors import Conflict, Invalid

AFTER = DEADLINE + timedelta(days=30)
YES = inputs.Vote(decision="yes")
NO = inputs.Vote(decision="no", reasons=["no open access for SMEs"])
NO_DECISION = PoleLabels()  # the pôles' labels of 2008: no label decision of contracts yet
CONCLUSIONS = inputs.StudyConclusions(
    business_model="services billed", legal_structure="GIE", business_plan="break-even 2012"
)


def the_call() -> CallState:
    return open_call(inputs.CallSpec.model_validate(platform_call()), OPENS_AT, "dge").state


def content(**changes: object) -> inputs.DossierContent:
    return inputs.DossierContent.model_validate(dossier(**changes))  # type: ignore[arg-type]


def submission(at: datetime = IN_TIME) -> Decision[DossierState]:
    return lifecycle.submit(
        the_call(),
        content(),
        dossier_id="d1",
        receipt_number="PF-2008-0001",
        submitted_by="aerospace-valley",
        now=at,
        labels=NO_DECISION,
    )


def submitted(at: datetime = IN_TIME) -> DossierState:
    return submission(at).state


def eligible() -> DossierState:
    return lifecycle.screen(submitted(), inputs.Screening(eligible=True), "state", AFTER).state


def preselected() -> DossierState:
    first = lifecycle.vote(eligible(), "state", YES, AFTER).state
    return lifecycle.vote(first, "cdc", YES, AFTER).state


def types(outcome: Decision[DossierState]) -> list[str]:
    return [event.type_name for event in outcome.events]


def test_a_submission_gets_a_receipt_and_carries_the_poles_and_regions() -> None:
    outcome = submission()
    event = outcome.events[0].model_dump()
    assert types(outcome) == ["calls.dossier.submitted.v1"]
    assert event["receipt_number"] == "PF-2008-0001"
    assert event["submitted_at"] == IN_TIME
    assert event["pole_id"] == "aerospace-valley"
    assert event["partner_pole_ids"] == ["pegase"]
    assert event["region_codes"] == ["73", "72", "93"]
    assert event["contact_email"] == "contact@pf-composites.example.fr"
    assert event["requested_total_cents"] == 375_000_000
    assert outcome.state.status == "submitted"


@pytest.mark.parametrize(
    "instant",
    [OPENS_AT, DEADLINE - timedelta(seconds=1), datetime(2008, 12, 1, 23, 59, 59, tzinfo=PARIS)],
)
def test_the_window_includes_its_opening_and_the_last_second(instant: datetime) -> None:
    lifecycle.check_submission(the_call(), content(), instant, NO_DECISION)


@pytest.mark.parametrize("instant", [OPENS_AT - timedelta(seconds=1), DEADLINE, AFTER])
def test_outside_the_window_nothing_is_submitted(instant: datetime) -> None:
    with pytest.raises(Conflict) as refused:
        lifecycle.check_submission(the_call(), content(), instant, NO_DECISION)
    assert refused.value.reason == "window-closed"


def test_a_pole_not_labelled_at_the_submission_is_refused_with_its_field() -> None:
    with pytest.raises(Invalid) as refused:
        lifecycle.check_submission(
            the_call(), content(partners=("pegase", "eau")), IN_TIME, NO_DECISION
        )
    assert refused.value.detail[0]["loc"] == ["body", "partner_pole_ids", 1]
    with pytest.raises(Invalid) as refused:
        lifecycle.check_submission(the_call(), content(lead="atlantis"), IN_TIME, NO_DECISION)
    assert refused.value.detail[0]["loc"] == ["body", "lead_pole_id"]


def test_a_replacement_makes_a_new_version_with_the_same_receipt() -> None:
    outcome = lifecycle.replace(submitted(), content(investment_cents=1_000), IN_TIME, NO_DECISION)
    assert types(outcome) == ["calls.dossier.replaced.v1"]
    assert outcome.state.version == 2
    assert outcome.state.requested_total_cents == 75_001_000
    assert outcome.events[0].model_dump()["receipt_number"] == "PF-2008-0001"


def test_a_replacement_keeps_the_carrier_the_platform_and_the_lead() -> None:
    for changed in (
        content(siret="73282932000074"),
        content(platform_name="Autre"),
        content(lead="pegase", partners=()),
    ):
        with pytest.raises(Invalid):
            lifecycle.replace(submitted(), changed, IN_TIME, NO_DECISION)


def test_a_withdrawal_releases_the_live_key() -> None:
    outcome = lifecycle.withdraw(submitted(), IN_TIME)
    assert types(outcome) == ["calls.dossier.withdrawn.v1"]
    assert outcome.state.status == "withdrawn"
    assert outcome.state.live_key == "withdrawn|d1"


def test_after_the_deadline_nothing_changes_for_the_submitter() -> None:
    with pytest.raises(Conflict):
        lifecycle.replace(submitted(), content(), DEADLINE, NO_DECISION)
    with pytest.raises(Conflict):
        lifecycle.withdraw(submitted(), DEADLINE)


def test_screening_waits_for_the_deadline() -> None:
    with pytest.raises(Conflict) as refused:
        lifecycle.screen(submitted(), inputs.Screening(eligible=True), "state", IN_TIME)
    assert refused.value.reason == "window-open"


def test_screening_finds_eligible_or_ineligible_with_reasons() -> None:
    ok = lifecycle.screen(submitted(), inputs.Screening(eligible=True), "cdc", AFTER)
    assert (types(ok), ok.state.status) == (["calls.dossier.found-eligible.v1"], "eligible")
    refusal = inputs.Screening(eligible=False, reasons=["not open to SMEs"])
    ko = lifecycle.screen(submitted(), refusal, "state", AFTER)
    assert ko.state.status == "ineligible"
    assert ko.events[0].model_dump()["reasons"] == ["not open to SMEs"]


@pytest.mark.parametrize("order", [("state", "cdc"), ("cdc", "state")])
def test_preselection_needs_both_yes_in_either_order(order: tuple[str, str]) -> None:
    first, second = order
    half = lifecycle.vote(eligible(), first, YES, AFTER)  # type: ignore[arg-type]
    assert (types(half), half.state.status) == (["calls.dossier.preselection-vote.v1"], "eligible")
    full = lifecycle.vote(half.state, second, YES, AFTER)  # type: ignore[arg-type]
    assert types(full) == ["calls.dossier.preselection-vote.v1", "calls.dossier.preselected.v1"]
    assert full.state.status == "preselected"


@pytest.mark.parametrize("voter", ["state", "cdc"])
def test_either_no_refuses_preselection_with_reasons(voter: str) -> None:
    outcome = lifecycle.vote(eligible(), voter, NO, AFTER)  # type: ignore[arg-type]
    assert types(outcome)[-1] == "calls.dossier.not-preselected.v1"
    assert outcome.events[-1].model_dump()["refused_by"] == voter
    assert outcome.state.status == "not-preselected"


def test_a_yes_then_a_no_is_not_preselected_and_a_late_vote_is_refused() -> None:
    half = lifecycle.vote(eligible(), "state", YES, AFTER).state
    refused = lifecycle.vote(half, "cdc", NO, AFTER).state
    assert refused.status == "not-preselected"
    with pytest.raises(Conflict):
        lifecycle.vote(refused, "state", YES, AFTER)


def test_each_decider_votes_once() -> None:
    half = lifecycle.vote(eligible(), "state", YES, AFTER).state
    with pytest.raises(Conflict) as refused:
        lifecycle.vote(half, "state", YES, AFTER)
    assert "already voted" in refused.value.detail


def test_the_cdc_pays_at_most_80_percent_of_a_study() -> None:
    at_most = inputs.StudyOrder(cost_cents=25_000_000, cdc_share_cents=20_000_000)
    outcome = lifecycle.commission_study(preselected(), at_most, AFTER)
    assert types(outcome) == ["calls.study.commissioned.v1"]
    assert outcome.state.status == "study-commissioned"
    too_much = inputs.StudyOrder(cost_cents=25_000_000, cdc_share_cents=20_000_001)
    with pytest.raises(Invalid) as refused:
        lifecycle.commission_study(preselected(), too_much, AFTER)
    assert refused.value.detail[0]["loc"] == ["body", "cdc_share_cents"]


def test_a_study_is_completed_then_the_dossier_selected() -> None:
    order = inputs.StudyOrder(cost_cents=25_000_000, cdc_share_cents=20_000_000)
    commissioned = lifecycle.commission_study(preselected(), order, AFTER).state
    with pytest.raises(Conflict):  # no decision while the study runs
        lifecycle.decide(
            commissioned, inputs.FinalDecision(selected=True, state_grant_cents=1), AFTER
        )
    completed = lifecycle.complete_study(commissioned, CONCLUSIONS, AFTER)
    assert types(completed) == ["calls.study.completed.v1"]
    decision = inputs.FinalDecision(
        selected=True, state_grant_cents=200_000_000, cdc_investment_cents=50_000_000
    )
    decided_at = datetime(2009, 1, 1, 0, 30, tzinfo=PARIS)  # still 2008 in UTC
    outcome = lifecycle.decide(completed.state, decision, decided_at)
    event = outcome.events[0].model_dump()
    assert types(outcome) == ["calls.dossier.selected.v1"]
    assert event["decision_year"] == 2009
    assert event["state_grant_cents"] == 200_000_000
    assert event["requested_total_cents"] == 375_000_000
    assert outcome.state.granted_total_cents == 250_000_000


def test_a_preselected_dossier_may_be_not_selected() -> None:
    decision = inputs.FinalDecision(selected=False, reasons=["budget"])
    outcome = lifecycle.decide(preselected(), decision, AFTER)
    assert (types(outcome), outcome.state.status) == (
        ["calls.dossier.not-selected.v1"],
        "not-selected",
    )


@pytest.mark.parametrize(
    ("state", "move"),
    [
        (submitted, lambda d: lifecycle.vote(d, "state", YES, AFTER)),
        (
            submitted,
            lambda d: lifecycle.commission_study(
                d, inputs.StudyOrder(cost_cents=1, cdc_share_cents=0), AFTER
            ),
        ),
        (
            eligible,
            lambda d: lifecycle.decide(
                d, inputs.FinalDecision(selected=False, reasons=["x"]), AFTER
            ),
        ),
        (eligible, lambda d: lifecycle.screen(d, inputs.Screening(eligible=True), "state", AFTER)),
        (preselected, lambda d: lifecycle.complete_study(d, CONCLUSIONS, AFTER)),
        (preselected, lambda d: lifecycle.withdraw(d, IN_TIME)),
    ],
)
def test_any_other_move_is_a_lifecycle_conflict(state, move) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict) as refused:
        move(state())
    assert refused.value.reason == "lifecycle"


def test_the_call_closes_once_at_its_deadline() -> None:
    call = the_call()
    assert close_call(call, DEADLINE - timedelta(seconds=1), 0) is None
    closing = close_call(call, DEADLINE, 3)
    assert closing is not None
    assert closing.state.status == "closed"
    assert closing.events[0].model_dump()["dossiers_live"] == 3
    assert close_call(closing.state, AFTER, 3) is None
