"""A transfer's dry run on the real broker and store, over HTTP as the State's budget officers
would: the dry run, then the real transfer with the same body; the dry run's "after" is each line
as read after the transfer, a refused commitment it said would pass then passes, and the dry run
saved nothing (no document, no idempotency record) and published nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.funding.app import create_app
from services.funding.settings import FundingSettings
from shared.store import create_mongo_client
from tests.integration.test_funding_money_rules import commit_body
from tests.support.infra import Isolation, auth, isolated_topics, serve, unique
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

M_EUR = 100_000_000
STATE = auth("state", subject="dge")
RD, PLATFORMS = "intervention.rd", "intervention.platforms"
TRANSFER = {
    "from_line_id": RD,
    "to_line_id": PLATFORMS,
    "amount_cents": 80 * M_EUR,
    "reason": "more platforms in 2010",
    "years": [{"year": 2010, "amount_cents": 80 * M_EUR}],
}


@pytest_asyncio.fixture(loop_scope="session")
async def topics() -> Isolation:
    return await isolated_topics()


async def post(
    client: httpx.AsyncClient, path: str, body: Any, key: str | None = None
) -> httpx.Response:
    headers = STATE if key is None else {**STATE, "Idempotency-Key": key}
    return await client.post(path, json=body, headers=headers)


async def test_the_dry_run_is_the_transfer_that_follows_and_changes_nothing(
    topics: Isolation,
) -> None:
    settings = topics.settings(
        FundingSettings,
        clock_start=datetime(2010, 5, 12, 9, 0, tzinfo=UTC),
        mongo_database=unique("t_funding_"),
    )
    db = create_mongo_client(settings.mongo_url.get_secret_value(), "check")[settings.database_name]

    async def documents() -> dict[str, list[Any]]:
        return {
            name: sorted(d["_id"] for d in await db[name].find({}, {"_id": 1}).to_list(None))
            for name in await db.list_collection_names()
        }

    async with serve(create_app(settings)) as client:
        commit_path = f"/lines/{PLATFORMS}/commitments"
        made = await post(client, commit_path, commit_body(2010, 34 * M_EUR), "c-1")
        refused = await post(client, commit_path, commit_body(2010, 3 * M_EUR), "c-2")
        await post(client, f"/lines/{RD}/commitments", commit_body(2010, 400 * M_EUR), "c-3")
        payment = {"year": 2010, "amount_cents": 4 * M_EUR}
        commitment_id = made.json()["commitment_id"]
        paid = await post(client, f"/commitments/{commitment_id}/payments", payment, "p-1")
        stored = await documents()

        dry = await post(client, "/transfers/dry-run", TRANSFER)
        unchanged = await documents()
        moved = await post(client, "/transfers", TRANSFER, "t-1")
        after = {
            line_id: (await client.get(f"/lines/{line_id}", headers=STATE)).json()
            for line_id in (RD, PLATFORMS)
        }
        table = (await client.get("/budget/lines", headers=STATE)).json()
        again = await post(client, commit_path, commit_body(2010, 3 * M_EUR), "c-4")

    assert (made.status_code, refused.status_code, paid.status_code) == (201, 409, 201)
    assert dry.status_code == 200, dry.text
    assert moved.status_code == 201, moved.text
    assert unchanged == stored
    answer = dry.json()
    assert (answer["outcome"], answer["refusal"]) == ("transferable", None)
    [sub_lines] = [
        line["sub_lines"] for line in table["lines"] if line["line_id"] == "intervention"
    ]
    for line in answer["lines"]:
        read, row = (
            after[line["line_id"]],
            next(s for s in sub_lines if s["line_id"] == line["line_id"]),
        )
        shown = line["after"]
        assert (
            shown["amount_cents"],
            shown["committed_cents"],
            shown["paid_cents"],
            shown["available_cents"],
            shown["yearly_ceilings"],
            [t["percent"] for t in shown["thresholds"] if t["announced"]],
        ) == (
            read["amount_cents"],
            read["committed_cents"],
            read["paid_cents"],
            read["available_cents"],
            read["yearly_ceilings_cents"],
            read["thresholds_crossed"],
        ), line["line_id"]
        assert [
            (y["year"], y["ceiling_cents"], y["available_cents"]) for y in shown["by_year"]
        ] == [(y["year"], y["ceiling_cents"], y["available_cents"]) for y in row["by_year"]]
    [rd, platforms] = answer["lines"]
    assert rd["thresholds_announced"] == [95]
    assert platforms["after"]["paid_cents"] == 4 * M_EUR
    [pending] = answer["pending_commitments"]
    assert pending["commitment_id"] == refused.json()["commitment_id"]
    assert (pending["before"]["outcome"], pending["after"]["outcome"]) == ("refused", "committed")
    assert again.status_code == 201, again.text

    events = await read_events(
        topics, "funding.line", lambda evs: any(e.type.endswith("transferred.v1") for e in evs)
    )
    transfers = [e for e in events if e.type == "funding.line.transferred.v1"]
    assert [e.data["transfer_id"] for e in transfers] == [moved.json()["transfer_id"]]
    crossed = [e.data["threshold_percent"] for e in events if "threshold" in e.type]
    assert crossed == [80, 95]
