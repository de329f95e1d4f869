"""The co-financing saga on the real broker and store: a saga completed (and a ledger payment),
a refusal by a line, a financer's refusal giving the State's money back, an overdue financer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio

from services.funding.app import create_app
from services.funding.settings import FundingSettings
from shared.events.calls import DossierSelected
from shared.events.funding import PlanShare, YearAmount
from tests.support.infra import Isolation, auth, isolated_topics, serve
from tests.support.kafka import eventually, publish_event, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

M_EUR = 100_000_000
REGION = auth("region:82", subject="rhone-alpes")


@pytest_asyncio.fixture(loop_scope="session")
async def topics() -> Isolation:
    return await isolated_topics()


def share(financer: str, year: int, cents: int) -> PlanShare:
    return PlanShare(financer=financer, years=[YearAmount(year=year, amount_cents=cents)])


def selected(dossier_id: str, state_cents: int) -> DossierSelected:
    return DossierSelected(
        dossier_id=dossier_id,
        call_id="PF-2008",
        call_kind="innovation-platforms",
        pole_id="minalogic",
        region_codes=["82"],
        platform_name=f"Plate-forme {dossier_id}",
        decided_at=datetime(2009, 6, 15, 10, tzinfo=UTC),
        decision_year=2009,
        state_grant_cents=state_cents,
        requested_total_cents=100 * M_EUR,
        financing_plan=[
            share("state", 2009, state_cents),
            share("region:82", 2009, M_EUR),
            share("private", 2009, M_EUR),
        ],
    )


async def financing(client: httpx.AsyncClient, dossier_id: str, status: str) -> Any:
    response = await client.get(f"/financings/{dossier_id}", headers=auth("operator"))
    if response.status_code != 200 or response.json()["status"] != status:
        return None
    return response.json()


async def committed(client: httpx.AsyncClient, line_id: str) -> int:
    response = await client.get(f"/lines/{line_id}", headers=auth("operator"))
    return int(response.json()["committed_cents"])


def types(events: list[Any]) -> list[str]:
    return [event.type for event in events]


async def test_a_saga_completes_once_every_financer_commits_and_the_ledger_is_paid(
    topics: Isolation,
) -> None:
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        event = await publish_event(topics, selected("D-1", 3 * M_EUR), key="D-1")
        await publish_event(topics, selected("D-1", 3 * M_EUR), key="D-1", event_id=event.id)
        opened = await eventually(lambda: financing(client, "D-1", "open"))
        path = "/financings/D-1/financers/region:82/commitment"
        forbidden = await client.post(
            path, json={}, headers={**auth("cdc"), "Idempotency-Key": "k"}
        )
        answer = await client.post(path, json={}, headers={**REGION, "Idempotency-Key": "k"})
        again = await client.post(path, json={}, headers={**REGION, "Idempotency-Key": "k"})
        done = await eventually(lambda: financing(client, "D-1", "completed"))
        entry_id = answer.json()["entry_id"]
        pay = f"/ledgers/region:82/entries/{quote(entry_id)}/payments"
        body = {"year": 2009, "amount_cents": M_EUR // 2, "reference": "mandat 1"}
        paid = await client.post(pay, json=body, headers={**REGION, "Idempotency-Key": "p"})
        budget = (await client.get("/budget/financers", headers=auth("cdc"))).json()
        own = await client.get("/financings", headers=auth("region:82"))
        others = await client.get("/financings", headers=auth("region:11"))
        events = await read_events(
            topics,
            "funding.financing",
            lambda evs: "funding.financing.completed.v1" in types(evs),
        )

    assert opened["due_at"] > opened["opened_at"]
    assert forbidden.status_code == 403
    assert (answer.status_code, again.json()) == (201, answer.json())
    assert done["total_cents"] == 5 * M_EUR
    assert paid.status_code == 201, paid.text
    assert paid.json()["remaining_cents"] == M_EUR // 2
    figures = {row["financer"]: row for row in budget}
    assert figures["state"]["committed_cents"] == 3 * M_EUR
    assert figures["region:82"]["by_year"] == [
        {"year": 2009, "committed_cents": M_EUR, "paid_cents": M_EUR // 2, "left_cents": M_EUR // 2}
    ]
    assert figures["private"]["committed_cents"] == M_EUR
    assert [item["dossier_id"] for item in own.json()] == ["D-1"]
    assert others.json() == []
    assert sorted(types(events)) == sorted(
        ["funding.financing.opened.v1", "funding.financing.completed.v1"]
        + ["funding.financing.financer-committed.v1"] * 3
    )


async def test_a_line_refusing_the_state_share_refuses_the_financing(topics: Isolation) -> None:
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        await publish_event(topics, selected("D-2", 36 * M_EUR), key="D-2")
        refused = await eventually(lambda: financing(client, "D-2", "refused"))
        events = await read_events(
            topics, "funding.financing", lambda evs: "funding.financing.refused.v1" in types(evs)
        )
        line = await committed(client, "intervention.platforms")

    assert refused["refusal"]["reason"] == "over-yearly-ceiling"
    [event] = [e for e in events if e.type == "funding.financing.refused.v1"]
    assert (event.data["reason"], event.data["financer"]) == ("over-yearly-ceiling", "state")
    assert line == 0


async def test_a_financer_declining_gives_the_state_money_back(topics: Isolation) -> None:
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        await publish_event(topics, selected("D-3", 3 * M_EUR), key="D-3")
        await eventually(lambda: financing(client, "D-3", "open"))
        before = await committed(client, "intervention.platforms")
        response = await client.post(
            "/financings/D-3/financers/region:82/refusal",
            json={"reason": "budget voted down"},
            headers={**REGION, "Idempotency-Key": "r"},
        )
        refused = await eventually(lambda: financing(client, "D-3", "refused"))
        after = await eventually(
            lambda: _zero(committed(client, "intervention.platforms")), seconds=10
        )
        ledger = (await client.get("/ledgers/private", headers=auth("state"))).json()

    assert response.status_code == 200, response.text
    assert (before, after) == (3 * M_EUR, "zero")
    assert refused["refusal"]["reason"] == "financer-declined"
    [entry] = ledger["entries"]
    assert (entry["cancelled_cents"], entry["amount_cents"]) == (M_EUR, M_EUR)


async def _zero(cents: Any) -> str | None:
    return "zero" if await cents == 0 else None


async def test_an_overdue_financer_is_flagged_once_and_gauged(topics: Isolation) -> None:
    settings = topics.settings(
        FundingSettings, funding_financer_days=1 / 86400, funding_financing_check_seconds=0.3
    )
    async with serve(create_app(settings)) as client:
        await publish_event(topics, selected("D-4", 3 * M_EUR), key="D-4")
        events = await read_events(
            topics,
            "funding.financing",
            lambda evs: "funding.financing.financer-overdue.v1" in types(evs),
        )
        gauge = await eventually(lambda: _gauge(client))

    overdue = [e for e in events if e.type == "funding.financing.financer-overdue.v1"]
    assert [e.data["financer"] for e in overdue] == ["region:82"]
    assert gauge == 1.0


async def _gauge(client: httpx.AsyncClient) -> float | None:
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("poles_funding_financings_overdue "):
            value = float(line.split()[1])
            return value or None
    return None
