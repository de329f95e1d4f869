"""A line's balance at an instant on the real broker and store, across an envelope amendment:
now it equals the live line; just before the amendment, the amount the line was loaded with."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.funding.app import create_app
from tests.integration.test_funding_money_rules import EXTENSION, M_EUR, STATE, post, settings
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PLATFORMS = "/lines/intervention.platforms"


async def test_the_balance_follows_an_envelope_amendment(isolation: Isolation) -> None:
    reader = auth("operator")
    async with serve(create_app(settings(isolation))) as client:
        loaded = (await client.get(PLATFORMS, headers=reader)).json()
        amended = await post(client, "/envelope/amendments", EXTENSION, STATE, "a-1")
        assert amended.status_code == 201, amended.text
        live = (await client.get(PLATFORMS, headers=reader)).json()
        now = (await client.get(f"{PLATFORMS}/balance", headers=reader)).json()
        events = await read_events(
            isolation, "funding.line", lambda evs: any("envelope-amended" in e.type for e in evs)
        )
        [event] = [e for e in events if e.type == "funding.line.envelope-amended.v1"]
        amended_at = datetime.fromisoformat(event.data["amended_at"])
        just_before = amended_at - timedelta(milliseconds=1)
        params = {"at": just_before.isoformat()}
        before = (await client.get(f"{PLATFORMS}/balance", params=params, headers=reader)).json()

    assert live["amount_cents"] == 140 * M_EUR != loaded["amount_cents"]
    assert (now["amount_cents"], now["committed_cents"]) == (
        live["amount_cents"],
        live["committed_cents"],
    )
    assert before["amount_cents"] == loaded["amount_cents"]
