"""The money's rules on the real broker and store, driven over HTTP as the State's and the
agencies' systems would: the 2012 extension as an amendment then a 2012 commitment; a transfer
carrying yearly ceilings then a commitment on the receiving line; an agency's commitment and
payment on its own line (and nobody else's); a payment dated before its commitment refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.funding.app import create_app
from services.funding.settings import FundingSettings
from tests.support.infra import Isolation, auth, isolated_topics, serve, unique
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

M_EUR = 100_000_000
STATE = auth("state", subject="dge")
ANR = auth("agency:anr", subject="anr-system")
OSEO = auth("agency:oseo", subject="oseo-system")
MAY_2010 = datetime(2010, 5, 12, 9, 0, tzinfo=UTC)
YEARS_2012 = [2009, 2010, 2011, 2012]
EXTENSION = {
    "amendment_id": "ciadt-2010-05-11",
    "decided_on": "2010-05-11",
    "reference": "CIADT du 11 mai 2010",
    "years": YEARS_2012,
    "lines": [
        {
            "line_id": "intervention.platforms",
            "amount_cents": 140 * M_EUR,
            "yearly_ceilings": [{"year": y, "amount_cents": 35 * M_EUR} for y in YEARS_2012],
        },
        {"line_id": "intervention.rd", "amount_cents": 460 * M_EUR},
    ],
}


@pytest_asyncio.fixture(loop_scope="session")
async def topics() -> Isolation:
    return await isolated_topics()


def settings(topics: Isolation, at: datetime = MAY_2010, **more: Any) -> FundingSettings:
    return topics.settings(FundingSettings, clock_start=at, **more)


def commit_body(year: int, cents: int, **more: Any) -> dict[str, Any]:
    return {
        "beneficiary": {"kind": "project", "id": "P-1", "name": "Projet 1"},
        "years": [{"year": year, "amount_cents": cents}],
        "pole_id": "minalogic",
        "reason": "test",
        **more,
    }


async def post(
    client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str], key: str
) -> httpx.Response:
    return await client.post(path, json=body, headers={**headers, "Idempotency-Key": key})


async def test_the_2012_extension_is_an_amendment_after_which_2012_commits(
    topics: Isolation,
) -> None:
    async with serve(create_app(settings(topics))) as client:
        before = await post(
            client, "/lines/intervention.platforms/commitments", commit_body(2012, M_EUR),
            STATE, "c-0",
        )  # fmt: skip
        amended = [
            await post(client, "/envelope/amendments", EXTENSION, STATE, "a-1") for _ in "12"
        ]
        made = await post(
            client, "/lines/intervention.platforms/commitments", commit_body(2012, 10 * M_EUR),
            STATE, "c-1",
        )  # fmt: skip
        envelope = (await client.get("/envelope", headers=auth("integrator"))).json()
        table = (await client.get("/budget/lines", headers=auth("cdc"))).json()

    assert before.status_code == 409, before.text
    assert before.json()["reason"] == "year-outside-envelope"
    assert amended[0].status_code == 201, amended[0].text
    assert amended[0].json() == amended[1].json()
    assert made.status_code == 201, made.text
    assert envelope["years"] == YEARS_2012
    assert [a["amendment_id"] for a in envelope["amendments"]] == ["ciadt-2010-05-11"]
    assert envelope["amount_cents"] == 1500 * M_EUR
    [intervention] = [line for line in table["lines"] if line["line_id"] == "intervention"]
    [platforms] = [s for s in intervention["sub_lines"] if s["line_id"] == "intervention.platforms"]
    year_2012 = next(row for row in platforms["by_year"] if row["year"] == 2012)
    assert (platforms["amount_cents"], year_2012["committed_cents"]) == (140 * M_EUR, 10 * M_EUR)
    assert year_2012["available_cents"] == 25 * M_EUR
    events = await read_events(
        topics, "funding.line", lambda evs: any("envelope-amended" in e.type for e in evs)
    )
    [event] = [e for e in events if e.type == "funding.line.envelope-amended.v1"]
    assert event.data["years"] == YEARS_2012


async def test_a_transfer_carries_ceilings_so_the_receiving_line_can_commit_them(
    topics: Isolation,
) -> None:
    transfer = {
        "from_line_id": "intervention.rd",
        "to_line_id": "intervention.platforms",
        "amount_cents": 10 * M_EUR,
        "reason": "more platforms",
    }
    async with serve(create_app(settings(topics))) as client:
        without_years = await post(client, "/transfers", transfer, STATE, "t-0")
        years = [{"year": 2010, "amount_cents": 10 * M_EUR}]
        moved = await post(client, "/transfers", {**transfer, "years": years}, STATE, "t-1")
        made = await post(
            client, "/lines/intervention.platforms/commitments", commit_body(2010, 45 * M_EUR),
            STATE, "c-1",
        )  # fmt: skip
        platforms = (await client.get("/lines/intervention.platforms", headers=STATE)).json()

    assert without_years.status_code == 422, without_years.text
    assert moved.status_code == 201, moved.text
    assert moved.json()["years"] == years
    assert made.status_code == 201, made.text
    assert platforms["yearly_ceilings_cents"]["2010"] == 45 * M_EUR
    assert platforms["committed_cents"] == 45 * M_EUR


async def test_an_agency_commits_and_pays_on_its_own_line_only(topics: Isolation) -> None:
    member = {"identifier": "12345678901234", "kind": "sme", "name": "PME"}
    project = commit_body(2010, 3 * M_EUR, project_key="NANO-2010", members=[member])
    async with serve(create_app(settings(topics))) as client:
        by_state = await post(client, "/lines/agencies.anr/commitments", project, STATE, "s-1")
        by_oseo = await post(client, "/agencies/anr/commitments", project, OSEO, "o-1")
        made = await post(client, "/agencies/anr/commitments", project, ANR, "a-1")
        commitment_id = made.json()["commitment_id"]
        payment = {"year": 2010, "amount_cents": M_EUR}
        path = f"/commitments/{commitment_id}/payments"
        paid_by_oseo = await post(client, path, payment, OSEO, "p-0")
        paid_by_state = await post(client, path, payment, STATE, "p-0")
        paid = await post(client, path, payment, ANR, "p-1")
        table = (await client.get("/budget/lines", headers=ANR)).json()

    assert (by_state.status_code, by_oseo.status_code) == (403, 403)
    assert made.status_code == 201, made.text
    assert (paid_by_oseo.status_code, paid_by_state.status_code) == (403, 403)
    assert paid.status_code == 201, paid.text
    [agencies] = [line for line in table["lines"] if line["line_id"] == "agencies"]
    [anr] = [s for s in agencies["sub_lines"] if s["line_id"] == "agencies.anr"]
    year_2010 = next(row for row in anr["by_year"] if row["year"] == 2010)
    assert (year_2010["committed_cents"], year_2010["paid_cents"]) == (3 * M_EUR, M_EUR)
    assert (anr["to_pay_cents"], table["totals"]["paid_cents"]) == (2 * M_EUR, M_EUR)
    events = await read_events(
        topics, "funding.commitment", lambda evs: any(e.type.endswith("made.v1") for e in evs)
    )
    [event] = [e for e in events if e.type == "funding.commitment.made.v1"]
    assert event.data["source"]["kind"] == "agency"
    assert event.data["project_key"] == "NANO-2010"


async def test_a_payment_dated_before_its_commitment_is_refused(topics: Isolation) -> None:
    database = unique("t_funding_")
    june = datetime(2010, 6, 1, 9, 0, tzinfo=UTC)
    async with serve(create_app(settings(topics, june, mongo_database=database))) as client:
        made = await post(
            client, "/lines/animation/commitments", commit_body(2010, M_EUR), STATE, "c-1"
        )
    behind = datetime(2010, 3, 1, 9, 0, tzinfo=UTC)  # a replica whose clock is behind
    async with serve(create_app(settings(topics, behind, mongo_database=database))) as client:
        path = f"/commitments/{made.json()['commitment_id']}/payments"
        early = await post(client, path, {"year": 2010, "amount_cents": M_EUR}, STATE, "p-1")
        commitment = (await client.get(path.rsplit("/", 1)[0], headers=STATE)).json()

    assert made.status_code == 201, made.text
    assert early.status_code == 409, early.text
    assert early.json()["reason"] == "payment-before-commitment"
    assert commitment["paid_cents"] == 0
