"""Receipt numbers on the real store: submissions that ask together share one ``$inc`` per call,
and every submission still gets its own number, none reused, none skipped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from services.calls.store import CALLS, MongoQueries
from shared.store import create_mongo_client
from shared.store_metrics import StoreCommandMetrics
from tests.support.infra import MONGO, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
async def numbering() -> AsyncIterator[tuple[MongoQueries, CollectorRegistry]]:
    registry = CollectorRegistry()
    client = create_mongo_client(
        MONGO, "calls-receipts-tests", listeners=[StoreCommandMetrics("calls", registry)]
    )
    database = client.get_database(unique("t_receipts_"))
    await database[CALLS].insert_many([{"_id": "A", "state": {}}, {"_id": "B", "state": {}}])
    yield MongoQueries(database), registry
    await client.drop_database(database.name)
    await client.close()


def numbered(registry: CollectorRegistry) -> float:
    return (
        registry.get_sample_value(
            "poles_store_commands_total",
            {"service": "calls", "command": "findAndModify", "outcome": "succeeded"},
        )
        or 0.0
    )


async def test_twenty_submissions_at_once_are_numbered_in_one_statement_per_call(
    numbering: tuple[MongoQueries, CollectorRegistry],
) -> None:
    queries, registry = numbering
    first = await queries.next_receipt_number("A")
    before = numbered(registry)

    answers = await asyncio.gather(
        *(queries.next_receipt_number("A" if i % 4 else "B") for i in range(20))
    )

    a_numbers = sorted(n for i, n in enumerate(answers) if i % 4)
    b_numbers = sorted(n for i, n in enumerate(answers) if not i % 4)
    assert first == 1
    assert a_numbers == list(range(2, 17))
    assert b_numbers == list(range(1, 6))
    assert numbered(registry) - before == 2


async def test_an_unknown_call_fails_only_its_own_submission(
    numbering: tuple[MongoQueries, CollectorRegistry],
) -> None:
    queries, _ = numbering
    answers = await asyncio.gather(
        queries.next_receipt_number("A"),
        queries.next_receipt_number("nowhere"),
        return_exceptions=True,
    )
    assert answers[0] == 1
    assert isinstance(answers[1], LookupError)
