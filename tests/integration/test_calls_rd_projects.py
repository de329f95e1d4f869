"""An R&D project call (FUI) on the real broker and store: a project from its submission to its
selection (screening, the expert's evaluation, the decision with its financing plan), then
funding's refusal consumed from ``funding.financing`` into ``funding-refused``, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import RD_DEADLINE, RD_IN_TIME, project, rd_call, rd_plan
from shared.clock import ManualClock
from shared.cloudevents import CloudEvent
from shared.events.funding import FinancingRefused
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LEAD = auth("pole:aerospace-valley", subject="aerospace-valley")
STATE = auth("state", subject="dge")


def of(events: list[CloudEvent], dossier_id: str) -> list[str]:
    return [e.type for e in events if e.subject == dossier_id]


async def selected_project(client: httpx.AsyncClient, clock: ManualClock) -> str:
    opened = await client.post("/calls", json=rd_call(), headers=STATE)
    assert opened.status_code == 201, opened.text
    no_labels = await client.post(
        "/calls/FUI-2009-7/dossiers", json={**project(), "labels": []}, headers=LEAD
    )
    assert no_labels.status_code == 422
    assert "labels" in no_labels.text
    submitted = await client.post("/calls/FUI-2009-7/dossiers", json=project(), headers=LEAD)
    assert submitted.status_code == 201, submitted.text
    dossier_id = str(submitted.json()["dossier_id"])
    clock.set(RD_DEADLINE + timedelta(days=30))
    screened = await client.post(
        f"/dossiers/{dossier_id}/screening", json={"eligible": True}, headers=STATE
    )
    assert screened.status_code == 200, screened.text
    votes = await client.post(
        f"/dossiers/{dossier_id}/preselection-votes", json={"decision": "yes"}, headers=STATE
    )
    assert (votes.status_code, votes.json()["reason"]) == (409, "lifecycle")
    expertise = {"score": 16, "opinion": "Consortium équilibré, marché identifié"}
    evaluated = await client.post(
        f"/dossiers/{dossier_id}/evaluation", json=expertise, headers=STATE
    )
    assert (evaluated.status_code, evaluated.json()["status"]) == (200, "evaluated")
    too_much = {"selected": True, "state_grant_cents": 250_000_000}
    refused = await client.post(f"/dossiers/{dossier_id}/decision", json=too_much, headers=STATE)
    assert refused.status_code == 422, refused.text
    decision = {"selected": True, "state_grant_cents": 100_000_000, "financing_plan": rd_plan()}
    decided = await client.post(f"/dossiers/{dossier_id}/decision", json=decision, headers=STATE)
    assert (decided.status_code, decided.json()["status"]) == (200, "selected")
    return dossier_id


async def test_an_rd_project_from_submission_to_selection(isolation: Isolation) -> None:
    clock = ManualClock(RD_IN_TIME)
    async with serve(create_app(isolation.settings(CallsSettings), clock=clock)) as client:
        dossier_id = await selected_project(client, clock)
        events = await read_events(
            isolation,
            "calls.dossier",
            lambda evs: "calls.dossier.selected.v1" in of(evs, dossier_id),
        )
    assert of(events, dossier_id) == [
        "calls.dossier.submitted.v1",
        "calls.dossier.found-eligible.v1",
        "calls.dossier.evaluated.v1",
        "calls.dossier.selected.v1",
    ]
    evaluated = next(e for e in events if e.type == "calls.dossier.evaluated.v1")
    assert (evaluated.data["score"], evaluated.data["call_kind"]) == (16, "fui-rd")
    selected = next(e for e in events if e.type == "calls.dossier.selected.v1")
    assert selected.data["financing_plan"] == rd_plan()
    assert selected.data["project_key"] == "composites thermoplastiques"
    assert [m["identifier"] for m in selected.data["consortium"]] == [
        m["identifier"] for m in project()["consortium"]
    ]
    assert selected.data["state_grant_cents"] == 100_000_000


async def test_a_financing_refusal_is_consumed_into_funding_refused_once(
    isolation: Isolation,
) -> None:
    clock = ManualClock(RD_IN_TIME)
    async with serve(create_app(isolation.settings(CallsSettings), clock=clock)) as client:
        dossier_id = await selected_project(client, clock)
        shown: dict[str, Any] = (
            await client.get(f"/dossiers/{dossier_id}", headers=auth("operator"))
        ).json()
        facts = {
            "dossier_id": dossier_id,
            "call_id": "FUI-2009-7",
            "call_kind": "fui-rd",
            "pole_id": "aerospace-valley",
            "region_codes": shown["region_codes"],
            "platform_name": shown["content"]["platform_name"],
            "contact_email": shown["content"]["carrier"]["contact_email"],
        }
        refusal = FinancingRefused(
            **facts,
            financer="state",
            reason="over-yearly-ceiling",
            detail="2009 : plafond annuel de la ligne R&D atteint",
            refused_at=clock.now(),
        )
        event = await publish_event(isolation, refusal, key=dossier_id)
        await publish_event(isolation, refusal, key=dossier_id, event_id=event.id)

        async def moved() -> dict[str, Any] | None:
            read = await client.get(f"/dossiers/{dossier_id}", headers=LEAD)
            body: dict[str, Any] = read.json()
            return body if body["status"] == "funding-refused" else None

        dossier = await eventually(moved)
        events = await read_events(
            isolation,
            "calls.dossier",
            lambda evs: "calls.dossier.funding-refused.v1" in of(evs, dossier_id),
        )
        await asyncio.sleep(1.0)  # time for a wrongly doubled event to show
        events = await read_events(
            isolation,
            "calls.dossier",
            lambda evs: "calls.dossier.funding-refused.v1" in of(evs, dossier_id),
        )
    assert dossier["funding"]["reason"] == "over-yearly-ceiling"
    assert dossier["funding"]["financer"] == "state"
    assert dossier["funding"]["detail"] == refusal.detail
    assert of(events, dossier_id).count("calls.dossier.funding-refused.v1") == 1
    assert "calls.dossier.funded.v1" not in of(events, dossier_id)
    refused = next(e for e in events if e.type == "calls.dossier.funding-refused.v1")
    assert (refused.data["reason"], refused.data["financer"]) == ("over-yearly-ceiling", "state")
