"""The call's window on the real broker and store: the server's clock decides, and the call
closes by itself at its deadline."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import DEADLINE, IN_TIME, dossier, platform_call
from shared.clock import ManualClock
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

POLE = auth("pole:aerospace-valley", subject="aerospace-valley")


async def test_a_submission_stamped_at_the_deadline_is_late_and_changes_nothing(
    isolation: Isolation,
) -> None:
    clock = ManualClock(IN_TIME)
    settings = isolation.settings(CallsSettings, metrics_refresh_seconds=0.1)
    async with serve(create_app(settings, clock=clock)) as client:
        assert (
            await client.post("/calls", json=platform_call(), headers=auth("state"))
        ).status_code == 201
        clock.set(DEADLINE - timedelta(seconds=1))
        in_time = await client.post("/calls/PF-2008/dossiers", json=dossier(), headers=POLE)
        assert in_time.status_code == 201, in_time.text
        clock.set(DEADLINE)
        late = await client.post(
            "/calls/PF-2008/dossiers", json=dossier(platform_name="Autre"), headers=POLE
        )
        assert late.status_code == 409
        assert "deadline" in late.json()["detail"]
        listed = await client.get("/calls/PF-2008/dossiers", headers=auth("operator"))
        assert [d["dossier_id"] for d in listed.json()] == [in_time.json()["dossier_id"]]
        gauge = 'poles_dossiers{call_id="PF-2008",status="submitted"} 1.0'

        async def gauge_shows_it() -> bool:
            return gauge in (await client.get("/metrics")).text

        await eventually(gauge_shows_it, seconds=5)
        events = await read_events(isolation, "calls.dossier", lambda evs: len(evs) >= 1)
        await asyncio.sleep(0.5)  # time for a wrongly accepted late dossier to show
        events = await read_events(isolation, "calls.dossier", lambda evs: len(evs) >= 1)
    assert [(e.type, e.data["platform_name"]) for e in events] == [
        ("calls.dossier.submitted.v1", dossier()["platform_name"])
    ]
    assert events[0].data["submitted_at"] == "2008-12-01T22:59:59Z"  # a second before DEADLINE


async def test_the_call_closes_by_itself_once_at_its_deadline(isolation: Isolation) -> None:
    clock = ManualClock(IN_TIME)
    settings = isolation.settings(CallsSettings, calls_close_check_seconds=0.1)
    async with serve(create_app(settings, clock=clock)) as client:
        opened = await client.post("/calls", json=platform_call("PF-CLOSE"), headers=auth("cdc"))
        assert opened.status_code == 201
        clock.set(DEADLINE)
        closed = await read_events(
            isolation,
            "calls.call",
            lambda evs: any(
                e.type == "calls.call.closed.v1" and e.subject == "PF-CLOSE" for e in evs
            ),
        )
        call = await client.get("/calls/PF-CLOSE", headers=auth("operator"))
        assert call.json()["status"] == "closed"
        clock.advance(timedelta(days=1))
        await asyncio.sleep(0.5)  # several more checks, which must not close it again
        events = await read_events(isolation, "calls.call", lambda evs: len(evs) >= len(closed))
    closings = [e for e in events if e.type == "calls.call.closed.v1" and e.subject == "PF-CLOSE"]
    assert len(closings) == 1
    assert closings[0].data["closed_at"] == "2008-12-01T23:00:00Z"  # DEADLINE, midnight in Paris


async def test_the_service_documents_its_api_and_its_events(isolation: Isolation) -> None:
    async with serve(create_app(isolation.settings(CallsSettings))) as client:
        openapi = (await client.get("/openapi.json")).json()
        asyncapi = (await client.get("/asyncapi.json")).json()
        ready = await client.get("/health/ready")
    assert "/calls/{call_id}/dossiers" in openapi["paths"]
    assert any("calls.command" in name for name in asyncapi["channels"])
    assert ready.status_code == 200


async def test_a_body_over_the_limit_is_refused_with_413_and_changes_nothing(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(CallsSettings, max_body_bytes=2048)
    async with serve(create_app(settings, clock=ManualClock(IN_TIME))) as client:
        await client.post("/calls", json=platform_call(), headers=auth("state"))
        huge = dossier(platform_name="x" * 150)
        huge["offer"]["equipment"] = ["autoclave " * 10] * 40
        refused = await client.post("/calls/PF-2008/dossiers", json=huge, headers=POLE)
        listed = await client.get("/calls/PF-2008/dossiers", headers=auth("operator"))
    assert refused.status_code == 413
    assert listed.json() == []
