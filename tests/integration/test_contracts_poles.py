"""The reference list loaded at startup and a label decision of 11 May 2010 through the API:
an ecotech pôle gets no contract before its labelling and may draft one after."""

from __future__ import annotations

import pytest

from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import paris
from shared.clock import ManualClock
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

POLE = "energivie"


async def test_an_ecotech_pole_may_contract_once_labelled(isolation: Isolation) -> None:
    clock = ManualClock(paris(2010, 3, 1))
    async with serve(create_app(isolation.settings(ContractsSettings), clock=clock)) as client:
        poles = (await client.get("/poles", headers=auth("integrator"))).json()
        assert len(poles) == 77
        assert (await client.get(f"/poles/{POLE}", headers=auth("cdc"))).json()["status"] == (
            "candidate"
        )
        parties = [
            {"party_id": f"pole:{POLE}", "name": "Energivie", "contact_email": "e@example.org"},
            {"party_id": "state", "name": "État", "contact_email": "s@example.org"},
            {"party_id": "region:42", "name": "Région Alsace", "contact_email": "r@example.org"},
        ]
        draft = {
            "pole_id": POLE,
            "period_start_year": 2010,
            "period_end_year": 2012,
            "parties": parties,
        }
        early = await client.post("/contracts", json=draft, headers=auth(f"pole:{POLE}"))
        assert early.status_code == 409

        decision = {
            "decision": "labelled",
            "decided_on": "2010-05-11",
            "reference": "CIADT of 11 May 2010",
        }
        path = f"/poles/{POLE}/label-decisions"
        assert (
            await client.post(path, json=decision, headers=auth(f"pole:{POLE}"))
        ).status_code == 403
        response = await client.post(path, json=decision, headers=auth("state"))
        assert response.status_code == 200, response.text
        assert (await client.post(path, json=decision, headers=auth("state"))).status_code == 409

        clock.set(paris(2010, 6, 1))
        drafted = await client.post("/contracts", json=draft, headers=auth(f"pole:{POLE}"))
        assert drafted.status_code == 201, drafted.text
        assert drafted.json()["contract_id"] == f"contract:{POLE}:2010"
        events = await read_events(
            isolation, "contracts.pole", lambda evs: any(e.subject == POLE for e in evs)
        )
        labelled = next(e for e in events if e.subject == POLE)
        assert labelled.type == "contracts.pole.labelled.v1"
        assert labelled.data["region_codes"] == ["42"]
