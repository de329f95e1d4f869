"""The co-financing of a selected dossier, decided by pure functions: the plan, the opening
(over-request, the line's refusal, who is asked), commitments, refusals, overdue financers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.funding.domain import financing as rules
from services.funding.domain.financing import FinancingState
from services.funding.tests.support import M_EUR, NOW
from shared.errors import Conflict, Invalid, NotFound
from shared.events.calls import DossierSelected
from shared.events.funding import (
    ConsortiumMember,
    FinancerCommitted,
    FinancerOverdue,
    FinancingCompleted,
    FinancingOpened,
    FinancingRefused,
    OverlapFlagged,
    PlanShare,
    YearAmount,
)

COMMITTED = {"outcome": "committed", "commitment_id": "c-state", "line_id": "intervention.rd"}


def share(financer: str, *years: tuple[int, int]) -> PlanShare:
    return PlanShare(
        financer=financer, years=[YearAmount(year=y, amount_cents=a) for y, a in years]
    )


def selected(plan: list[PlanShare], requested: int = 10 * M_EUR, **more: Any) -> DossierSelected:
    return DossierSelected(
        dossier_id="D-1",
        call_id="FUI-8",
        call_kind="fui-rd",
        pole_id="minalogic",
        region_codes=["82"],
        platform_name="Projet NANO",
        contact_email="chef@nano.example",
        decided_at=NOW,
        decision_year=2009,
        state_grant_cents=0,
        requested_total_cents=requested,
        financing_plan=plan,
        **more,
    )


PLAN = [
    share("state", (2009, 2 * M_EUR), (2010, M_EUR)),
    share("region:82", (2009, M_EUR)),
    share("private", (2009, M_EUR)),
]


def opened(plan: list[PlanShare] = PLAN, **more: Any) -> FinancingState:
    return rules.open_financing(
        selected(plan, **more),
        plan,
        line_answer=COMMITTED,
        overlaps={},
        source_event_id="ev-1",
        now=NOW,
        financer_days=60,
    ).state


def test_without_a_plan_the_grant_and_the_cdc_investment_make_it_in_the_decision_year() -> None:
    data = selected([]).model_copy(
        update={"state_grant_cents": 3 * M_EUR, "cdc_investment_cents": M_EUR}
    )
    assert rules.plan_of(data) == [share("state", (2009, 3 * M_EUR)), share("cdc", (2009, M_EUR))]


def test_a_financer_named_twice_in_a_plan_gets_one_share() -> None:
    data = selected([share("cdc", (2009, 1)), share("cdc", (2009, 2), (2010, 3))])
    assert rules.plan_of(data) == [share("cdc", (2009, 3), (2010, 3))]


def test_a_plan_above_the_request_is_refused_before_any_line_is_asked() -> None:
    decision = rules.open_financing(
        selected(PLAN, requested=5 * M_EUR - 1),
        PLAN,
        line_answer=None,
        overlaps={},
        source_event_id="ev-1",
        now=NOW,
        financer_days=60,
    )
    [refused] = decision.events
    assert isinstance(refused, FinancingRefused)
    assert (refused.reason, refused.financer, decision.state.status) == (
        "over-request",
        "state",
        "refused",
    )
    assert "exceeds" in refused.detail


def test_a_line_refusing_the_state_share_refuses_the_financing_with_its_reason() -> None:
    answer = {
        "outcome": "refused",
        "line_id": "intervention.platforms",
        "reason": "over-yearly-ceiling",
        "asked_cents": 36 * M_EUR,
        "available_cents": 35 * M_EUR,
    }
    decision = rules.open_financing(
        selected(PLAN),
        PLAN,
        line_answer=answer,
        overlaps={},
        source_event_id="ev-1",
        now=NOW,
        financer_days=60,
    )
    [refused] = decision.events
    assert isinstance(refused, FinancingRefused)
    assert refused.reason == "over-yearly-ceiling"
    assert refused.detail == (
        "line intervention.platforms refused the State's share (over-yearly-ceiling): "
        "3600000000 cents asked, 3500000000 available"
    )


def test_an_opening_commits_the_state_and_private_money_and_asks_the_others() -> None:
    decision = rules.open_financing(
        selected(PLAN),
        PLAN,
        line_answer=COMMITTED,
        overlaps={},
        source_event_id="ev-1",
        now=NOW,
        financer_days=60,
    )
    types = [type(event) for event in decision.events]
    assert types == [FinancingOpened, FinancerCommitted, FinancerCommitted]
    state = decision.state
    assert [(s.financer, s.status) for s in state.shares] == [
        ("state", "committed"),
        ("region:82", "asked"),
        ("private", "committed"),
    ]
    assert state.due_at == NOW + timedelta(days=60)
    assert state.shares[0].commitment_id == "c-state"
    assert decision.events[0].contact_email == "chef@nano.example"  # type: ignore[attr-defined]


def test_the_last_financer_committing_completes_the_financing() -> None:
    decision = rules.commit_share(opened(), "region:82", None, NOW)
    committed, completed = decision.events
    assert isinstance(committed, FinancerCommitted)
    assert isinstance(completed, FinancingCompleted)
    assert completed.total_cents == 5 * M_EUR
    assert decision.state.status == "completed"
    assert committed.commitment_id == decision.state.share("region:82").commitment_id


def test_a_plan_with_the_state_and_private_money_only_completes_at_once() -> None:
    plan = [share("state", (2009, M_EUR)), share("private", (2009, M_EUR))]
    state = opened(plan)
    assert state.status == "completed"


def test_a_commitment_takes_the_share_as_planned() -> None:
    with pytest.raises(Invalid):
        rules.commit_share(opened(), "region:82", [YearAmount(year=2009, amount_cents=1)], NOW)
    same = [YearAmount(year=2009, amount_cents=M_EUR)]
    assert rules.commit_share(opened(), "region:82", same, NOW).state.status == "completed"


@pytest.mark.parametrize(
    ("financer", "error", "reason"),
    [
        ("cdc", NotFound, "not-found"),
        ("state", Conflict, "not-asked"),
        ("private", Conflict, "not-asked"),
    ],
)
def test_only_an_asked_financer_answers(financer: str, error: type[Exception], reason: str) -> None:
    with pytest.raises(error) as refused:
        rules.commit_share(opened(), financer, None, NOW)
    assert getattr(refused.value, "reason", None) == reason


def test_a_closed_financing_takes_no_answer() -> None:
    done = rules.commit_share(opened(), "region:82", None, NOW).state
    with pytest.raises(Conflict) as refused:
        rules.decline_share(done, "region:82", "changed our mind", NOW)
    assert refused.value.reason == "financing-closed"


def test_a_financer_declining_refuses_the_financing() -> None:
    decision = rules.decline_share(opened(), "region:82", "budget voted down", NOW)
    [refused] = decision.events
    assert isinstance(refused, FinancingRefused)
    assert (refused.reason, refused.financer) == ("financer-declined", "region:82")
    assert refused.detail == "region:82 declined its share: budget voted down"
    assert decision.state.share("region:82").status == "declined"


def test_overdue_financers_are_flagged_once_after_the_due_date() -> None:
    state = opened()
    assert rules.flag_overdue(state, state.due_at - timedelta(seconds=1)) is None
    decision = rules.flag_overdue(state, state.due_at)
    assert decision is not None
    [late] = decision.events
    assert isinstance(late, FinancerOverdue)
    assert (late.financer, late.due_at) == ("region:82", state.due_at)
    assert rules.flag_overdue(decision.state, state.due_at + timedelta(days=1)) is None


def test_overlaps_of_a_consortium_are_flagged_not_refused() -> None:
    member = ConsortiumMember(identifier="12345678901234", kind="sme", name="Nano SA")
    decision = rules.open_financing(
        selected(PLAN, project_key="nano", consortium=[member]),
        PLAN,
        line_answer=COMMITTED,
        overlaps={"12345678901234": ["c-other"]},
        source_event_id="ev-1",
        now=NOW,
        financer_days=60,
    )
    flagged = [e for e in decision.events if isinstance(e, OverlapFlagged)]
    assert [(e.identifier, e.project_key, e.other_commitment_ids) for e in flagged] == [
        ("12345678901234", "nano", ["c-other"])
    ]
    assert decision.state.status == "open"
    assert decision.state.overlaps[0].other_ids == ["c-other"]
