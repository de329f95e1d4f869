"""Signatures on the real broker and store: any order, a duplicate, and "contract signed"
reaching the topic with what funding needs."""

from __future__ import annotations

import pytest

from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import paris, terms_json
from services.contracts.tests.http_flow import CONTRACT_ID, SIGNERS, open_for_signature, sign
from shared.clock import ManualClock
from shared.cloudevents import CloudEvent
from shared.events.contracts import ContractSigned
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SIGNED = "contracts.contract.signed.v1"
PARTY_SIGNED = "contracts.contract.party-signed.v1"


def of(events: list[CloudEvent], type_name: str) -> list[CloudEvent]:
    return [e for e in events if e.type == type_name and e.subject == CONTRACT_ID]


async def test_parties_sign_in_any_order_once_each_and_funding_gets_contract_signed(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(ContractsSettings)
    async with serve(create_app(settings, clock=ManualClock(paris(2009, 3, 2)))) as client:
        await open_for_signature(client)
        order = ["region:72", "department:31", "pole:aerospace-valley", "region:73", "state"]
        for party_id in order[:3]:
            response = await sign(client, party_id, key=f"sign-{party_id}")
            assert response.status_code == 200, response.text
        again = await sign(client, "region:72", key="sign-region:72")
        assert again.status_code == 200  # same key: the stored answer, nothing new
        duplicate = await sign(client, "region:72")
        assert duplicate.status_code == 409
        assert "already signed" in duplicate.json()["detail"]
        refused = await client.post(
            f"/contracts/{CONTRACT_ID}/signatures",
            json={"party_id": "state", "signatory_name": "X"},
            headers=SIGNERS["region:73"],
        )
        assert refused.status_code == 403
        for party_id in order[3:]:
            response = await sign(client, party_id)
            assert response.status_code == 200, response.text
        assert response.json()["status"] == "active", response.json()

        events = await read_events(
            isolation, "contracts.contract", lambda evs: bool(of(evs, SIGNED))
        )
        assert len(of(events, PARTY_SIGNED)) == 5
        assert [e.data["party_id"] for e in of(events, PARTY_SIGNED)] == order
        signed = ContractSigned.model_validate(of(events, SIGNED)[0].data)
        assert signed.contract_id == CONTRACT_ID
        assert signed.pole_id == "aerospace-valley"
        assert signed.region_codes == ["73", "72"]
        assert (signed.period_start_year, signed.period_end_year) == (2009, 2011)
        assert signed.signed_at == paris(2009, 3, 2)
        assert {p.party_id: p.contact_email for p in signed.parties}["region:73"]
        assert len(signed.financing) == len(terms_json()["financing"])

        dashboard = (await client.get("/dashboards/signatures", headers=auth("cdc"))).json()
        row = dashboard["contracts"][0]
        assert row["unsigned_party_ids"] == []
        paper = next(p for p in row["parties"] if p["party_id"] == "department:31")
        assert paper["on_paper"] is True
        history = (
            await client.get(f"/contracts/{CONTRACT_ID}/history", headers=auth("integrator"))
        ).json()["events"]
        assert [e["type"] for e in history].count(PARTY_SIGNED) == 5


async def test_bad_input_is_refused_with_the_field_and_changes_nothing(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(ContractsSettings)
    async with serve(create_app(settings, clock=ManualClock(paris(2009, 3, 2)))) as client:
        terms = terms_json()
        terms["financing"][0]["amount_cents"] = -1
        body = {"pole_id": "aerospace-valley", "parties": [], "terms": terms}
        response = await client.post("/contracts", json=body, headers=auth("state"))
        assert response.status_code == 422
        assert ["body", "terms", "financing", 0, "amount_cents"] in [
            e["loc"] for e in response.json()["detail"]
        ]
        body["terms"] = terms_json()
        response = await client.post("/contracts", json=body, headers=auth("state"))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "parties"]
        listed = await client.get("/contracts", headers=auth("state"))
        assert listed.json() == []
        other = await client.post("/contracts", json=body, headers=auth("pole:minalogic"))
        assert other.status_code == 403
