"""The funding service on the real broker and store: commitments from a selected dossier and a
signed contract, a refusal, a duplicate event, a transfer, payments, and the metrics.

Each test has its own topics (not only its own database), so that a previous test's events never
reach the next test's service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from services.funding.app import create_app
from services.funding.domain.envelope import load_envelope
from services.funding.settings import FundingSettings
from shared.events.calls import DossierSelected
from shared.events.contracts import ContractSigned, Party, YearlyCommitment
from tests.support.infra import Isolation, auth, isolated_topics, serve
from tests.support.kafka import eventually, publish_event, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

M_EUR = 100_000_000
STATE = auth("state", subject="dge")
DECIDED = datetime(2009, 6, 15, 10, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def topics() -> Isolation:
    return await isolated_topics()


def selected(dossier_id: str, grant_cents: int, investment_cents: int = 0) -> DossierSelected:
    return DossierSelected(
        dossier_id=dossier_id,
        call_id="PF-2008",
        call_kind="innovation-platforms",
        pole_id="aerospace-valley",
        region_codes=["73", "72"],
        platform_name=f"Plate-forme {dossier_id}",
        decided_at=DECIDED,
        decision_year=2009,
        state_grant_cents=grant_cents,
        cdc_investment_cents=investment_cents,
        requested_total_cents=grant_cents + investment_cents,
    )


def signed_contract() -> ContractSigned:
    parties = [
        Party(party_id="pole:minalogic", kind="pole", name="Minalogic"),
        Party(party_id="state", kind="state", name="État"),
        Party(party_id="region:82", kind="region", name="Rhône-Alpes", region_code="82"),
        Party(party_id="department:38", kind="department", name="Isère"),
    ]
    financing = [
        YearlyCommitment(party_id=party, year=year, amount_cents=cents)
        for party, cents in (("state", 400_000_00), ("region:82", 300_000_00), ("department:38", 0))
        for year in (2009, 2010, 2011)
    ]
    return ContractSigned(
        contract_id="CP-minalogic",
        version=1,
        pole_id="minalogic",
        pole_name="Minalogic",
        region_codes=["82"],
        period_start_year=2009,
        period_end_year=2011,
        signed_at=datetime(2009, 7, 6, 12, 0, tzinfo=UTC),
        parties=parties,
        financing=financing,
    )


async def commitments(client: httpx.AsyncClient, **query: str) -> list[dict[str, Any]]:
    response = await client.get("/commitments", params=query, headers=auth("operator"))
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def line(client: httpx.AsyncClient, line_id: str) -> dict[str, Any]:
    response = await client.get(f"/lines/{line_id}", headers=auth("cdc"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def of_type(type_name: str) -> Any:
    return lambda events: [e for e in events if e.type == type_name]


async def test_metrics_show_every_line_with_the_envelope_amounts_once_started(
    topics: Isolation,
) -> None:
    settings = topics.settings(FundingSettings)
    async with serve(create_app(settings)) as client:
        # The gauges' first refresh runs as soon as the service is ready.
        samples = await eventually(lambda: _shown(client))
    # The file's own amounts (1500 M€ in seven lines): services/funding/tests/test_envelope.py.
    specs = load_envelope(settings.envelope_file).all_specs()
    assert len(specs) == 7
    for spec in specs:
        line_id = spec.id
        assert samples[("poles_budget_line_amount_cents", line_id)] == spec.amount_cents
        assert samples[("poles_budget_committed_cents", line_id)] == 0
        assert samples[("poles_budget_paid_cents", line_id)] == 0
    assert samples[("poles_budget_commitments_refused_total", "intervention.platforms")] == 0


async def _shown(client: httpx.AsyncClient) -> dict[tuple[str, str], float] | None:
    """The budget's samples once the gauges show the lines, else None."""
    samples = _samples((await client.get("/metrics")).text)
    return samples if ("poles_budget_line_amount_cents", "animation") in samples else None


def _samples(text: str) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels["line"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "line" in sample.labels
    }


