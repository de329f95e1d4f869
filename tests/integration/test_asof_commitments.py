"""A commitment on the real broker and store: made by the ANR on its line, paid, partly given
back, paid again; at each instant between its changes its state rebuilt from the log equals
what the live API showed then; its present equals the live record (every field: the events
carry them all); its changes are listed once each, in order, with who made them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.funding.app import create_app
from shared.clock import ManualClock
from tests.integration.test_asof_calls import _all
from tests.integration.test_funding_money_rules import (
    ANR,
    M_EUR,
    MAY_2010,
    commit_body,
    post,
    settings,
)
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

READERS = [auth("operator"), auth("region:82"), auth("pole:minalogic")]
STEPS = [
    "funding.commitment.made.v1",
    "funding.payment.recorded.v1",
    "funding.commitment.decommitted.v1",
    "funding.payment.recorded.v1",
]


async def test_a_commitment_as_it_stood_at_each_instant_rebuilt_from_the_log(
    isolation: Isolation,
) -> None:
    clock = ManualClock(MAY_2010)
    seen: list[tuple[datetime, dict[str, Any]]] = []  # (instant of a change, the live view then)
    async with serve(create_app(settings(isolation), clock=clock)) as client:
        made = await post(
            client, "/agencies/anr/commitments", commit_body(2010, 3 * M_EUR), ANR, "c-1"
        )
        assert made.status_code == 201, made.text
        path = f"/commitments/{made.json()['commitment_id']}"

        async def changed(response: httpx.Response | None = None) -> None:
            assert response is None or response.status_code == 201, response.text
            seen.append((clock.now(), (await client.get(path, headers=READERS[0])).json()))

        await changed()
        for step, body in (
            ("payments", {"year": 2010, "amount_cents": M_EUR, "reference": "mandat 12"}),
            ("decommitments", {"year": 2010, "amount_cents": M_EUR, "reason": "smaller"}),
            ("payments", {"year": 2010, "amount_cents": M_EUR // 2}),
        ):
            clock.advance(timedelta(days=10))
            await changed(await post(client, f"{path}/{step}", body, ANR, f"{step}-{clock.now()}"))

        async def changes(at: datetime | None = None) -> list[dict[str, Any]]:
            params = {"at": at.isoformat()} if at else {}
            response = await client.get(f"{path}/changes", params=params, headers=READERS[1])
            assert response.status_code == 200, response.text
            return list(response.json())

        history = await eventually(lambda: _all(changes(), len(STEPS)))
        early = await changes(seen[1][0] - timedelta(milliseconds=1))

        async def as_of(at: datetime, reader: dict[str, str] = READERS[0]) -> httpx.Response:
            return await client.get(path, params={"at": at.isoformat()}, headers=reader)

        before = await as_of(seen[0][0] - timedelta(milliseconds=1))
        rebuilt_then: list[tuple[datetime, dict[str, Any], dict[str, Any]]] = []
        for index, (instant, live) in enumerate(seen):
            later = seen[index + 1][0] if index + 1 < len(seen) else instant + timedelta(days=30)
            for at in (instant, instant + (later - instant) / 2, later - timedelta(seconds=1)):
                rebuilt_then.append((at, (await as_of(at)).json(), live))
        present = [(await as_of(clock.now(), reader)).json() for reader in READERS]
        live_now = (await client.get(path, headers=READERS[2])).json()
        unknown = await client.get(
            "/commitments/nothing", params={"at": clock.now().isoformat()}, headers=READERS[0]
        )
        published = await read_events(
            isolation, "funding.commitment", lambda evs: len(evs) >= len(STEPS)
        )

    assert before.status_code == 404
    assert "did not exist yet at" in before.json()["detail"]
    for at, rebuilt, live in rebuilt_then:
        assert rebuilt == live, at
    assert present == [live_now] * len(READERS)
    assert (live_now["paid_cents"], live_now["decommitted_cents"]) == (M_EUR * 3 // 2, M_EUR)
    assert live_now["remaining_cents"] == M_EUR // 2
    assert [entry["kind"] for entry in live_now["history"]] == [
        "committed",
        "paid",
        "decommitted",
        "paid",
    ]
    assert unknown.status_code == 404
    ours = [e for e in published if e.subject == made.json()["commitment_id"]]
    assert [c["type"] for c in history] == STEPS
    assert [c["event_id"] for c in history] == [e.id for e in ours]
    assert len({c["event_id"] for c in history}) == len(STEPS)
    assert [c["who"] for c in history] == ["anr-system"] * len(STEPS)
    times = [datetime.fromisoformat(c["time"]) for c in history]
    assert times == [instant for instant, _ in seen]
    assert [c["event_id"] for c in early] == [c["event_id"] for c in history[:1]]
