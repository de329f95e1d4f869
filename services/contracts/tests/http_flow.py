"""HTTP steps shared by the integration tests: a contract drafted and opened through the API."""

from __future__ import annotations

import httpx

from services.contracts.tests.builders import POLE, parties_json, roadmap_json, terms_json
from tests.support.infra import auth

CONTRACT_ID = f"contract:{POLE}:2009"
POLE_AUTH = auth(f"pole:{POLE}", subject="aerospace-valley")


async def open_for_signature(client: httpx.AsyncClient) -> str:
    """Draft, annex the roadmap and open Aerospace Valley's 2009-2011 contract."""
    body = {"pole_id": POLE, "parties": parties_json(), "terms": terms_json()}
    response = await client.post("/contracts", json=body, headers=POLE_AUTH)
    assert response.status_code == 201, response.text
    response = await client.put(
        f"/contracts/{CONTRACT_ID}/roadmap", json=roadmap_json(), headers=POLE_AUTH
    )
    assert response.status_code == 200, response.text
    response = await client.post(f"/contracts/{CONTRACT_ID}/open-for-signature", headers=POLE_AUTH)
    assert response.status_code == 200, response.text
    return CONTRACT_ID


SIGNERS = {
    "state": auth("state", subject="dgcis"),
    f"pole:{POLE}": POLE_AUTH,
    "region:73": auth("region:73", subject="midi-pyrenees"),
    "region:72": auth("region:72", subject="aquitaine"),
    "department:31": auth("state", subject="dgcis"),
}


async def sign(client: httpx.AsyncClient, party_id: str, key: str | None = None) -> httpx.Response:
    headers = dict(SIGNERS[party_id])
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(
        f"/contracts/{CONTRACT_ID}/signatures",
        json={"party_id": party_id, "signatory_name": "Signatory"},
        headers=headers,
    )
