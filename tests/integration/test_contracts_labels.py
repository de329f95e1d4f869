"""The group-3 labels lapse on the real broker and store: at 1 January 2010 00:00 (Paris) the
pôle clock raises one ``contracts.pole.label-lapsed.v1`` per group-3 pôle still reconfiguring,
once, even when the service restarts on the same database; the CIADT then renews or delabels."""

from __future__ import annotations

import asyncio

import pytest

from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import paris
from shared.clock import ManualClock
from shared.reference.poles import DELABELLED_2010, GROUP_3_2008, RENEWED_2010
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import TopicReader, cloud_event, eventually, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LAPSED = "contracts.pole.label-lapsed.v1"
READER = auth("integrator")


async def test_group_3_labels_lapse_once_across_restarts(isolation: Isolation) -> None:
    settings = isolation.settings(ContractsSettings, contracts_clock_seconds=0.1)
    clock = ManualClock(paris(2009, 12, 31, 23, 59, 59))
    async with serve(create_app(settings, clock=clock)) as client:
        await asyncio.sleep(0.5)  # a few passes of the pôle clock: nothing is due yet
        waiting = await client.get("/poles", params={"status": "reconfiguring"}, headers=READER)
        assert {p["pole_id"] for p in waiting.json()} == set(GROUP_3_2008)
        clock.set(paris(2010, 1, 1))

        async def lapsed() -> bool:
            found = await client.get("/poles", params={"status": "lapsed"}, headers=READER)
            return len(found.json()) == len(GROUP_3_2008)

        await eventually(lapsed)
    clock.set(paris(2010, 5, 11, 9))
    async with serve(create_app(settings, clock=clock)) as client:  # a restart, same database
        await asyncio.sleep(0.5)
        ciadt = {"decided_on": "2010-05-11", "reference": "CIADT du 11 mai 2010"}
        for pole_id, decision in ((RENEWED_2010[0], "renewed"), (DELABELLED_2010[0], "delabelled")):
            path = f"/poles/{pole_id}/label-decisions"
            body = {**ciadt, "decision": decision}
            answer = await client.post(path, json=body, headers=auth("state"))
            assert answer.status_code == 200, answer.text
        pole = (await client.get(f"/poles/{RENEWED_2010[0]}", headers=READER)).json()
        await read_events(
            isolation,
            "contracts.pole",
            lambda evs: len({e.id for e in evs}) >= len(GROUP_3_2008) + 2,
        )
    async with TopicReader([isolation.topic_prefix + "contracts.pole"]) as reader:
        everything = [cloud_event(record) for record in await reader.read_to_end()]
    # Nothing raised twice: one event per lapse and per decision. The relay publishes at least
    # once, so a service stopped between a publish and its release sends that event again at its
    # restart, under the same id (consumers keep the first); only the ids are counted.
    assert None not in everything  # contracts publishes CloudEvents only
    events = list({e.id: e for e in everything if e is not None}.values())
    assert len(events) == len(GROUP_3_2008) + 2
    lapses = [e for e in events if e.type == LAPSED]
    assert sorted(str(e.subject) for e in lapses) == sorted(GROUP_3_2008)
    assert {e.data["effective_at"] for e in lapses} == {"2010-01-01T00:00:00+01:00"}
    assert [c["status"] for c in pole["history"]] == [
        "labelled",
        "reconfiguring",
        "lapsed",
        "labelled",
    ]
