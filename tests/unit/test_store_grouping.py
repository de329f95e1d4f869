"""The store's grouping (``shared.store.GroupCommit`` in ``AggregateStore``) on a fake collection:
concurrent loads and writes of one collection share one statement, and every caller still gets its
own result, its own conflict and its own error."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import InsertOne, UpdateOne
from pymongo.errors import AutoReconnect, BulkWriteError, WriteError

from shared.events.base import new_outbox_entry
from shared.store import (
    AggregateStore,
    ConcurrencyConflict,
    GroupCommit,
    Loaded,
    Outcomes,
    WriteOutcomeUnknown,
)
from tests.integration.probe import Counted

Document = dict[str, Any]


class Cursor:
    def __init__(self, documents: list[Document]) -> None:
        self._documents = iter(documents)

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Document:
        try:
            return next(self._documents)
        except StopIteration:
            raise StopAsyncIteration from None


@dataclass
class BulkResult:
    matched_count: int


def matches(document: Document, condition: Any) -> bool:
    for key, wanted in condition.items():
        if isinstance(wanted, dict) and "$in" in wanted:
            if document.get(key) not in wanted["$in"]:
                return False
        elif document.get(key) != wanted:
            return False
    return True


@dataclass
class FakeCollection:
    """Enough of an AsyncCollection for AggregateStore: find, bulk_write (unordered, MongoDB's
    BulkWriteError details), a statement log, and a way to fail or to meddle between statements."""

    documents: dict[str, Document] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    fail_with: Exception | None = None
    refuse: set[str] = field(default_factory=set)  # ids whose insert gets a non-duplicate error
    after_bulk: Any = None
    name: str = "aggregates"

    def find(self, condition: Document, projection: Document, **_: Any) -> Cursor:
        self.statements.append("find")
        return Cursor([dict(d) for d in self.documents.values() if matches(d, condition)])

    async def bulk_write(self, operations: list[Any], ordered: bool) -> BulkResult:
        assert ordered is False
        self.statements.append(f"bulk_write:{len(operations)}")
        await asyncio.sleep(0.01)  # a round trip: others arrive meanwhile
        if self.fail_with is not None:
            raise self.fail_with
        errors: list[Document] = []
        matched = 0
        for index, operation in enumerate(operations):
            if isinstance(operation, InsertOne):
                document = operation._doc
                if document["_id"] in self.refuse:
                    errors.append({"index": index, "code": 121, "errmsg": "validation"})
                elif document["_id"] in self.documents:
                    errors.append({"index": index, "code": 11000, "errmsg": "duplicate key"})
                else:
                    self.documents[document["_id"]] = dict(document)
            else:
                assert isinstance(operation, UpdateOne)
                condition: Document = dict(operation._filter)
                update: Any = operation._doc
                found = self.documents.get(condition["_id"])
                if found is not None and matches(found, condition):
                    found.update(update["$set"])
                    matched += 1
        if self.after_bulk is not None:
            self.after_bulk(self)
        if errors:
            raise BulkWriteError({"writeErrors": errors, "nMatched": matched})
        return BulkResult(matched)


def store_on(collection: FakeCollection) -> AggregateStore:
    return AggregateStore(collection)  # type: ignore[arg-type]


def seeded(count: int, version: int = 1) -> FakeCollection:
    return FakeCollection(
        {f"a{i}": {"_id": f"a{i}", "version": version, "state": {"n": i}} for i in range(count)}
    )


async def test_a_lone_load_is_one_find_and_concurrent_loads_share_the_next() -> None:
    collection = seeded(30)
    store = store_on(collection)
    assert (await store.load("a3")) == Loaded("a3", 1, {"n": 3}, ())
    collection.statements.clear()
    results = await asyncio.gather(*(store.load(f"a{i}") for i in range(20)), store.load("gone"))
    assert [r.state["n"] if r else None for r in results] == [*range(20), None]
    assert collection.statements == ["find"]  # all queued before the first find started
    assert await store.load("a1") is not None


async def test_loads_that_arrive_during_a_find_go_together_in_the_next() -> None:
    collection = seeded(30)
    store = store_on(collection)
    first = asyncio.ensure_future(store.load("a0"))
    await asyncio.sleep(0)  # the first find is in flight
    rest = await asyncio.gather(*(store.load(f"a{i}") for i in range(1, 20)))
    assert (await first) is not None
    assert all(loaded is not None for loaded in rest)
    assert collection.statements == ["find", "find"]


async def test_concurrent_saves_are_one_bulk_and_only_the_stale_one_conflicts() -> None:
    collection = seeded(20)
    store = store_on(collection)
    loaded = [Loaded(f"a{i}", 1 if i != 7 else 0, {}, ()) for i in range(20)]
    outcomes = await asyncio.gather(
        *(store.save(item, {"n": -1}) for item in loaded), return_exceptions=True
    )
    conflicts = [i for i, outcome in enumerate(outcomes) if outcome is not None]
    assert conflicts == [7]
    assert isinstance(outcomes[7], ConcurrencyConflict)
    assert collection.statements == ["bulk_write:20", "find"]  # the read-back, only then
    assert collection.documents["a7"]["version"] == 1
    assert all(collection.documents[f"a{i}"]["version"] == 2 for i in range(20) if i != 7)


async def test_saves_that_all_match_cost_no_read_back() -> None:
    collection = seeded(5)
    store = store_on(collection)
    await asyncio.gather(*(store.save(Loaded(f"a{i}", 1, {}, ()), {}) for i in range(5)))
    assert collection.statements == ["bulk_write:5"]


async def test_two_saves_of_one_version_in_one_bulk_the_second_conflicts() -> None:
    collection = seeded(1)
    store = store_on(collection)
    outcomes = await asyncio.gather(
        store.save(Loaded("a0", 1, {}, ()), {"by": "first"}),
        store.save(Loaded("a0", 1, {}, ()), {"by": "second"}),
        return_exceptions=True,
    )
    assert outcomes[0] is None
    assert isinstance(outcomes[1], ConcurrencyConflict)
    assert collection.documents["a0"]["state"] == {"by": "first"}


async def test_a_save_written_over_before_its_read_back_is_unknown_not_a_conflict() -> None:
    collection = seeded(2)
    store = store_on(collection)

    def another_writer(fake: FakeCollection) -> None:
        fake.documents["a0"].update(version=3, write_id="someone-else")

    collection.after_bulk = another_writer
    outcomes = await asyncio.gather(
        store.save(Loaded("a0", 1, {}, ()), {}),
        store.save(Loaded("a1", 0, {}, ()), {}),  # stale: makes the bulk read back
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], WriteOutcomeUnknown)
    assert isinstance(outcomes[0], AutoReconnect)  # retried as a dropped connection is
    assert isinstance(outcomes[1], ConcurrencyConflict)


async def test_creates_share_a_bulk_and_each_gets_its_own_duplicate_or_error() -> None:
    collection = seeded(1)
    collection.refuse = {"bad"}
    store = store_on(collection)
    ids = [f"new{i}" for i in range(18)] + ["a0", "bad"]
    outcomes = await asyncio.gather(
        *(store.create(aggregate_id, {}) for aggregate_id in ids), return_exceptions=True
    )
    assert outcomes[:18] == [None] * 18
    assert isinstance(outcomes[18], ConcurrencyConflict)
    assert isinstance(outcomes[19], WriteError)
    assert not isinstance(outcomes[19], ConcurrencyConflict)
    assert collection.statements == ["bulk_write:20"]


async def test_a_failed_bulk_goes_to_every_caller_in_it() -> None:
    collection = seeded(3)
    collection.fail_with = AutoReconnect("connection closed")
    store = store_on(collection)
    outcomes = await asyncio.gather(
        store.create("x", {}),
        *(store.save(Loaded(f"a{i}", 1, {}, ()), {}) for i in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, AutoReconnect) for outcome in outcomes)


async def test_the_relay_is_told_after_each_successful_write_only() -> None:
    collection = seeded(2)
    told: list[str] = []
    store = AggregateStore(collection, lambda _, document_id: told.append(document_id))  # type: ignore[arg-type]
    events = [
        new_outbox_entry(Counted(counter_id="a", by=1), source="t", key="a", time=datetime.now(UTC))
    ]
    await asyncio.gather(
        store.save(Loaded("a0", 1, {}, ()), {}, events),
        store.save(Loaded("a1", 0, {}, ()), {}, events),  # stale
        store.create("a9", {}, events),
        return_exceptions=True,
    )
    assert sorted(told) == ["a0", "a9"]


async def test_batches_are_bounded_and_a_cancelled_caller_is_left_out() -> None:
    batches: list[list[int]] = []

    async def run(requests: list[int]) -> Outcomes:
        batches.append(requests)
        await asyncio.sleep(0.01)
        return [request * 10 for request in requests]

    group: GroupCommit[int, int] = GroupCommit(run, limit=4)
    first = asyncio.ensure_future(group.submit(0))
    await asyncio.sleep(0)
    others = [asyncio.ensure_future(group.submit(i)) for i in range(1, 10)]
    others[0].cancel()
    results = await asyncio.gather(first, *others[1:])
    assert results == [0, *(i * 10 for i in range(2, 10))]
    assert batches == [[0], [2, 3, 4, 5], [6, 7, 8, 9]]


async def test_an_error_of_the_whole_batch_goes_to_each_caller() -> None:
    async def run(requests: list[int]) -> Outcomes:
        raise RuntimeError("down")

    group: GroupCommit[int, int] = GroupCommit(run, limit=4)
    outcomes = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    with pytest.raises(RuntimeError):
        await group.submit(5)