async def test_a_selected_platform_commits_its_grant_once_and_asks_the_cdc_for_its_investment(
    topics: Isolation,
) -> None:
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        event = await publish_event(
            topics, selected("D-1", 3 * M_EUR, investment_cents=M_EUR), key="D-1"
        )
        await publish_event(
            topics, selected("D-1", 3 * M_EUR, investment_cents=M_EUR), key="D-1", event_id=event.id
        )
        [made] = await eventually(lambda: commitments(client, line_id="intervention.platforms"))
        financing = await eventually(lambda: _financing(client, "D-1"))
        platforms = await line(client, "intervention.platforms")
        published = await read_events(
            topics,
            "funding.financing",
            lambda evs: bool(of_type("funding.financing.opened.v1")(evs)),
        )
        made_events = await read_events(
            topics,
            "funding.commitment",
            lambda evs: bool(of_type("funding.commitment.made.v1")(evs)),
        )

    assert (made["amount_cents"], made["dossier_id"], made["source"]["event_id"]) == (
        3 * M_EUR,
        "D-1",
        event.id,
    )
    assert made["years"] == [{"year": 2009, "amount_cents": 3 * M_EUR}]
    assert platforms["committed_cents"] == 3 * M_EUR
    assert platforms["committed_by_year"] == {"2009": 3 * M_EUR}
    # The CDC decides its investment: it is asked to commit it (the co-financing saga).
    assert [(s["financer"], s["status"]) for s in financing["shares"]] == [
        ("state", "committed"),
        ("cdc", "asked"),
    ]
    assert len({e.id for e in of_type("funding.commitment.made.v1")(made_events)}) == 1
    assert {e.data["dossier_id"] for e in published} == {"D-1"}


async def _financing(client: httpx.AsyncClient, dossier_id: str) -> dict[str, Any] | None:
    response = await client.get(f"/financings/{dossier_id}", headers=auth("cdc"))
    return response.json() if response.status_code == 200 else None


async def _ledger(client: httpx.AsyncClient, financer: str) -> dict[str, Any] | None:
    response = await client.get(f"/ledgers/{financer}", headers=auth("cdc"))
    return response.json() if response.status_code == 200 else None


async def test_a_signed_contract_commits_animation_credits_and_records_local_promises(
    topics: Isolation,
) -> None:
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        await publish_event(topics, signed_contract(), key="CP-minalogic")
        [made] = await eventually(lambda: commitments(client, line_id="animation"))
        region = await eventually(lambda: _ledger(client, "region:82"))
        own = await client.get("/ledgers/region:82", headers=auth("region:82"))
        other = await client.get("/ledgers/region:82", headers=auth("region:11"))
        listed = await client.get("/ledgers", headers=auth("region:11"))
        promises = await read_events(topics, "funding.ledger", lambda evs: len(evs) >= 1)

    assert made["years"] == [
        {"year": year, "amount_cents": 400_000_00} for year in (2009, 2010, 2011)
    ]
    assert (made["amount_cents"], made["contract_id"], made["beneficiary"]["id"]) == (
        1_200_000_00,
        "CP-minalogic",
        "minalogic",
    )
    assert region["promised_cents"] == 900_000_00
    assert own.status_code == 200
    assert other.status_code == 404
    assert listed.json() == []
    assert {e.data["financer"] for e in promises} == {"region:82"}


async def test_a_refusal_commits_nothing_says_why_once_and_is_counted(topics: Isolation) -> None:
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        fits = await publish_event(topics, selected("D-1", 30 * M_EUR), key="D-1")
        too_much = await publish_event(topics, selected("D-2", 6 * M_EUR), key="D-2")
        await publish_event(topics, selected("D-2", 6 * M_EUR), key="D-2", event_id=too_much.id)
        refused = await read_events(
            topics,
            "funding.commitment",
            lambda evs: bool(of_type("funding.commitment.refused.v1")(evs)),
        )
        await eventually(lambda: _refused_count(client))
        platforms = await line(client, "intervention.platforms")

    [refusal] = {e.id: e for e in of_type("funding.commitment.refused.v1")(refused)}.values()
    assert refusal.data["reason"] == "over-yearly-ceiling"
    assert (refusal.data["asked_cents"], refusal.data["available_cents"]) == (6 * M_EUR, 5 * M_EUR)
    assert refusal.data["source_event_id"] == too_much.id
    assert platforms["committed_cents"] == 30 * M_EUR
    assert fits.id in {
        e.data["source"]["event_id"] for e in of_type("funding.commitment.made.v1")(refused)
    }


async def _refused_count(client: httpx.AsyncClient) -> bool:
    samples = _samples((await client.get("/metrics")).text)
    return samples[("poles_budget_commitments_refused_total", "intervention.platforms")] == 1


