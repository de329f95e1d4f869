"""The handlers on in-memory repositories: who may do what, idempotent repeats, one live dossier
per call, carrier and platform, receipts, the automatic close and the metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.calls import commands
from services.calls.domain import inputs
from services.calls.tests.samples import DEADLINE, IN_TIME, OTHER_SIRET, dossier, platform_call
from services.calls.tests.world import World
from shared.auth import Principal
from shared.decision import Answer
from shared.errors import Conflict, DomainError, Forbidden, NotFound

STATE = Principal("dge", frozenset({"state"}))
CDC = Principal("cdc", frozenset({"cdc"}))
LEAD = Principal("aerospace-valley", frozenset({"pole:aerospace-valley"}))
PARTNER = Principal("pegase", frozenset({"pole:pegase"}))
STRANGER = Principal("minalogic", frozenset({"pole:minalogic"}))
REGION_MP = Principal("midi-pyrenees", frozenset({"region:73"}))
REGION_ALSACE = Principal("alsace", frozenset({"region:42"}))


async def opened(world: World) -> None:
    spec = inputs.CallSpec.model_validate(platform_call())
    await world.handlers.execute(STATE, None, commands.OpenCall(call=spec))


def submission(**changes: object) -> commands.SubmitDossier:
    content = inputs.DossierContent.model_validate(dossier(**changes))  # type: ignore[arg-type]
    return commands.SubmitDossier(call_id="PF-2008", content=content)


async def submit(world: World, key: str | None = None, **changes: object) -> Answer:
    return await world.handlers.execute(LEAD, key, submission(**changes))


async def refused(world: World, principal: Principal, command: commands.Command) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await world.handlers.execute(principal, None, command)
    return caught.value


@pytest.fixture
async def world() -> World:
    world = World(IN_TIME)
    await opened(world)
    return world


async def test_a_submission_answers_a_numbered_receipt_with_the_server_time(world: World) -> None:
    first = await submit(world)
    second = await submit(world, platform_name="Plate-forme essais moteurs")
    assert first["status_code"] == 201
    assert first["body"]["receipt_number"] == "PF-2008-0001"
    assert first["body"]["submitted_at"] == "2008-11-20T09:00:00Z"  # IN_TIME, 10:00 in Paris
    assert second["body"]["receipt_number"] == "PF-2008-0002"


async def test_a_repeated_key_returns_the_first_answer_and_emits_nothing(world: World) -> None:
    first = await submit(world, key="k1")
    before = world.published()
    world.clock.advance(timedelta(hours=1))
    again = await submit(world, key="k1")
    assert again == first
    assert world.published() == before
    assert len(world.dossier_states()) == 1


async def test_a_repeated_withdrawal_returns_its_first_answer(world: World) -> None:
    dossier_id = (await submit(world))["body"]["dossier_id"]
    first = await world.handlers.execute(LEAD, "w", commands.WithdrawDossier(dossier_id=dossier_id))
    again = await world.handlers.execute(LEAD, "w", commands.WithdrawDossier(dossier_id=dossier_id))
    assert again == first
    assert world.published().count("calls.dossier.withdrawn.v1") == 1


async def test_one_live_dossier_per_call_carrier_and_platform_name(world: World) -> None:
    await submit(world)
    error = await refused(
        world, LEAD, submission(platform_name="  PLATE-FORME composites  aéronautiques")
    )
    assert isinstance(error, Conflict)
    assert error.reason == "duplicate-dossier"
    await submit(world, siret=OTHER_SIRET)  # another carrier may file the same name


async def test_a_withdrawn_dossier_frees_its_carrier_and_platform_name(world: World) -> None:
    dossier_id = (await submit(world))["body"]["dossier_id"]
    await world.handlers.execute(LEAD, None, commands.WithdrawDossier(dossier_id=dossier_id))
    again = await submit(world)
    assert again["body"]["dossier_id"] != dossier_id


async def test_a_pole_submits_only_as_its_own_lead(world: World) -> None:
    assert isinstance(await refused(world, STRANGER, submission()), Forbidden)
    assert isinstance(await refused(world, STATE, submission()), Forbidden)


async def test_a_submission_to_an_unknown_call_is_not_found(world: World) -> None:
    command = submission().model_copy(update={"call_id": "PF-1999"})
    assert isinstance(await refused(world, LEAD, command), NotFound)


async def test_only_the_lead_changes_a_partner_reads_others_get_404(world: World) -> None:
    dossier_id = (await submit(world))["body"]["dossier_id"]
    replace = commands.ReplaceDossier(dossier_id=dossier_id, content=submission().content)
    assert isinstance(await refused(world, PARTNER, replace), Forbidden)
    assert isinstance(await refused(world, STRANGER, replace), NotFound)
    assert isinstance(await refused(world, REGION_MP, replace), Forbidden)
    assert isinstance(await refused(world, REGION_ALSACE, replace), NotFound)
    assert (await world.handlers.execute(LEAD, None, replace))["body"]["version"] == 2


async def test_only_state_and_cdc_decide(world: World) -> None:
    dossier_id = (await submit(world))["body"]["dossier_id"]
    world.clock.set(DEADLINE)
    screening = commands.ScreenDossier(
        dossier_id=dossier_id, screening=inputs.Screening(eligible=True)
    )
    for principal in (LEAD, REGION_MP, Principal("ops", frozenset({"operator"}))):
        assert isinstance(await refused(world, principal, screening), Forbidden)
    both = Principal("x", frozenset({"state", "cdc"}))
    assert isinstance(await refused(world, both, screening), Forbidden)
    await world.handlers.execute(CDC, None, screening)
    study = commands.CommissionStudy(
        dossier_id=dossier_id, study=inputs.StudyOrder(cost_cents=1, cdc_share_cents=0)
    )
    assert isinstance(await refused(world, STATE, study), Forbidden)
    decision = commands.DecideDossier(
        dossier_id=dossier_id, decision=inputs.FinalDecision(selected=False, reasons=["x"])
    )
    assert isinstance(await refused(world, CDC, decision), Forbidden)
    opening = commands.OpenCall(call=inputs.CallSpec.model_validate(platform_call("FUI-8")))
    assert isinstance(await refused(world, LEAD, opening), Forbidden)


async def test_a_refused_command_changes_nothing_and_is_counted(world: World) -> None:
    dossier_id = (await submit(world))["body"]["dossier_id"]
    before = world.published()
    world.clock.set(DEADLINE)
    error = await refused(world, LEAD, commands.WithdrawDossier(dossier_id=dossier_id))
    assert error.reason == "window-closed"
    assert world.published() == before
    assert world.dossier_states()[0].status == "submitted"
    assert world.metric("poles_commands_rejected_total", reason="window-closed") == 1


async def test_a_call_code_is_opened_once(world: World) -> None:
    again = commands.OpenCall(call=inputs.CallSpec.model_validate(platform_call()))
    error = await refused(world, CDC, again)
    assert error.reason == "duplicate-call"


async def test_the_due_call_closes_once(world: World) -> None:
    await submit(world)
    assert await world.handlers.close_due_calls() == 0
    world.clock.set(DEADLINE)
    assert await world.handlers.close_due_calls() == 1
    assert await world.handlers.close_due_calls() == 0
    assert world.published().count("calls.call.closed.v1") == 1


async def test_decisions_are_timed_from_the_submission_in_domain_time(world: World) -> None:
    dossier_id = (await submit(world))["body"]["dossier_id"]
    world.clock.set(IN_TIME + timedelta(days=20))
    screening = commands.ScreenDossier(
        dossier_id=dossier_id, screening=inputs.Screening(eligible=True)
    )
    await world.handlers.execute(STATE, None, screening)
    vote = commands.VoteOnPreselection(dossier_id=dossier_id, vote=inputs.Vote(decision="yes"))
    await world.handlers.execute(STATE, None, vote)
    await world.handlers.execute(CDC, None, vote)
    seconds = 20 * 24 * 3600.0
    assert world.metric("poles_dossier_decision_seconds_sum", decision="eligible") == seconds
    assert world.metric("poles_dossier_decision_seconds_count", decision="preselected") == 1


async def test_every_dossier_event_carries_who_and_where(world: World) -> None:
    await submit(world)
    history = world.dossier_states()[0].history
    assert [entry["type"] for entry in history] == ["calls.dossier.submitted.v1"]
    data = history[0]["data"]
    assert data["pole_id"] == "aerospace-valley"
    assert data["region_codes"] == ["73", "72", "93"]
    assert data["call_kind"] == "innovation-platforms"
