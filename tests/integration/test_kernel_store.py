"""The outbox and idempotency code on the document store's real server (FerretDB here, MongoDB in
compose): guarded saves, a version conflict between two concurrent writers, processed ids."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shared.events.base import new_outbox_entry
from shared.store import AggregateStore, ConcurrencyConflict, Processed, create_mongo_client
from tests.integration.probe import Counted
from tests.support.infra import MONGO, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
async def store() -> AggregateStore:
    client = create_mongo_client(MONGO, "kernel-tests")
    return AggregateStore(client.get_database(unique("t_kernel_"))["aggregates"])


def entry(counter_id: str) -> object:
    return new_outbox_entry(
        Counted(counter_id=counter_id, by=1), source="t", key=counter_id, time=datetime.now(UTC)
    )


async def test_two_writers_of_the_same_version_conflict_and_only_the_first_lands(
    store: AggregateStore,
) -> None:
    await store.create("agg-1", {"n": 0})
    first = await store.load("agg-1")
    second = await store.load("agg-1")
    assert first is not None
    assert second is not None
    await store.save(first, {"n": 1}, [entry("agg-1")])  # type: ignore[list-item]
    with pytest.raises(ConcurrencyConflict):
        await store.save(second, {"n": 100}, [entry("agg-1")])  # type: ignore[list-item]
    document = await store.collection.find_one({"_id": "agg-1"})
    assert document is not None
    assert document["state"] == {"n": 1}
    assert document["version"] == 2
    assert len(document["outbox"]) == 1


async def test_creating_an_aggregate_twice_is_a_conflict(store: AggregateStore) -> None:
    await store.create("agg-2", {"n": 0})
    with pytest.raises(ConcurrencyConflict):
        await store.create("agg-2", {"n": 5})


async def test_concurrent_writers_retrying_on_conflict_lose_no_increment(
    store: AggregateStore,
) -> None:
    await store.create("agg-3", {"n": 0})

    async def increment(i: int) -> None:
        while True:
            loaded = await store.load("agg-3")
            assert loaded is not None
            try:
                await store.save(loaded, {"n": loaded.state["n"] + 1}, (), Processed(f"inc-{i}"))
                return
            except ConcurrencyConflict:
                await asyncio.sleep(0)

    await asyncio.gather(*(increment(i) for i in range(25)))
    loaded = await store.load("agg-3")
    assert loaded is not None
    assert loaded.state == {"n": 25}
    assert loaded.version == 26
    assert {p.id for p in loaded.processed} == {f"inc-{i}" for i in range(25)}


async def test_processed_ids_keep_their_answers_and_only_the_most_recent_are_kept(
    store: AggregateStore,
) -> None:
    await store.create("agg-4", {}, (), Processed("cmd:first", {"receipt": "R-1"}))
    for i in range(250):
        loaded = await store.load("agg-4")
        assert loaded is not None
        await store.save(loaded, {}, (), Processed(f"event-{i}"))
    loaded = await store.load("agg-4")
    assert loaded is not None
    assert loaded.answer_for("event-249") == {}
    assert loaded.answer_for("cmd:first") is None  # fell off the end of the kept window
    assert len(loaded.processed) == 200


async def test_lookups_by_id_and_by_a_list_of_ids_use_the_id_index(store: AggregateStore) -> None:
    """FerretDB 1.24 scanned the whole table for every _id lookup (deploy/local/ferretdb/*.patch):
    a save's filter and a relay's claim of a list of documents must search the _id index."""
    await store.create("agg-indexed", {"n": 0})
    for condition in ({"_id": "agg-indexed", "version": 1}, {"_id": {"$in": ["agg-indexed"]}}):
        explained = await store.collection.database.command(
            "explain", {"find": store.collection.name, "filter": condition}
        )
        planner = explained.get("queryPlanner", {})
        plan = " ".join(planner.get("Plan", [])) + str(planner.get("winningPlan", {}))
        assert any(word in plan for word in ("USING INDEX", "IDHACK", "IXSCAN")), explained