async def test_a_transfer_moves_money_keeps_the_envelope_and_never_empties_a_committed_line(
    topics: Isolation,
) -> None:
    body = {
        "from_line_id": "intervention.rd",
        "to_line_id": "intervention.platforms",
        "amount_cents": 10 * M_EUR,
        "reason": "more platforms in 2010",
        "years": [{"year": 2010, "amount_cents": 10 * M_EUR}],
    }
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        first = await client.post(
            "/transfers", json=body, headers={**STATE, "Idempotency-Key": "t1"}
        )
        again = await client.post(
            "/transfers", json=body, headers={**STATE, "Idempotency-Key": "t1"}
        )
        too_much = await client.post(
            "/transfers",
            json={
                **body,
                "from_line_id": "animation",
                "amount_cents": 51 * M_EUR,
                "years": [{"year": 2010, "amount_cents": 51 * M_EUR}],
            },
            headers={**STATE, "Idempotency-Key": "t2"},
        )
        by_cdc = await client.post(
            "/transfers", json=body, headers={**auth("cdc"), "Idempotency-Key": "t3"}
        )
        envelope = (await client.get("/envelope", headers=auth("pole:minalogic"))).json()
        rd, platforms = (
            await line(client, "intervention.rd"),
            await line(client, "intervention.platforms"),
        )
        transferred = await read_events(
            topics, "funding.line", lambda evs: bool(of_type("funding.line.transferred.v1")(evs))
        )

    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    assert too_much.status_code == 409
    assert by_cdc.status_code == 403
    assert (rd["amount_cents"], platforms["amount_cents"]) == (485 * M_EUR, 115 * M_EUR)
    assert envelope["amount_cents"] == 1500 * M_EUR
    [moved] = {e.id: e for e in of_type("funding.line.transferred.v1")(transferred)}.values()
    assert (moved.data["author"], moved.data["reason"]) == ("dge", "more platforms in 2010")


async def test_payments_never_exceed_the_commitment_and_balances_are_rebuilt_from_events(
    topics: Isolation,
) -> None:
    commit = {
        "beneficiary": {"kind": "project", "id": "FUI-8-42"},
        "years": [{"year": 2010, "amount_cents": 2 * M_EUR}],
        "pole_id": "minalogic",
        "reason": "FUI 8th call",
    }
    async with serve(create_app(topics.settings(FundingSettings))) as client:
        made = await client.post(
            "/lines/intervention.rd/commitments",
            json=commit,
            headers={**STATE, "Idempotency-Key": "c1"},
        )
        commitment_id = made.json()["commitment_id"]
        pay = f"/commitments/{commitment_id}/payments"
        paid = await client.post(
            pay,
            json={"year": 2010, "amount_cents": 15 * M_EUR // 10},
            headers={**STATE, "Idempotency-Key": "p1"},
        )
        over = await client.post(
            pay,
            json={"year": 2011, "amount_cents": M_EUR},
            headers={**STATE, "Idempotency-Key": "p2"},
        )
        nowhere = await client.post(
            "/commitments/none/payments",
            json={"year": 2011, "amount_cents": 1},
            headers={**STATE, "Idempotency-Key": "p3"},
        )
        back = await client.post(
            f"/commitments/{commitment_id}/decommitments",
            json={"year": 2010, "amount_cents": M_EUR // 2, "reason": "project closed"},
            headers={**STATE, "Idempotency-Key": "d1"},
        )
        rd = await line(client, "intervention.rd")
        balance = await eventually(lambda: _balance_when_paid(client))
        history = (
            await client.get(f"/commitments/{commitment_id}", headers=auth("region:82"))
        ).json()

    assert made.status_code == 201, made.text
    assert made.json()["outcome"] == "committed"
    assert paid.status_code == 201
    assert paid.json()["remaining_cents"] == M_EUR // 2
    assert over.status_code == 409
    assert nowhere.status_code == 404
    assert back.status_code == 201, back.text
    assert rd["committed_cents"] == 15 * M_EUR // 10
    assert (balance["amount_cents"], balance["committed_cents"], balance["paid_cents"]) == (
        rd["amount_cents"],
        rd["committed_cents"],
        15 * M_EUR // 10,
    )
    assert [entry["kind"] for entry in history["history"]] == ["committed", "paid", "decommitted"]
    assert history["remaining_cents"] == 0


async def _balance_when_paid(client: httpx.AsyncClient) -> dict[str, Any] | None:
    response = await client.get("/lines/intervention.rd/balance", headers=auth("operator"))
    balance: dict[str, Any] = response.json()
    done = balance["paid_cents"] > 0 and balance["committed_cents"] == 15 * M_EUR // 10
    return balance if done else None
