"""The call's and the dossier's folds: at every step of a lifecycle run by the domain, the fold
of the events published so far equals the live view on the fields the events carry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from services.calls.asof import evolve_call, evolve_dossier
from services.calls.domain import dossier as lifecycle
from services.calls.domain import inputs
from services.calls.domain.call import close_call, open_call
from services.calls.domain.dossier import DossierState
from services.calls.tests.samples import DEADLINE, IN_TIME, OPENS_AT, platform_call
from services.calls.tests.test_lifecycle import CONCLUSIONS, NO_DECISION, YES, content, submission
from services.calls.views import dossier_view
from shared.asof import state_at
from shared.cloudevents import CloudEvent
from shared.decision import Decision
from shared.events.base import new_outbox_entry

AFTER = DEADLINE + timedelta(days=30)
Move = Callable[[DossierState, datetime], Decision[DossierState]]


def published(decision: Decision[Any], key: str, now: datetime) -> list[CloudEvent]:
    return [
        new_outbox_entry(data, source="calls", key=key, time=now).cloud_event()
        for data in decision.events
    ]


def shown(rebuilt: BaseModel | None, live: dict[str, Any]) -> None:
    """The rebuilt record equals the live view on every field it has (the same instants: the
    domain's states keep the offsets they were given, the store's come back in UTC)."""
    assert rebuilt is not None
    assert rebuilt == type(rebuilt).model_validate(
        {name: live[name] for name in type(rebuilt).model_fields}
    )


def test_a_dossier_rebuilt_at_each_step_equals_its_live_view_then() -> None:
    first = submission(IN_TIME)
    log = published(first, "d1", IN_TIME)
    steps: list[tuple[datetime, dict[str, Any]]] = [(IN_TIME, dossier_view(first.state))]
    moves: list[tuple[datetime, Move]] = [
        (
            IN_TIME + timedelta(days=1),
            lambda d, t: lifecycle.replace(
                d, content(investment_cents=200_000_000), t, NO_DECISION
            ),
        ),
        (AFTER, lambda d, t: lifecycle.screen(d, inputs.Screening(eligible=True), "state", t)),
        (AFTER + timedelta(days=1), lambda d, t: lifecycle.vote(d, "state", YES, t)),
        (AFTER + timedelta(days=2), lambda d, t: lifecycle.vote(d, "cdc", YES, t)),
        (
            AFTER + timedelta(days=3),
            lambda d, t: lifecycle.commission_study(
                d, inputs.StudyOrder(cost_cents=1000, cdc_share_cents=800), t
            ),
        ),
        (AFTER + timedelta(days=4), lambda d, t: lifecycle.complete_study(d, CONCLUSIONS, t)),
        (
            AFTER + timedelta(days=5),
            lambda d, t: lifecycle.decide(
                d, inputs.FinalDecision(selected=True, state_grant_cents=100_000_000), t
            ),
        ),
    ]
    state = first.state
    for now, move in moves:
        decision = move(state, now)
        state = decision.state
        log += published(decision, "d1", now)
        steps.append((now, dossier_view(state)))
    assert [e.type for e in log][-1] == "calls.dossier.selected.v1"
    assert state_at(log, evolve_dossier, IN_TIME - timedelta(seconds=1)) is None
    for at, live in steps:
        shown(state_at(log, evolve_dossier, at), live)
        shown(state_at(log, evolve_dossier, at + timedelta(hours=1)), live)
    rebuilt = state_at(log, evolve_dossier, AFTER + timedelta(days=9))
    assert rebuilt is not None
    assert (rebuilt.status, rebuilt.version, set(rebuilt.votes)) == (
        "selected",
        2,
        {"state", "cdc"},
    )
    assert rebuilt.study is not None
    assert rebuilt.study.conclusions == CONCLUSIONS


def test_a_withdrawn_dossier_and_a_refused_one() -> None:
    first = submission(IN_TIME)
    withdrawn = lifecycle.withdraw(first.state, IN_TIME + timedelta(hours=2))
    log = published(first, "d1", IN_TIME) + published(withdrawn, "d1", IN_TIME + timedelta(hours=2))
    shown(state_at(log, evolve_dossier, DEADLINE), dossier_view(withdrawn.state))

    eligible = lifecycle.screen(first.state, inputs.Screening(eligible=True), "cdc", AFTER)
    refused = lifecycle.vote(
        eligible.state, "cdc", inputs.Vote(decision="no", reasons=["x"]), AFTER
    )
    log = [*published(first, "d1", IN_TIME), *published(eligible, "d1", AFTER)]
    log += published(refused, "d1", AFTER)
    shown(state_at(log, evolve_dossier, AFTER), dossier_view(refused.state))


def test_a_call_rebuilt_open_then_closed() -> None:
    opened = open_call(inputs.CallSpec.model_validate(platform_call()), OPENS_AT, "dge")
    closed = close_call(opened.state, DEADLINE, dossiers_live=3)
    assert closed is not None
    log = published(opened, "call", OPENS_AT) + published(closed, "call", DEADLINE)
    assert state_at(log, evolve_call, OPENS_AT - timedelta(seconds=1)) is None
    shown(state_at(log, evolve_call, IN_TIME), opened.state.model_dump(mode="json"))
    shown(state_at(log, evolve_call, DEADLINE), closed.state.model_dump(mode="json"))
