"""Overdue events on the real store and broker fire once, even across a restart: the app raises
them, stops; a new app on the same database finds them flagged and raises nothing more."""

from __future__ import annotations

import asyncio

import pytest

from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import paris
from services.contracts.tests.http_flow import CONTRACT_ID, SIGNERS, open_for_signature, sign
from shared.clock import ManualClock
from shared.cloudevents import CloudEvent
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OVERDUE = "contracts.contract.signature-overdue.v1"
REPORT_OVERDUE = "contracts.contract.report-overdue.v1"
MISSED = "contracts.contract.milestone-missed.v1"


def count(events: list[CloudEvent], type_name: str) -> int:
    return sum(e.type == type_name and e.subject == CONTRACT_ID for e in events)


async def test_signature_overdue_fires_once_across_a_restart(isolation: Isolation) -> None:
    settings = isolation.settings(
        ContractsSettings, contracts_clock_seconds=0.1, metrics_refresh_seconds=0.1
    )
    clock = ManualClock(paris(2009, 6, 30, 23, 59, 59))
    async with serve(create_app(settings, clock=clock)) as client:
        await open_for_signature(client)
        assert (await sign(client, "state")).status_code == 200
        await asyncio.sleep(0.3)
        clock.set(paris(2009, 7, 1))
        events = await read_events(
            isolation, "contracts.contract", lambda evs: count(evs, OVERDUE) == 1
        )
        overdue = next(e for e in events if e.type == OVERDUE)
        assert "state" not in overdue.data["unsigned_party_ids"]
        assert len(overdue.data["unsigned_party_ids"]) == 4
        await asyncio.sleep(0.3)
        metrics = (await client.get("/metrics", follow_redirects=True)).text
        assert "poles_contract_signatures_overdue 1.0" in metrics
        dashboard = await client.get("/dashboards/signatures", headers=auth("operator"))
        assert dashboard.json()["totals"]["signature_overdue"] == 1

    clock.set(paris(2009, 7, 6))
    async with serve(create_app(settings, clock=clock)) as client:
        await asyncio.sleep(0.6)  # several passes of the clock
        for party_id in list(SIGNERS)[1:]:
            assert (await sign(client, party_id)).status_code == 200
        events = await read_events(
            isolation,
            "contracts.contract",
            lambda evs: count(evs, "contracts.contract.signed.v1") == 1,
        )
    assert count(events, OVERDUE) == 1


async def test_report_overdue_and_milestone_missed_fire_once_across_a_restart(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(ContractsSettings, contracts_clock_seconds=0.1)
    clock = ManualClock(paris(2009, 6, 17))
    async with serve(create_app(settings, clock=clock)) as client:
        await open_for_signature(client)
        for party_id in SIGNERS:
            assert (await sign(client, party_id)).status_code == 200
        clock.set(paris(2010, 2, 1))
        events = await read_events(
            isolation,
            "contracts.contract",
            lambda evs: count(evs, REPORT_OVERDUE) == 1 and count(evs, MISSED) == 1,
        )
        assert next(e for e in events if e.type == REPORT_OVERDUE).data["period"] == 2009
        assert next(e for e in events if e.type == MISSED).data["milestone_id"] == "M1"

    clock.set(paris(2010, 2, 2))
    async with serve(create_app(settings, clock=clock)) as client:
        await asyncio.sleep(0.6)
        marker = await client.post(
            f"/contracts/{CONTRACT_ID}/milestones/M2/done", headers=SIGNERS["pole:aerospace-valley"]
        )
        assert marker.status_code == 200
        events = await read_events(
            isolation,
            "contracts.contract",
            lambda evs: count(evs, "contracts.contract.milestone-completed.v1") == 1,
        )
    assert count(events, REPORT_OVERDUE) == 1
    assert count(events, MISSED) == 1
