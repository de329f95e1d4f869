"""Calls follows contracts' label decisions on the real broker and store: both services run on
the same topics; calls refuses an ecotech pôle's dossier until contracts' PoleLabelled reaches it,
and a group-3 pôle's once contracts' clock has lapsed its label."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from services.calls.app import create_app as calls_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import dossier, platform_call
from services.contracts.app import create_app as contracts_app
from services.contracts.settings import ContractsSettings
from shared.clock import PARIS, ManualClock
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ECOTECH = "eau"
GROUP_3 = "sporaltec"


def call_of_2010() -> dict[str, Any]:
    return platform_call("PF-2010") | {
        "opens_at": datetime(2009, 12, 1, tzinfo=PARIS).isoformat(),
        "deadline": datetime(2010, 12, 31, tzinfo=PARIS).isoformat(),
    }


async def submit(calls: httpx.AsyncClient, lead: str, partners: tuple[str, ...] = ()) -> int:
    body = dossier(lead=lead, partners=partners, platform_name=f"Plate-forme {lead} {partners}")
    headers = auth(f"pole:{lead}", subject=lead)
    return (await calls.post("/calls/PF-2010/dossiers", json=body, headers=headers)).status_code


async def test_calls_follows_the_lapse_and_the_labelling_that_contracts_publish(
    isolation: Isolation,
) -> None:
    clock = ManualClock(datetime(2009, 12, 31, 12, tzinfo=PARIS))
    settings = isolation.settings(ContractsSettings, contracts_clock_seconds=0.1)
    async with (
        serve(contracts_app(settings, clock=clock)) as contracts,
        serve(calls_app(isolation.settings(CallsSettings), clock=clock)) as calls,
    ):
        opened = await calls.post("/calls", json=call_of_2010(), headers=auth("state"))
        assert opened.status_code == 201, opened.text
        assert await submit(calls, "aerospace-valley", (GROUP_3,)) == 201
        assert await submit(calls, ECOTECH) == 422

        clock.set(datetime(2010, 1, 1, 0, 0, 1, tzinfo=PARIS))  # the label of group 3 lapses

        async def refused() -> bool:
            return await submit(calls, "pegase", (GROUP_3,)) == 422

        await eventually(refused)

        clock.set(datetime(2010, 5, 11, 10, tzinfo=PARIS))
        ciadt = {"decided_on": "2010-05-11", "reference": "CIADT du 11 mai 2010"}
        for pole_id, decision in ((ECOTECH, "labelled"), (GROUP_3, "delabelled")):
            path = f"/poles/{pole_id}/label-decisions"
            answer = await contracts.post(
                path, json={**ciadt, "decision": decision}, headers=auth("state")
            )
            assert answer.status_code == 200, answer.text

        async def accepted() -> bool:
            return await submit(calls, ECOTECH) == 201

        await eventually(accepted)
        assert await submit(calls, "minalogic", (GROUP_3,)) == 422
