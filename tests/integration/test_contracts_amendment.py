"""An amendment on the real store and broker: the 2012 extension, new version, both versions'
targets readable, and a report validated once."""

from __future__ import annotations

import pytest

from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import POLE, paris, terms_json
from services.contracts.tests.http_flow import (
    CONTRACT_ID,
    POLE_AUTH,
    SIGNERS,
    open_for_signature,
    sign,
)
from shared.clock import ManualClock
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STATE = auth("state", subject="dgcis")
CORRESPONDENT = auth(f"correspondent:{POLE}", subject="correspondent")


async def test_the_2012_extension_keeps_each_versions_targets(isolation: Isolation) -> None:
    clock = ManualClock(paris(2009, 6, 17))
    async with serve(create_app(isolation.settings(ContractsSettings), clock=clock)) as client:
        await open_for_signature(client)
        for party_id in SIGNERS:
            assert (await sign(client, party_id)).status_code == 200

        clock.set(paris(2010, 1, 10))
        report = {"period": 2009, "values": [{"indicator_id": "I1", "value": 375}]}
        response = await client.post(
            f"/contracts/{CONTRACT_ID}/reports", json=report, headers=POLE_AUTH
        )
        assert response.status_code == 200, response.text
        hidden = await client.get(f"/contracts/{CONTRACT_ID}", headers=auth("cdc"))
        assert hidden.json()["reports"] == []
        validation = f"/contracts/{CONTRACT_ID}/reports/2009/validation"
        assert (await client.post(validation, headers=STATE)).status_code == 403
        assert (await client.post(validation, headers=CORRESPONDENT)).status_code == 200
        again = await client.post(validation, headers=CORRESPONDENT)
        assert again.status_code == 409
        assert "validated once" in again.json()["detail"]

        clock.set(paris(2010, 6, 1))
        terms = terms_json(end_year=2012)
        terms["programmes"][0]["indicators"][0]["targets"]["2009"] = 400
        amendment = {
            "reason": "extension of phase 2 to 2012 (CIADT of 11 May 2010)",
            "period_end_year": 2012,
            "terms": terms,
        }
        refused = await client.post(
            f"/contracts/{CONTRACT_ID}/amendments", json=amendment, headers=POLE_AUTH
        )
        assert refused.status_code == 403
        response = await client.post(
            f"/contracts/{CONTRACT_ID}/amendments", json=amendment, headers=STATE
        )
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 2

        edit = await client.put(
            f"/contracts/{CONTRACT_ID}/terms", json={"parties": [], "terms": terms}, headers=STATE
        )
        assert edit.status_code in (409, 422)

        async def target_2009(version: int) -> object:
            view = await client.get(
                f"/contracts/{CONTRACT_ID}/progress",
                params={"version": version},
                headers=auth("region:82"),
            )
            years = view.json()["programmes"][0]["indicators"][0]["years"]
            return next((y["target"], y["actual"]) for y in years if y["year"] == 2009)

        assert await target_2009(1) == (350, 375)
        assert await target_2009(2) == (400, 375)
        events = await read_events(
            isolation,
            "contracts.contract",
            lambda evs: any(e.type == "contracts.contract.amended.v1" for e in evs),
        )
        amended = next(e for e in events if e.type == "contracts.contract.amended.v1")
        assert amended.data["version"] == 2
        assert amended.data["period_end_year"] == 2012
        assert len(amended.data["financing"]) == 16
