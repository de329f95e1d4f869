"""The rule that never bends, on the real store: many commitments racing on a line's last euros
from two service instances never exceed the line, and exactly the ones that fit are accepted."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from services.funding.app import create_app
from services.funding.settings import FundingSettings
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

M_EUR = 100_000_000
ASK = 1_000_00  # 1,000 euros
LEFT = 10 * ASK
RACERS = 40
STATE = auth("state", subject="dge")


def commitment(number: int, cents: int) -> dict[str, object]:
    return {
        "beneficiary": {"kind": "pole", "id": f"pole-{number}"},
        "years": [{"year": 2010, "amount_cents": cents}],
        "reason": "animation credits",
    }


async def commit(client: httpx.AsyncClient, number: int, cents: int) -> int:
    response = await client.post(
        "/lines/animation/commitments",
        json=commitment(number, cents),
        headers={**STATE, "Idempotency-Key": f"race-{number}"},
    )
    assert response.status_code in (201, 409), response.text
    return response.status_code


async def test_racing_commitments_from_two_instances_never_exceed_the_line(
    isolation: Isolation,
) -> None:
    first = isolation.settings(FundingSettings, instance="1")
    second = first.model_copy(update={"instance": "2"})
    async with serve(create_app(first)) as one, serve(create_app(second)) as two:
        assert await commit(one, 0, 50 * M_EUR - LEFT) == 201
        results = await asyncio.gather(
            *(commit((one, two)[n % 2], n, ASK) for n in range(1, RACERS + 1))
        )
        line = (await one.get("/lines/animation", headers=auth("operator"))).json()
        seen_by_two = (await two.get("/lines/animation", headers=auth("operator"))).json()

        events = await read_events(
            isolation,
            "funding.commitment",
            lambda evs: len({e.id for e in evs}) >= RACERS + 1,
        )
        thresholds = await read_events(
            isolation,
            "funding.line",
            lambda evs: len({e.id for e in evs if e.type.endswith("threshold-crossed.v1")}) >= 3,
        )

    assert Counter(results) == {201: LEFT // ASK, 409: RACERS - LEFT // ASK}
    assert line["committed_cents"] == line["amount_cents"] == 50 * M_EUR
    assert seen_by_two["committed_cents"] == 50 * M_EUR
    # Two relays may both publish an event (at least once); consumers deduplicate by id.
    unique = list({e.id: e for e in events}.values())
    made = [e for e in unique if e.type == "funding.commitment.made.v1"]
    refused = [e for e in unique if e.type == "funding.commitment.refused.v1"]
    assert sum(e.data["amount_cents"] for e in made) == 50 * M_EUR
    assert (len(made), len(refused)) == (1 + LEFT // ASK, RACERS - LEFT // ASK)
    assert len({e.data["commitment_id"] for e in made + refused}) == RACERS + 1
    crossed = [
        e.data["threshold_percent"]
        for e in {e.id: e for e in thresholds}.values()
        if e.type == "funding.line.threshold-crossed.v1"
    ]
    assert sorted(crossed) == [80, 95, 100]
