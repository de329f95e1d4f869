"""Calls follows contracts' label decisions: the 2008 situation of the reference list, then each
decision of ``contracts.pole`` from its effective instant, applied once per event id; a dossier's
pôles are checked against that view (domain, handlers on in-memory aggregates, and the
``contracts.pole`` subscriber through FastStream's ``TestKafkaBroker``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from services.calls import commands
from services.calls.domain import inputs
from services.calls.domain.poles import PoleLabel, PoleLabels, follow
from services.calls.labels import TOPICS
from services.calls.settings import CallsSettings
from services.calls.tests.samples import dossier, platform_call
from services.calls.tests.world import World
from shared.auth import Principal
from shared.clock import PARIS
from shared.errors import Invalid
from shared.events.contracts import (
    PoleDelabelled,
    PoleLabelDecision,
    PoleLabelLapsed,
    PoleLabelled,
    PoleRenewed,
)
from shared.reference.poles import poles_by_id
from shared.service import build_runtime
from tests.support.kafka_in_memory import deliver

CIADT = datetime(2010, 5, 11, tzinfo=PARIS)
LAPSE = datetime(2010, 1, 1, tzinfo=PARIS)
STATE = Principal("dge", frozenset({"state"}))
PREFIX = "calls-labels."


def decision(model: type[PoleLabelDecision], pole_id: str, effective_at: datetime) -> Any:
    pole = poles_by_id()[pole_id]
    return model(
        pole_id=pole_id,
        pole_name=pole.name,
        region_codes=list(pole.region_codes),
        decided_on=effective_at.date(),
        effective_at=effective_at,
        reference="CIADT du 11 mai 2010",
    )


def labels_after(*decisions: PoleLabelDecision) -> PoleLabels:
    known: dict[str, PoleLabel] = {}
    for told in decisions:
        label = known.get(told.pole_id) or PoleLabel.initial(told.pole_id)
        known[told.pole_id] = follow(label, told).state
    return PoleLabels(known)


# the domain


def test_with_no_decision_the_2008_situation_holds_at_any_instant() -> None:
    none = PoleLabels()
    assert none.labelled_pole("aerospace-valley", datetime(2012, 1, 1, tzinfo=PARIS))
    assert none.labelled_pole("eau", datetime(2008, 11, 1, tzinfo=PARIS)) is None
    assert none.labelled_pole("eau", datetime(2010, 6, 1, tzinfo=PARIS)) is None
    assert none.labelled_pole("sporaltec", datetime(2010, 6, 1, tzinfo=PARIS))  # group 3
    assert none.labelled_pole("atlantis", datetime(2008, 11, 1, tzinfo=PARIS)) is None


def test_an_ecotech_pole_is_labelled_from_its_labelled_event_only() -> None:
    labels = labels_after(decision(PoleLabelled, "eau", CIADT))
    assert labels.labelled_pole("eau", CIADT - timedelta(seconds=1)) is None
    assert labels.labelled_pole("eau", CIADT) == poles_by_id()["eau"]


def test_a_group_3_pole_is_not_labelled_between_its_lapse_and_its_renewal() -> None:
    lapsed = decision(PoleLabelLapsed, "sporaltec", LAPSE)
    labels = labels_after(lapsed)
    assert labels.labelled_pole("sporaltec", LAPSE - timedelta(seconds=1))
    assert labels.labelled_pole("sporaltec", LAPSE) is None
    assert labels.labelled_pole("sporaltec", CIADT) is None
    renewed = labels_after(lapsed, decision(PoleRenewed, "sporaltec", CIADT))
    assert renewed.labelled_pole("sporaltec", CIADT - timedelta(seconds=1)) is None
    assert renewed.labelled_pole("sporaltec", CIADT)


def test_decisions_arriving_out_of_order_give_the_same_view() -> None:
    lapsed = decision(PoleLabelLapsed, "sporaltec", LAPSE)
    delabelled = decision(PoleDelabelled, "sporaltec", CIADT)
    assert labels_after(lapsed, delabelled) == labels_after(delabelled, lapsed)
    after = labels_after(delabelled, lapsed)
    assert after.labelled_pole("sporaltec", LAPSE - timedelta(days=1))
    assert after.labelled_pole("sporaltec", CIADT + timedelta(days=300)) is None


# the handlers and the subscriber


def call_of_2010() -> inputs.CallSpec:
    body = platform_call("PF-2010") | {
        "opens_at": datetime(2009, 12, 1, tzinfo=PARIS).isoformat(),
        "deadline": datetime(2010, 12, 31, tzinfo=PARIS).isoformat(),
    }
    return inputs.CallSpec.model_validate(body)


async def submit(world: World, lead: str, partners: tuple[str, ...] = ()) -> dict[str, Any]:
    content = inputs.DossierContent.model_validate(
        dossier(lead=lead, partners=partners, platform_name=f"Plate-forme {lead}")
    )
    principal = Principal(lead, frozenset({f"pole:{lead}"}))
    answer = await world.handlers.execute(
        principal, None, commands.SubmitDossier(call_id="PF-2010", content=content)
    )
    return answer


async def delivered(world: World, *events: tuple[PoleLabelDecision, str]) -> None:
    runtime = build_runtime(CallsSettings(auth_secret="s" * 32, topic_prefix=PREFIX))
    runtime.consume(TOPICS, world.handlers.labels.reactions())
    async with TestKafkaBroker(runtime.broker) as broker:
        for data, event_id in events:
            await deliver(broker, data, key=data.pole_id, topic_prefix=PREFIX, event_id=event_id)


@pytest.fixture
async def world() -> World:
    world = World(datetime(2010, 2, 1, tzinfo=PARIS))
    await world.handlers.execute(STATE, None, commands.OpenCall(call=call_of_2010()))
    return world


async def refused_field(world: World, lead: str, partners: tuple[str, ...] = ()) -> Any:
    with pytest.raises(Invalid) as refused:
        await submit(world, lead, partners)
    return refused.value.detail[0]["loc"]


async def test_an_ecotech_pole_leads_a_dossier_only_after_its_labelled_event(
    world: World,
) -> None:
    world.clock.set(CIADT + timedelta(hours=10))
    assert await refused_field(world, "eau") == ["body", "lead_pole_id"]
    await delivered(world, (decision(PoleLabelled, "eau", CIADT), "e-eau"))
    assert (await submit(world, "eau"))["status_code"] == 201
    assert await world.handlers.labels.labelled_pole("eau", CIADT)
    assert await world.handlers.labels.labelled_pole("eau", CIADT - timedelta(days=1)) is None


async def test_a_lapsed_group_3_pole_is_refused_until_renewed(world: World) -> None:
    await delivered(world, (decision(PoleLabelLapsed, "sporaltec", LAPSE), "e-lapse"))
    partners = ("sporaltec",)
    assert await refused_field(world, "aerospace-valley", partners) == [
        "body",
        "partner_pole_ids",
        0,
    ]
    await delivered(world, (decision(PoleRenewed, "sporaltec", CIADT), "e-renew"))
    assert await refused_field(world, "aerospace-valley", partners)  # before 11 May
    world.clock.set(CIADT)
    assert (await submit(world, "aerospace-valley", partners))["status_code"] == 201


async def test_a_redelivered_decision_is_applied_once(world: World) -> None:
    lapsed = decision(PoleLabelLapsed, "sporaltec", LAPSE)
    await delivered(world, (lapsed, "e-1"), (lapsed, "e-1"), (lapsed, "e-1"))
    await delivered(world, (lapsed, "e-1"))
    [view] = world.pole_labels.documents.values()
    assert [c["because"] for c in view["state"]["changes"]] == [
        "reference list",
        "contracts.pole.label-lapsed.v1",
    ]
    assert view["processed"] == [{"id": "event:e-1", "answer": {}}]
