"""An R&D project from submission to funding's answer, on in-memory aggregates: the handlers
(who evaluates, who decides) and the ``funding.financing`` subscriber as the service wires it,
driven through FastStream's ``TestKafkaBroker``: each answer applied once, others ignored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from services.calls import commands
from services.calls.domain import inputs
from services.calls.domain.dossier import DossierState
from services.calls.reactions import TOPICS, FundingAnswers, reactions
from services.calls.settings import CallsSettings
from services.calls.tests.samples import RD_DEADLINE, RD_IN_TIME, project, rd_call, rd_plan
from services.calls.tests.world import World
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events.base import EventData
from shared.events.funding import (
    FinancerCommitted,
    FinancingCompleted,
    FinancingRefused,
    PlanShare,
    YearAmount,
)
from shared.service import build_runtime
from tests.support.kafka_in_memory import deliver

STATE = Principal("dge", frozenset({"state"}))
CDC = Principal("cdc", frozenset({"cdc"}))
LEAD = Principal("aerospace-valley", frozenset({"pole:aerospace-valley"}))
PREFIX = "calls-funding."


async def selected_project(world: World) -> str:
    run = world.handlers.execute
    await run(STATE, None, commands.OpenCall(call=inputs.CallSpec.model_validate(rd_call())))
    content = inputs.DossierContent.model_validate(project())
    answer = await run(LEAD, None, commands.SubmitDossier(call_id="FUI-2009-7", content=content))
    dossier_id = str(answer["body"]["dossier_id"])
    world.clock.set(RD_DEADLINE + timedelta(days=20))
    await run(
        STATE,
        None,
        commands.ScreenDossier(dossier_id=dossier_id, screening=inputs.Screening(eligible=True)),
    )
    expertise = inputs.Expertise(score=16, opinion="Très bon projet")
    with pytest.raises(Forbidden):
        await run(CDC, None, commands.EvaluateDossier(dossier_id=dossier_id, expertise=expertise))
    evaluated = await run(
        STATE, None, commands.EvaluateDossier(dossier_id=dossier_id, expertise=expertise)
    )
    assert evaluated["body"]["status"] == "evaluated"
    decision = inputs.FinalDecision.model_validate(
        {"selected": True, "state_grant_cents": 100_000_000, "financing_plan": rd_plan()}
    )
    decided = await run(
        STATE, None, commands.DecideDossier(dossier_id=dossier_id, decision=decision)
    )
    assert decided["body"]["status"] == "selected"
    return dossier_id


def facts(world: World, dossier_id: str) -> dict[str, Any]:
    dossier = the_dossier(world, dossier_id)
    return {k: v for k, v in dossier.facts().items() if k != "partner_pole_ids"}


def the_dossier(world: World, dossier_id: str) -> DossierState:
    [dossier] = [d for d in world.dossier_states() if d.dossier_id == dossier_id]
    return dossier


async def delivered(world: World, *events: tuple[EventData, str | None]) -> None:
    runtime = build_runtime(CallsSettings(auth_secret="s" * 32, topic_prefix=PREFIX))
    runtime.consume(TOPICS, reactions(FundingAnswers(world.handlers.dossiers)))
    async with TestKafkaBroker(runtime.broker) as broker:
        for data, event_id in events:
            await deliver(broker, data, key="k", topic_prefix=PREFIX, event_id=event_id)


async def test_a_refusal_delivered_twice_moves_the_dossier_once_and_keeps_the_reason() -> None:
    world = World(RD_IN_TIME)
    dossier_id = await selected_project(world)
    refused = FinancingRefused(
        **facts(world, dossier_id),
        financer="region:73",
        reason="financer-declined",
        detail="la région se retire",
        refused_at=world.clock.now(),
    )
    committed = FinancerCommitted(
        **facts(world, dossier_id),
        financer="state",
        years=[YearAmount(year=2009, amount_cents=1)],
        commitment_id="c-1",
        committed_at=world.clock.now(),
    )
    await delivered(world, (committed, None), (refused, "e-1"), (refused, "e-1"))
    dossier = the_dossier(world, dossier_id)
    assert dossier.status == "funding-refused"
    assert dossier.funding is not None
    assert (dossier.funding.financer, dossier.funding.reason, dossier.funding.detail) == (
        "region:73",
        "financer-declined",
        "la région se retire",
    )
    assert world.published().count("calls.dossier.funding-refused.v1") == 1
    assert "calls.dossier.funded.v1" not in world.published()
    assert dossier.granted_total_cents == 0


async def test_a_completion_funds_the_dossier_and_a_later_refusal_is_ignored() -> None:
    world = World(RD_IN_TIME)
    dossier_id = await selected_project(world)
    plan = [PlanShare.model_validate(share) for share in rd_plan()]
    now = world.clock.now()
    completed = FinancingCompleted(
        **facts(world, dossier_id), plan=plan, total_cents=180_000_000, completed_at=now
    )
    refused = FinancingRefused(
        **facts(world, dossier_id),
        financer="state",
        reason="financer-timeout",
        detail="late",
        refused_at=now,
    )
    await delivered(world, (completed, "e-1"), (completed, "e-1"), (refused, "e-2"))
    dossier = the_dossier(world, dossier_id)
    assert dossier.status == "funded"
    assert dossier.funding is not None
    assert dossier.funding.total_cents == 180_000_000
    assert world.published().count("calls.dossier.funded.v1") == 1
    assert "calls.dossier.funding-refused.v1" not in world.published()
