"""The handlers and the clock job on in-memory aggregates: what a command answers, what it saves
(state, history, ``next_clock_at``), what it queues for the relay, and what a repeat or a
refusal changes (nothing)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from services.contracts.clockwork import ContractMetrics, fire_due, fire_lapses
from services.contracts.domain import signatures
from services.contracts.domain.terms import Roadmap
from services.contracts.tests.builders import (
    ALL_PARTY_IDS,
    POLE,
    paris,
    roadmap_json,
    roles_for,
)
from services.contracts.tests.in_memory import InMemory, command, draft, draft_request, in_memory
from shared.decision import Answer
from shared.errors import Conflict, Invalid, NotFound
from shared.events.contracts import (
    ContractDrafted,
    PoleLabelLapsed,
    PoleLabelled,
    SignatureOverdue,
)
from shared.reference.poles import GROUP_3_2008, RENEWED_2010, all_poles

CONTRACT_ID = f"contract:{POLE}:2009"
OWN_POLE = command(f"pole:{POLE}")
ECOTECH = next(p.id for p in all_poles() if p.ecotech)


async def open_for_signature(service: InMemory) -> None:
    await draft(service)
    roadmap = Roadmap.model_validate(roadmap_json())
    await service.handlers.change(
        OWN_POLE,
        CONTRACT_ID,
        lambda c, now: signatures.annex_roadmap(c, roadmap, OWN_POLE.roles, now),
    )
    await service.handlers.change(
        OWN_POLE, CONTRACT_ID, lambda c, now: signatures.open_for_signature(c, OWN_POLE.roles, now)
    )


async def sign(service: InMemory, party_id: str, key: str | None = None) -> Answer:
    roles = roles_for(party_id)
    return await service.handlers.change(
        command(*roles, key=key),
        CONTRACT_ID,
        lambda c, now: signatures.sign(c, party_id, "Signatory", roles, now),
    )


async def test_a_draft_answers_saves_its_history_and_queues_its_event_as_the_service() -> None:
    service = await in_memory(paris(2009, 3, 2))

    answer = await draft(service)

    assert answer == {
        "contract_id": CONTRACT_ID,
        "status": "drafted",
        "version": 1,
        "events": [ContractDrafted.type_name],
    }
    [entry] = service.contract_store.published
    assert (entry.type, entry.source, entry.key) == (
        ContractDrafted.type_name,
        "/poles/contracts",
        CONTRACT_ID,
    )
    state = service.contract_store.documents[CONTRACT_ID]["state"]
    assert [h["event_id"] for h in state["history"]] == [entry.id]
    assert state["next_clock_at"] == paris(2009, 7, 1)
    assert state["signature_deadline"] == "2009-06-30T23:59:59+02:00"  # the JSON form


async def test_one_contract_per_pole_and_period() -> None:
    service = await in_memory(paris(2009, 3, 2))
    first = await draft(service, key="draft-1")

    assert await draft(service, key="draft-1") == first
    with pytest.raises(Conflict, match="exists: one contract per pôle and period"):
        await draft(service, key="draft-2")
    with pytest.raises(Conflict, match=f"{CONTRACT_ID} already covers part of this period"):
        await draft(service, start_year=2010)
    assert len(service.contract_store.published) == 1


async def test_a_draft_names_a_pole_of_the_reference_list_that_may_contract() -> None:
    service = await in_memory(paris(2009, 3, 2))
    with pytest.raises(Invalid) as error:
        await service.handlers.draft(command("state"), replace(draft_request(), pole_id="atlantis"))
    assert error.value.detail[0]["loc"] == ["body", "pole_id"]
    with pytest.raises(Conflict, match="may not receive a contract now"):
        await service.handlers.draft(command("state"), replace(draft_request(), pole_id=ECOTECH))


async def test_a_repeated_signature_gets_its_first_answer_and_raises_nothing_new() -> None:
    service = await in_memory(paris(2009, 3, 2))
    await open_for_signature(service)
    queued = len(service.contract_store.published)

    first = await sign(service, "region:73", key="sign-73")
    again = await sign(service, "region:73", key="sign-73")

    assert first == again
    assert first["events"] == ["contracts.contract.party-signed.v1"]
    assert len(service.contract_store.published) == queued + 1
    with pytest.raises(Conflict, match="already signed"):
        await sign(service, "region:73")


async def test_the_last_signature_activates_a_contract_whose_period_has_begun() -> None:
    service = await in_memory(paris(2009, 3, 2))
    await open_for_signature(service)
    for party_id in ALL_PARTY_IDS:
        answer = await sign(service, party_id)
    assert answer["status"] == "active"
    assert answer["events"][-2:] == [
        "contracts.contract.signed.v1",
        "contracts.contract.activated.v1",
    ]
    history = service.contract_store.documents[CONTRACT_ID]["state"]["history"]
    assert [h["event_id"] for h in history] == [e.id for e in service.contract_store.published]


async def test_a_missing_contract_or_pole_is_not_found_by_its_id() -> None:
    service = await in_memory(paris(2009, 3, 2))
    with pytest.raises(NotFound, match=r"^no contract contract:nowhere:2009$"):
        await service.handlers.change(
            OWN_POLE,
            "contract:nowhere:2009",
            lambda c, now: signatures.open_for_signature(c, OWN_POLE.roles, now),
        )
    with pytest.raises(NotFound, match=r"^no pôle atlantis$"):
        await service.handlers.decide_label(
            command("state"), "atlantis", "labelled", paris(2010, 5, 11).date(), "CIADT"
        )


async def test_a_label_decision_is_taken_once_and_published_on_the_pole() -> None:
    service = await in_memory(paris(2010, 5, 11))
    state = command("state", key="ciadt")

    answer = await service.handlers.decide_label(
        state, ECOTECH, "labelled", paris(2010, 5, 11).date(), "CIADT of 11 May 2010"
    )

    assert answer == {"pole_id": ECOTECH, "status": "labelled", "events": [PoleLabelled.type_name]}
    assert (
        await service.handlers.decide_label(
            state, ECOTECH, "labelled", paris(2010, 5, 11).date(), "CIADT of 11 May 2010"
        )
        == answer
    )
    with pytest.raises(Conflict, match="cannot be labelled"):
        await service.handlers.decide_label(
            command("state"), ECOTECH, "labelled", paris(2010, 5, 11).date(), "again"
        )
    [entry] = service.pole_store.published
    assert (entry.source, entry.key, entry.topic) == ("/poles/contracts", ECOTECH, "contracts.pole")


async def test_the_clock_raises_a_signature_overdue_once() -> None:
    service = await in_memory(paris(2009, 6, 30, 23, 59, 59))
    await open_for_signature(service)
    metrics = ContractMetrics(CollectorRegistry())
    assert await fire_due(service.contracts, service.due, metrics) == 0

    service.clock.set(paris(2009, 7, 1))
    assert await fire_due(service.contracts, service.due, metrics) == 1
    assert await fire_due(service.contracts, service.due, metrics) == 0

    overdue = [e for e in service.contract_store.published if e.type == SignatureOverdue.type_name]
    assert len(overdue) == 1
    assert metrics.clock_events.labels(SignatureOverdue.type_name)._value.get() == 1
    state = service.contract_store.documents[CONTRACT_ID]["state"]
    assert state["next_clock_at"] is None
    assert state["history"][-1]["type"] == SignatureOverdue.type_name


async def test_the_pole_clock_lapses_the_group_3_labels_once_on_1_january_2010() -> None:
    service = await in_memory(paris(2009, 12, 31, 23, 59, 59))
    metrics = ContractMetrics(CollectorRegistry())
    assert await fire_lapses(service.poles, service.lapsing, metrics) == 0
    await service.handlers.decide_label(
        command("state"), RENEWED_2010[0], "renewed", paris(2009, 12, 1).date(), "early renewal"
    )
    service.clock.set(paris(2010, 1, 1))
    assert await fire_lapses(service.poles, service.lapsing, metrics) == 12
    assert (
        await fire_lapses(service.poles, service.lapsing, metrics) == 0
    )  # a restart, another pass
    lapsed = [e for e in service.pole_store.published if e.type == PoleLabelLapsed.type_name]
    assert len(lapsed) == 12
    assert {e.key for e in lapsed} == set(GROUP_3_2008) - {RENEWED_2010[0]}
    assert metrics.clock_events.labels(PoleLabelLapsed.type_name)._value.get() == 12
    statuses = {p: service.pole_store.documents[p]["state"]["status"] for p in GROUP_3_2008}
    assert sorted(statuses.values()) == ["labelled"] + ["lapsed"] * 12
