"""Dossiers on the real broker and store: a replacement, a duplicate command (HTTP and Kafka),
the joint pre-selection vote by vote in either order, and what each reader sees."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import DEADLINE, IN_TIME, OTHER_SIRET, dossier, platform_call
from shared.clock import ManualClock
from shared.cloudevents import CloudEvent
from tests.support.infra import Isolation, auth, serve, token
from tests.support.kafka import publish_raw, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LEAD = auth("pole:aerospace-valley", subject="aerospace-valley")


def of(events: list[CloudEvent], dossier_id: str) -> list[str]:
    return [e.type for e in events if e.subject == dossier_id]


async def open_and_submit(client: httpx.AsyncClient, **changes: Any) -> str:
    if (await client.get("/calls/PF-2008", headers=auth("operator"))).status_code == 404:
        opened = await client.post("/calls", json=platform_call(), headers=auth("state"))
        assert opened.status_code == 201, opened.text
    response = await client.post("/calls/PF-2008/dossiers", json=dossier(**changes), headers=LEAD)
    assert response.status_code == 201, response.text
    return str(response.json()["dossier_id"])


async def test_a_replacement_is_a_new_version_of_the_same_dossier(isolation: Isolation) -> None:
    clock = ManualClock(IN_TIME)
    async with serve(create_app(isolation.settings(CallsSettings), clock=clock)) as client:
        dossier_id = await open_and_submit(client)
        clock.advance(timedelta(days=1))
        body = dossier(investment_cents=400_000_000)
        replaced = await client.put(f"/dossiers/{dossier_id}", json=body, headers=LEAD)
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["version"] == 2
        partner = await client.put(
            f"/dossiers/{dossier_id}", json=body, headers=auth("pole:pegase")
        )
        assert partner.status_code == 403
        stranger = await client.get(f"/dossiers/{dossier_id}", headers=auth("pole:minalogic"))
        assert stranger.status_code == 404
        shown = (await client.get(f"/dossiers/{dossier_id}", headers=auth("region:93"))).json()
        assert shown["content"]["requested"]["investment_cents"] == 400_000_000
        events = await read_events(
            isolation, "calls.dossier", lambda evs: len(of(evs, dossier_id)) >= 2
        )
        history = (await client.get(f"/dossiers/{dossier_id}/history", headers=LEAD)).json()
    replacement = next(e for e in events if e.type == "calls.dossier.replaced.v1")
    assert replacement.data["version"] == 2
    assert replacement.data["requested_total_cents"] == 475_000_000
    assert replacement.data["receipt_number"] == "PF-2008-0001"
    assert [entry["event_id"] for entry in history] == [e.id for e in events]
    kept = {"event_id", "type", "time", "trace_id", "data"}
    assert [set(entry) for entry in history] == [kept] * 2
    assert [entry["trace_id"] for entry in history] == [None, None]  # this test traces nothing
    assert [entry["data"] for entry in history] == [e.data for e in events]


def command(command_id: str, **fields: Any) -> bytes:
    return orjson.dumps({"command_id": command_id, "type": "submit-dossier", **fields})


def bearer(*roles: str) -> list[tuple[str, bytes]]:
    return [("authorization", f"Bearer {token(*roles, subject='aerospace-valley')}".encode())]


def answers_to(events: list[CloudEvent], command_id: str) -> list[CloudEvent]:
    return [e for e in events if e.data.get("command_id") == command_id]


async def test_a_duplicate_command_answers_the_same_and_emits_nothing_new(
    isolation: Isolation,
) -> None:
    clock = ManualClock(IN_TIME)
    commands = isolation.topic_prefix + "calls.command"
    async with serve(create_app(isolation.settings(CallsSettings), clock=clock)) as client:
        await client.post("/calls", json=platform_call(), headers=auth("state"))
        headers = {**LEAD, "Idempotency-Key": "dossier-1"}
        first = await client.post("/calls/PF-2008/dossiers", json=dossier(), headers=headers)
        clock.advance(timedelta(minutes=5))
        second = await client.post("/calls/PF-2008/dossiers", json=dossier(), headers=headers)
        assert (second.status_code, second.json()) == (first.status_code, first.json())

        by_kafka = command("cmd-2", call_id="PF-2008", content=dossier(siret=OTHER_SIRET))
        for _ in range(2):
            await publish_raw(commands, by_kafka, b"cmd-2", bearer("pole:aerospace-valley"))
        results = await read_events(
            isolation, "calls.command-result", lambda evs: len(answers_to(evs, "cmd-2")) >= 2
        )
        listed = await client.get("/calls/PF-2008/dossiers", headers=auth("operator"))
        ids = {d["dossier_id"] for d in listed.json()}

        def mine(events: list[CloudEvent]) -> list[CloudEvent]:
            return [e for e in events if e.subject in ids]

        await read_events(isolation, "calls.dossier", lambda evs: len(mine(evs)) >= 2)
        await asyncio.sleep(0.5)  # time for a wrongly doubled event to show
        events = mine(
            await read_events(isolation, "calls.dossier", lambda evs: len(mine(evs)) >= 2)
        )
    assert len(ids) == 2
    assert [e.type for e in events] == ["calls.dossier.submitted.v1"] * 2
    results = answers_to(results, "cmd-2")
    assert {e.type for e in results} == {"calls.command.accepted.v1"}
    assert results[0].id == results[1].id  # the same answer, sent again
    assert results[0].data["answer"]["receipt_number"] == "PF-2008-0002"


@pytest.mark.parametrize("first", ["state", "cdc"])
async def test_the_joint_preselection_arrives_vote_by_vote(
    isolation: Isolation, first: str
) -> None:
    second = "cdc" if first == "state" else "state"
    clock = ManualClock(IN_TIME)
    async with serve(create_app(isolation.settings(CallsSettings), clock=clock)) as client:
        dossier_id = await open_and_submit(client, platform_name=f"Plate-forme {first}")
        clock.set(DEADLINE + timedelta(days=10))
        screened = await client.post(
            f"/dossiers/{dossier_id}/screening", json={"eligible": True}, headers=auth(first)
        )
        assert screened.status_code == 200, screened.text
        vote = f"/dossiers/{dossier_id}/preselection-votes"
        one = await client.post(vote, json={"decision": "yes"}, headers=auth(first))
        assert one.json()["status"] == "eligible"
        after_one = await read_events(
            isolation, "calls.dossier", lambda evs: len(of(evs, dossier_id)) >= 3
        )
        assert of(after_one, dossier_id)[-1] == "calls.dossier.preselection-vote.v1"
        two = await client.post(vote, json={"decision": "yes"}, headers=auth(second))
        assert two.json()["status"] == "preselected"
        events = await read_events(
            isolation, "calls.dossier", lambda evs: len(of(evs, dossier_id)) >= 5
        )
    votes = [
        e for e in events if e.subject == dossier_id and e.type.endswith("preselection-vote.v1")
    ]
    assert [e.data["voter"] for e in votes] == [first, second]
    assert of(events, dossier_id)[-1] == "calls.dossier.preselected.v1"


async def test_a_kafka_command_is_rejected_with_the_http_reason(isolation: Isolation) -> None:
    commands = isolation.topic_prefix + "calls.command"
    async with serve(
        create_app(isolation.settings(CallsSettings), clock=ManualClock(DEADLINE))
    ) as client:
        await client.post("/calls", json=platform_call(), headers=auth("state"))
        late = command("late-1", call_id="PF-2008", content=dossier())
        await publish_raw(commands, late, None, bearer("pole:aerospace-valley"))
        await publish_raw(commands, command("anon-1", call_id="PF-2008", content=dossier()))
        await publish_raw(commands, command("bad-1", call_id="PF-2008"), None, bearer("pole:x"))
        results = await read_events(
            isolation,
            "calls.command-result",
            lambda evs: all(answers_to(evs, c) for c in ("late-1", "anon-1", "bad-1")),
        )
        metrics = (await client.get("/metrics")).text
    answers = {e.data["command_id"]: e.data for e in results}
    assert (answers["late-1"]["status_code"], answers["late-1"]["reason"]) == (409, "window-closed")
    assert answers["anon-1"]["status_code"] == 401
    assert answers["bad-1"]["status_code"] == 422
    assert answers["bad-1"]["detail"][0]["loc"] == ["body", "submit-dossier", "content"]
    assert 'poles_commands_rejected_total{reason="window-closed"} 1.0' in metrics
