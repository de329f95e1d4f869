"""A hot budget line on the real broker and store (issue 15): twenty concurrent commitments on
one line, ten to each of two funding instances on one database, sent over HTTP as a budget
officer's system does (role ``state``). In each instance the line's decisions wait their turn;
between the two, the guarded insert arbitrates. Every commitment is answered within 3 s, each
accepted once, and the line's committed total is the sum of the accepted ones."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from services.funding.app import create_app
from services.funding.settings import FundingSettings
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LINE = "animation"
ASK = 1_000_00  # 1,000 euros
COMMITMENTS = 20
BOUND_SECONDS = 3.0
OFFICER = auth("state", subject="budget-officer")


async def commit(client: httpx.AsyncClient, number: int) -> tuple[int, float, dict[str, object]]:
    started = time.monotonic()
    response = await client.post(
        f"/lines/{LINE}/commitments",
        json={
            "beneficiary": {"kind": "pole", "id": f"pole-{number}"},
            "years": [{"year": 2010, "amount_cents": ASK}],
            "reason": "animation credits",
        },
        headers={**OFFICER, "Idempotency-Key": f"hot-{number}"},
    )
    return response.status_code, time.monotonic() - started, response.json()


async def test_twenty_concurrent_commitments_on_one_line_from_two_instances(
    isolation: Isolation,
) -> None:
    first = isolation.settings(FundingSettings, instance="1")
    second = first.model_copy(update={"instance": "2"})
    async with serve(create_app(first)) as one, serve(create_app(second)) as two:
        results = await asyncio.gather(*(commit((one, two)[n % 2], n) for n in range(COMMITMENTS)))
        line = (await two.get(f"/lines/{LINE}", headers=auth("operator"))).json()
        events = await read_events(
            isolation,
            "funding.commitment",
            lambda evs: len({e.id for e in evs}) >= COMMITMENTS,
        )

    times = sorted(seconds for _, seconds, _ in results)
    print(f"\n{COMMITMENTS} commitments on {LINE}, two instances; answered in (s): "
          + " ".join(f"{seconds:.2f}" for seconds in times))  # fmt: skip
    assert [status for status, _, _ in results] == [201] * COMMITMENTS, results
    accepted = {str(body["commitment_id"]) for _, _, body in results}
    assert len(accepted) == COMMITMENTS
    assert line["committed_cents"] == COMMITMENTS * ASK
    made = {e.id: e for e in events if e.type == "funding.commitment.made.v1"}.values()
    assert sorted(e.data["commitment_id"] for e in made) == sorted(accepted)
    assert times[-1] <= BOUND_SECONDS, (
        f"the slowest of {COMMITMENTS} concurrent commitments on one line took "
        f"{times[-1]:.2f} s (bound {BOUND_SECONDS} s; all: {times})"
    )
