"""Call types as data and the R&D project calls (FUI): parts required by the call type, labels,
consortia, the expert evaluation, the financing plan of the decision, and funding's answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.calls.domain import dossier as lifecycle
from services.calls.domain import inputs
from services.calls.domain.call import CallState, open_call
from services.calls.domain.call_types import call_types, load_call_types
from services.calls.domain.dossier import DossierState
from services.calls.domain.poles import PoleLabels
from services.calls.tests.samples import (
    RD_DEADLINE,
    RD_DECIDED,
    RD_IN_TIME,
    RD_OPENS_AT,
    dossier,
    project,
    rd_call,
    rd_plan,
)
from shared.errors import Conflict, Invalid
from shared.events.funding import FinancingCompleted, FinancingRefused, PlanShare

AFTER = RD_DEADLINE + timedelta(days=30)
EXPERTISE = inputs.Expertise(score=15.5, opinion="Projet solide, consortium équilibré")


def a_call(**changes: Any) -> CallState:
    spec = inputs.CallSpec.model_validate({**rd_call(), **changes})
    return open_call(spec, RD_OPENS_AT, "dge").state


def submitted(body: dict[str, Any] | None = None, call: CallState | None = None) -> DossierState:
    return lifecycle.submit(
        call or a_call(),
        inputs.DossierContent.model_validate(body or project()),
        dossier_id="p1",
        receipt_number="FUI-2009-7-0001",
        submitted_by="aerospace-valley",
        now=RD_IN_TIME,
        labels=PoleLabels(),
    ).state


def eligible(call: CallState | None = None, body: dict[str, Any] | None = None) -> DossierState:
    screening = inputs.Screening(eligible=True)
    return lifecycle.screen(submitted(body, call), screening, "state", AFTER).state


def evaluated() -> DossierState:
    return lifecycle.evaluate(eligible(), EXPERTISE, "dge", AFTER).state


def decision(**changes: Any) -> inputs.FinalDecision:
    body = {"selected": True, "state_grant_cents": 100_000_000, "financing_plan": rd_plan()}
    return inputs.FinalDecision.model_validate({**body, **changes})


def selected() -> DossierState:
    return lifecycle.decide(evaluated(), decision(), RD_DECIDED).state


def loc_of(error: Invalid) -> list[Any]:
    return list(error.detail[0]["loc"])


def test_the_service_file_names_the_three_call_types() -> None:
    kinds = call_types()
    assert set(kinds) == {"innovation-platforms", "fui-rd", "ecotech-labelling"}
    assert kinds["fui-rd"].stages == ["screening", "evaluation", "selection"]
    assert kinds["innovation-platforms"].ready_for_selection() == ("preselected", "study-completed")
    assert not kinds["ecotech-labelling"].money


@pytest.mark.parametrize(
    "stages",
    [["selection", "screening"], ["screening", "study", "selection"], ["screening", "screening"]],
)
def test_a_call_types_file_with_stages_out_of_order_is_refused(
    tmp_path: Path, stages: list[str]
) -> None:
    bad = {"call_types": [{"kind": "x-y", "title": "t", "stages": stages, "money": True}]}
    path = tmp_path / "call_types.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValidationError):
        load_call_types(path)


def test_an_rd_project_needs_its_consortium_and_its_labels() -> None:
    for part in ("consortium", "labels"):
        with pytest.raises(Invalid) as refused:
            submitted({**project(), part: []})
        assert loc_of(refused.value) == ["body", part]


def test_a_platform_needs_its_offer() -> None:
    platform = {**dossier(), "offer": None}
    with pytest.raises(Invalid) as refused:
        submitted(platform, a_call(kind="innovation-platforms"))
    assert loc_of(refused.value) == ["body", "offer"]


def test_a_label_comes_before_the_submission_from_a_labelled_pole() -> None:
    with pytest.raises(Invalid) as refused:
        submitted(project(labelled_on="2009-03-03"))
    assert loc_of(refused.value) == ["body", "labels", 0, "labelled_on"]
    submitted(project(labelled_on="2009-03-02"))  # labelled the day of the submission
    with pytest.raises(Invalid) as refused:
        submitted(project(labelled_by=("aerospace-valley", "atlantis")))
    assert loc_of(refused.value) == ["body", "labels", 1, "pole_id"]


def test_an_rd_call_grants_money_and_a_labelling_call_none() -> None:
    nothing = {
        **project(),
        "requested": {"investment_cents": 0, "operation_cents": 0, "studies_cents": 0},
        "financing": [],
    }
    with pytest.raises(Invalid) as refused:
        submitted(nothing)
    assert loc_of(refused.value) == ["body", "requested"]
    labelling = a_call(kind="ecotech-labelling", call_id="ECOTECH-2009")
    with pytest.raises(Invalid):
        submitted(project(), labelling)
    candidate = eligible(labelling, nothing)
    outcome = lifecycle.decide(candidate, inputs.FinalDecision(selected=True), AFTER)
    assert outcome.state.status == "selected"
    assert outcome.events[0].model_dump()["financing_plan"] == []
    with pytest.raises(Invalid):
        lifecycle.decide(candidate, inputs.FinalDecision(selected=True, state_grant_cents=1), AFTER)


def test_an_expert_evaluates_an_eligible_project_then_the_state_decides() -> None:
    with pytest.raises(Conflict) as early:
        lifecycle.decide(eligible(), decision(), AFTER)
    assert early.value.reason == "lifecycle"
    outcome = lifecycle.evaluate(eligible(), EXPERTISE, "dge", AFTER)
    event = outcome.events[0].model_dump()
    assert [e.type_name for e in outcome.events] == ["calls.dossier.evaluated.v1"]
    assert (event["score"], event["opinion"]) == (15.5, EXPERTISE.opinion)
    assert outcome.state.status == "evaluated"
    assert outcome.state.evaluation is not None
    with pytest.raises(Conflict):  # once
        lifecycle.evaluate(outcome.state, EXPERTISE, "dge", AFTER)


def test_stages_the_call_type_lacks_are_lifecycle_conflicts() -> None:
    yes = inputs.Vote(decision="yes")
    study = inputs.StudyOrder(cost_cents=10, cdc_share_cents=0)
    moves: list[Callable[[], object]] = [
        lambda: lifecycle.vote(eligible(), "state", yes, AFTER),
        lambda: lifecycle.commission_study(eligible(), study, AFTER),
    ]
    for move in moves:
        with pytest.raises(Conflict) as refused:
            move()
        assert refused.value.reason == "lifecycle"
        assert "no" in refused.value.detail
    platform = eligible(a_call(kind="innovation-platforms"), dossier())
    with pytest.raises(Conflict) as refused:
        lifecycle.evaluate(platform, EXPERTISE, "dge", AFTER)
    assert refused.value.reason == "lifecycle"


def test_the_selection_carries_the_plan_the_project_key_and_the_consortium() -> None:
    outcome = lifecycle.decide(evaluated(), decision(), RD_DECIDED)
    event = outcome.events[0].model_dump()
    assert event["financing_plan"] == [
        PlanShare.model_validate(share).model_dump() for share in rd_plan()
    ]
    assert event["project_key"] == "composites thermoplastiques"
    assert [m["kind"] for m in event["consortium"]] == ["company", "sme", "laboratory"]
    assert [share.model_dump() for share in outcome.state.financing_plan] == (
        event["financing_plan"]
    )


def test_without_a_plan_the_grant_and_the_investment_are_in_the_decision_year() -> None:
    body = {"financing_plan": None, "cdc_investment_cents": 20_000_000}
    outcome = lifecycle.decide(
        evaluated(), decision(**body), datetime(2010, 1, 5, tzinfo=RD_DECIDED.tzinfo)
    )
    plan = outcome.events[0].model_dump()["financing_plan"]
    assert plan == [
        {"financer": "state", "years": [{"year": 2010, "amount_cents": 100_000_000}]},
        {"financer": "cdc", "years": [{"year": 2010, "amount_cents": 20_000_000}]},
    ]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"state_grant_cents": 90_000_000}, "state share"),
        ({"cdc_investment_cents": 1}, "cdc share"),
        ({"financing_plan": [*rd_plan(), *rd_plan()[1:2]]}, "one share"),
        (
            {
                "state_grant_cents": 200_000_000,
                "financing_plan": [*rd_plan(200_000_000)],
            },
            "public money",
        ),
        (
            {
                "financing_plan": [
                    *rd_plan(),
                    {"financer": "private", "years": [{"year": 2009, "amount_cents": 60_000_001}]},
                ]
            },
            "the plan (",
        ),
        ({"state_grant_cents": 0, "financing_plan": None}, "State grant"),
    ],
)
def test_a_plan_that_breaks_a_rule_is_refused_and_changes_nothing(
    changes: dict[str, Any], words: str
) -> None:
    candidate = evaluated()
    with pytest.raises(Invalid) as refused:
        lifecycle.decide(candidate, decision(**changes), RD_DECIDED)
    assert words in refused.value.detail[0]["msg"]
    assert candidate.status == "evaluated"


def facts(state: DossierState) -> dict[str, Any]:
    return {k: v for k, v in state.facts().items() if k != "partner_pole_ids"}


def test_funding_completed_makes_the_dossier_funded_once() -> None:
    dossier_ = selected()
    plan = [PlanShare.model_validate(share) for share in rd_plan()]
    done = FinancingCompleted(
        **facts(dossier_), plan=plan, total_cents=180_000_000, completed_at=AFTER
    )
    outcome = lifecycle.funded(dossier_, done, AFTER)
    assert outcome is not None
    assert outcome.state.status == "funded"
    assert [e.type_name for e in outcome.events] == ["calls.dossier.funded.v1"]
    assert outcome.events[0].model_dump()["total_cents"] == 180_000_000
    assert lifecycle.funded(outcome.state, done, AFTER) is None


def test_funding_refused_keeps_the_reason_but_not_after_the_dossier_is_funded() -> None:
    dossier_ = selected()
    refusal = FinancingRefused(
        **facts(dossier_),
        financer="state",
        reason="over-yearly-ceiling",
        detail="2009: 35 M€ ceiling reached",
        refused_at=AFTER,
    )
    outcome = lifecycle.funding_refused(dossier_, refusal, AFTER)
    assert outcome is not None
    assert outcome.state.status == "funding-refused"
    assert outcome.state.funding is not None
    assert outcome.state.funding.reason == "over-yearly-ceiling"
    event = outcome.events[0].model_dump()
    assert (event["financer"], event["reason"]) == ("state", "over-yearly-ceiling")
    done = FinancingCompleted(**facts(dossier_), plan=[], total_cents=0, completed_at=AFTER)
    funded = lifecycle.funded(dossier_, done, AFTER)
    assert funded is not None
    assert lifecycle.funding_refused(funded.state, refusal, AFTER) is None
