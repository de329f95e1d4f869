"""The State correspondent's view on the real broker and store: contracts consumes funding's
money events about its pôles (each once, a redelivery changes nothing) and shows, for each pôle
of the correspondent, its contracts, its overdue reports and its money committed and paid."""

from __future__ import annotations

from typing import Any

import pytest

from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import POLE, paris
from services.contracts.tests.http_flow import CONTRACT_ID, open_for_signature
from services.contracts.tests.money import made, paid
from shared.clock import ManualClock
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MINE = auth(f"correspondent:{POLE}", "correspondent:minalogic", subject="correspondent")


async def test_a_correspondent_sees_the_contracts_and_money_of_their_poles(
    isolation: Isolation,
) -> None:
    clock = ManualClock(paris(2009, 3, 1))
    async with serve(create_app(isolation.settings(ContractsSettings), clock=clock)) as client:
        await open_for_signature(client)
        assert (
            await client.get("/correspondents/me/poles", headers=auth("state"))
        ).status_code == 403
        for data, event_id in (
            (made(POLE, (2009, 500_000), (2010, 300_000)), "m-1"),
            (made(POLE, (2009, 500_000), (2010, 300_000)), "m-1"),  # redelivered
            (paid(POLE, 2009, 200_000), "p-1"),
        ):
            await publish_event(isolation, data, key=POLE, event_id=event_id)

        async def mine() -> list[dict[str, Any]] | None:
            found = await client.get("/correspondents/me/poles", headers=MINE)
            assert found.status_code == 200, found.text
            views: list[dict[str, Any]] = found.json()
            return views if views[0]["money"]["paid_cents"] == 200_000 else None

        views = await eventually(mine)
    [aerospace] = [v for v in views if v["pole_id"] == POLE]
    assert aerospace["contracts"] == [
        {"contract_id": CONTRACT_ID, "status": "open-for-signature", "version": 1}
    ]
    assert aerospace["overdue_reports"] == []
    assert aerospace["money"]["committed_cents"] == 800_000
    assert aerospace["money"]["years"] == [
        {"year": 2009, "committed_cents": 500_000, "paid_cents": 200_000},
        {"year": 2010, "committed_cents": 300_000, "paid_cents": 0},
    ]
    [other] = [v for v in views if v["pole_id"] == "minalogic"]
    assert other["money"] == {"committed_cents": 0, "paid_cents": 0, "years": []}
