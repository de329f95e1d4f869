"""A decision's follow-ups on the real store: the process dies right after a line's save (the
commitment not built, the receiving line not credited, a de-commitment not given back); the
service started again completes each of them exactly once (its first sweep, once it is ready),
and the balances read the same as if nothing had happened. Funding never reads its own topics
to get there."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.funding.app import create_app, load_lines
from services.funding.domain.commitment import Decommitment
from services.funding.domain.envelope import load_envelope
from services.funding.handlers.budget import Budget
from services.funding.metrics import BudgetMetrics
from services.funding.settings import FundingSettings
from services.funding.store import COMMITMENT_JOURNAL, COMMITMENTS, LINE_JOURNAL, FundingStore
from services.funding.tests.support import M_EUR, terms, transfer
from shared.clock import SystemClock
from shared.store import create_mongo_client, nobody_told
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def dies_between_the_saves(settings: FundingSettings) -> None:
    """A process that commits, de-commits and transfers, and dies after each decision's save,
    before its follow-up."""
    clock = SystemClock()
    mongo = create_mongo_client(settings.mongo_url.get_secret_value(), "crashing-funding")
    store = FundingStore(mongo[settings.database_name], nobody_told, clock, attempts=20)
    envelope = load_envelope(settings.envelope_file)
    budget = Budget(
        store.books,
        BudgetMetrics(CollectorRegistry(), envelope),
        store.refresh_commitment_view,
    )
    await store.create_indexes()
    await load_lines(store.books.lines, envelope)
    await budget.commit(terms("intervention.platforms", (2009, 3 * M_EUR), commitment_id="c-0"))
    decommitted = Decommitment("d-1", 2009, M_EUR, "dge", "smaller")

    async def died(*_: Any) -> None:
        raise SystemExit("killed after the save")

    budget.follow_up = died  # type: ignore[method-assign,assignment]
    for step in (
        budget.commit(terms("intervention.platforms", (2009, 2 * M_EUR), commitment_id="c-1")),
        budget.decommit("c-0", decommitted),
        budget.transfer(transfer(10 * M_EUR, at=clock.now())),
    ):
        with pytest.raises(SystemExit):
            await step
    assert await store.find_commitments({"commitment_id": "c-1"}) == []
    await mongo.close()


async def test_the_service_started_again_completes_each_follow_up_exactly_once(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(FundingSettings)
    await dies_between_the_saves(settings)

    for _ in range(2):  # started twice: the second start finds nothing left to do
        async with serve(create_app(settings)) as client:
            # The sweep's first pass runs once the service is ready, beside its consumers.
            await eventually(lambda: nothing_pending(settings))
            platforms = await client.get("/lines/intervention.platforms", headers=auth("cdc"))
            balance = await client.get(
                "/lines/intervention.platforms/balance", headers=auth("operator")
            )
            made = await client.get("/commitments/c-1", headers=auth("operator"))
            given_back = await client.get("/commitments/c-0", headers=auth("operator"))

    mongo = create_mongo_client(settings.mongo_url.get_secret_value(), "check")
    db = mongo[settings.database_name]
    assert await db[COMMITMENT_JOURNAL].count_documents({"aggregate_id": "c-1"}) == 1
    assert await db[COMMITMENTS].count_documents({"_id": "c-1"}) == 1
    assert await db[LINE_JOURNAL].count_documents({"decision_id": "t-1"}) == 2  # sent, received
    assert await db[LINE_JOURNAL].count_documents({"decision_id": "d-1"}) == 1
    assert await db[LINE_JOURNAL].count_documents({"pending": {"$exists": True}}) == 0
    assert await db[COMMITMENT_JOURNAL].count_documents({"pending": {"$exists": True}}) == 0
    await mongo.close()

    assert made.status_code == 200, made.text
    assert made.json()["amount_cents"] == 2 * M_EUR
    assert given_back.json()["remaining_cents"] == 2 * M_EUR
    line = platforms.json()
    assert (line["amount_cents"], line["committed_cents"]) == (115 * M_EUR, 4 * M_EUR)
    assert {key: balance.json()[key] for key in ("amount_cents", "committed_cents")} == {
        "amount_cents": 115 * M_EUR,
        "committed_cents": 4 * M_EUR,
    }


async def nothing_pending(settings: FundingSettings) -> bool:
    mongo = create_mongo_client(settings.mongo_url.get_secret_value(), "check")
    db = mongo[settings.database_name]
    pending = {"pending": {"$exists": True}}
    left = [await db[name].find_one(pending) for name in (LINE_JOURNAL, COMMITMENT_JOURNAL)]
    await mongo.close()
    return left == [None, None]
