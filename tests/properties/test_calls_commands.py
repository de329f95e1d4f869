"""The calls service's commands, fed anything: a body is a command or a ValidationError; a
sequence of well-formed commands from anyone is, command by command, either refused with a clear
status (403, 404, 409, 422) that changes nothing and emits nothing, or applied whole (one
aggregate, a valid state, its events). Runs the real handlers on the in-memory repositories."""

from __future__ import annotations

import contextlib
import copy
from datetime import timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.calls.commands import COMMANDS, Command, OpenCall, SubmitDossier
from services.calls.domain import inputs
from services.calls.domain.call import CallState
from services.calls.domain.dossier import DossierState
from services.calls.tests.samples import DEADLINE, IN_TIME, OTHER_SIRET, dossier, platform_call
from services.calls.tests.world import World
from shared.auth import Principal
from shared.errors import DomainError, status_of
from tests.properties.strategies import json_values, near_misses, quick, shaped_like

STATE = Principal("dge", frozenset({"state"}))
CDC = Principal("cdc", frozenset({"cdc"}))
LEAD = Principal("av", frozenset({"pole:aerospace-valley"}))
PRINCIPALS = [
    STATE,
    CDC,
    STATE,
    CDC,
    LEAD,
    Principal("both", frozenset({"state", "cdc"})),
    Principal("pegase", frozenset({"pole:pegase"})),
    Principal("minalogic", frozenset({"pole:minalogic"})),
    Principal("mp", frozenset({"region:73"})),
    Principal("ops", frozenset({"operator"})),
]
CLEAR_REFUSALS = {403, 404, 409, 422}
SUBMITTED = "submitted-by-fixture"


@quick
@given(
    body=st.one_of(
        json_values(),
        st.builds(dict, type=st.sampled_from(["submit-dossier", "open-call", "decide-dossier"])),
        st.fixed_dictionaries(
            {"type": st.just("submit-dossier"), "call_id": st.just("PF-2008")},
            optional={"content": st.one_of(json_values(), near_misses(dossier()))},
        ),
        st.fixed_dictionaries({"type": st.just("open-call"), "call": near_misses(platform_call())}),
    )
)
def test_any_command_body_is_a_command_or_a_validation_error(body: Any) -> None:
    with contextlib.suppress(ValidationError):
        COMMANDS.validate_python(body)


def contents() -> st.SearchStrategy[inputs.DossierContent]:
    """Dossiers from the sample, with another lead, partners, carrier or amounts."""
    return st.builds(
        lambda lead, partners, siret, investment: dossier(
            lead=lead, partners=partners, siret=siret, investment_cents=investment
        ),
        st.sampled_from(["aerospace-valley", "pegase", "minalogic"]),
        st.sampled_from([(), ("pegase",), ("aerospace-valley",)]),
        st.sampled_from([OTHER_SIRET, "44306184100047"]),
        st.integers(0, 10**12),
    ).flatmap(lambda body: _valid(inputs.DossierContent, body))


def _valid(model: Any, body: Any) -> st.SearchStrategy[Any]:
    try:
        return st.just(model.model_validate(body))
    except ValidationError:
        return st.nothing()


def shaped(model: Any) -> st.SearchStrategy[Any]:
    return shaped_like(model).flatmap(lambda body: _valid(model, body))


dossier_ids = st.sampled_from([SUBMITTED, SUBMITTED, SUBMITTED, "no-such-dossier"])
commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(
        lambda spec: COMMANDS.validate_python({"type": "open-call", "call": spec}),
        st.builds(platform_call, st.sampled_from(["PF-2008", "PF-2009"])),
    ),
    st.builds(
        lambda call_id, content: SubmitDossier(call_id=call_id, content=content),
        st.sampled_from(["PF-2008", "NO-SUCH-CALL"]),
        contents(),
    ),
    *[
        st.builds(
            lambda kind, field, dossier_id, value: COMMANDS.validate_python(
                {"type": kind, "dossier_id": dossier_id, field: value}
            ),
            st.just(kind),
            st.just(field),
            dossier_ids,
            value,
        )
        for kind, field, value in [
            ("replace-dossier", "content", contents()),
            ("screen-dossier", "screening", shaped(inputs.Screening)),
            ("vote-preselection", "vote", shaped(inputs.Vote)),
            ("commission-study", "study", shaped(inputs.StudyOrder)),
            ("complete-study", "conclusions", shaped(inputs.StudyConclusions)),
            ("decide-dossier", "decision", shaped(inputs.FinalDecision)),
        ]
    ],
    st.builds(
        lambda dossier_id: COMMANDS.validate_python(
            {"type": "withdraw-dossier", "dossier_id": dossier_id}
        ),
        dossier_ids,
    ),
)


async def prepared_world() -> World:
    """An open call and one submitted dossier of Aerospace Valley (with Pégase as partner)."""
    world = World(IN_TIME)
    await world.handlers.execute(STATE, None, OpenCall(call=inputs.CallSpec(**platform_call())))
    submitted = await world.handlers.execute(
        LEAD,
        None,
        SubmitDossier(call_id="PF-2008", content=inputs.DossierContent(**dossier())),
    )
    documents = world.dossiers.documents
    documents[SUBMITTED] = documents.pop(submitted["body"]["dossier_id"])
    documents[SUBMITTED]["state"]["dossier_id"] = SUBMITTED
    return world


def snapshot(world: World) -> tuple[Any, Any, int]:
    return (
        copy.deepcopy(world.calls.documents),
        copy.deepcopy(world.dossiers.documents),
        len(world.published()),
    )


@settings(quick, max_examples=150)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(PRINCIPALS), st.none() | st.sampled_from(["k1", "k2"]), commands),
        min_size=1,
        max_size=6,
    ),
    after_deadline=st.booleans(),
)
async def test_each_command_is_refused_cleanly_or_applied_whole(
    steps: list[tuple[Principal, str | None, Command]], after_deadline: bool
) -> None:
    world = await prepared_world()
    if after_deadline:
        world.clock.set(DEADLINE + timedelta(days=1))
        await world.handlers.close_due_calls()
    for principal, key, command in steps:
        before = snapshot(world)
        outcome = await run(world, principal, key, command)
        event(f"{command.type}: {outcome if isinstance(outcome, int) else status_of(outcome)}")
        if isinstance(outcome, DomainError):
            assert status_of(outcome) in CLEAR_REFUSALS, outcome
            assert outcome.detail
            assert snapshot(world) == before, f"{command.type} refused but changed the store"
            continue
        assert outcome in {200, 201}
        repeat = key is not None and snapshot(world) == before
        assert len(changed_documents(before, world)) == 1 or repeat
        for doc in world.calls.documents.values():
            CallState.model_validate(doc["state"])
        for doc in world.dossiers.documents.values():
            DossierState.model_validate(doc["state"])


async def run(
    world: World, principal: Principal, key: str | None, command: Command
) -> int | DomainError:
    """The answer's status code, or the refusal."""
    try:
        answer = await world.handlers.execute(principal, key, command)
    except DomainError as error:
        return error
    return int(answer["status_code"])


def changed_documents(before: tuple[Any, Any, int], world: World) -> list[str]:
    calls, dossiers, _ = before
    return [
        *(i for i, doc in world.calls.documents.items() if calls.get(i) != doc),
        *(i for i, doc in world.dossiers.documents.items() if dossiers.get(i) != doc),
    ]
