"""Grouped loads and writes (``shared.store.GroupCommit``) on the real store (FerretDB here,
MongoDB in compose), counted with a PyMongo command listener: concurrent loads share a find,
concurrent saves and creates share a bulk write, and each caller gets its own conflict."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo.monitoring import CommandStartedEvent

from shared.store import WRITE_GROUP, AggregateStore, ConcurrencyConflict, create_mongo_client
from tests.support.commands import CommandLog
from tests.support.infra import MONGO, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
COUNTED = {"find", "insert", "update"}


class Statements(CommandLog):
    """The finds, inserts and updates started (the statements a group saves)."""

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name in COUNTED:
            super().started(event)


@pytest.fixture
async def counted() -> AsyncIterator[tuple[AggregateStore, Statements]]:
    statements = Statements()
    client = create_mongo_client(MONGO, "store-grouping-tests", listeners=[statements])
    database = client.get_database(unique("t_group_"))
    yield AggregateStore(database["aggregates"]), statements
    await client.drop_database(database.name)
    await client.close()


async def seed(store: AggregateStore, count: int) -> None:
    await store.collection.insert_many(
        [{"_id": f"a{i}", "version": 1, "state": {"n": i}, "processed": []} for i in range(count)]
    )


async def test_twenty_concurrent_loads_are_one_or_two_finds(
    counted: tuple[AggregateStore, Statements],
) -> None:
    store, statements = counted
    await seed(store, 20)
    statements.names.clear()
    loaded = await asyncio.gather(*(store.load(f"a{i}") for i in range(20)), store.load("none"))
    assert [item.state["n"] if item else None for item in loaded] == [*range(20), None]
    assert 1 <= statements.names.count("find") <= 2, statements.names


async def test_twenty_concurrent_saves_one_stale_are_one_bulk_and_that_callers_conflict(
    counted: tuple[AggregateStore, Statements],
) -> None:
    store, statements = counted
    await seed(store, 20)
    loaded = [await store.load(f"a{i}") for i in range(20)]
    stale = loaded[7]
    assert stale is not None
    await store.save(stale, {"n": "first"})
    statements.names.clear()
    outcomes = await asyncio.gather(
        *(store.save(item, {"n": "again"}) for item in loaded if item is not None),
        return_exceptions=True,
    )
    assert [i for i, outcome in enumerate(outcomes) if outcome is not None] == [7]
    assert isinstance(outcomes[7], ConcurrencyConflict)
    assert statements.names == ["update", "find"]  # one bulk, and the read-back of tokens
    assert (await store.load("a7")).state == {"n": "first"}  # type: ignore[union-attr]
    assert (await store.load("a8")).version == 2  # type: ignore[union-attr]


async def test_twenty_concurrent_creates_with_one_duplicate_id(
    counted: tuple[AggregateStore, Statements],
) -> None:
    store, statements = counted
    await seed(store, 1)
    statements.names.clear()
    ids = [f"new{i}" for i in range(19)] + ["a0"]
    outcomes = await asyncio.gather(
        *(store.create(aggregate_id, {"created": True}) for aggregate_id in ids),
        return_exceptions=True,
    )
    assert outcomes[:19] == [None] * 19
    assert isinstance(outcomes[19], ConcurrencyConflict)
    assert statements.names == ["insert"]
    assert await store.collection.count_documents({"state.created": True}) == 19


async def test_a_group_at_the_bound_is_one_bulk_that_works(
    counted: tuple[AggregateStore, Statements],
) -> None:
    """FerretDB 1.24 unpatched hangs on 100 updates in one command (see shared/store.py): a full
    group of guarded saves, and the next caller in a second bulk, answer at once."""
    store, statements = counted
    await seed(store, WRITE_GROUP + 1)
    loaded = await asyncio.gather(*(store.load(f"a{i}") for i in range(WRITE_GROUP + 1)))
    statements.names.clear()
    async with asyncio.timeout(20):
        await asyncio.gather(*(store.save(item, {"saved": True}) for item in loaded if item))
    assert statements.names == ["update", "update"]
    assert await store.collection.count_documents({"version": 2}) == WRITE_GROUP + 1
