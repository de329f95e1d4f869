"""Cursors left open do not stop the store (FerretDB here, MongoDB in compose).

FerretDB 1.24 kept a query open on one of SQLite's 100 pooled connections for as long as its
cursor lived. Cursors a client leaves open (read past the first batch but not to the end, or
dropped with their client while the connection lives on) exhausted the pool; the next query on
that connection then waited for ever for a connection, and every command on the database hung:
in ``make chaos``, funding's index creation and every write timed out for minutes.
``deploy/local/ferretdb/find-cursor-frees-its-connection.patch`` reads a cursor's remaining
documents into memory once its first batch is sent, as MongoDB keeps cursors without pinning
anything. MongoDB passes this test as it stands.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from tests.support.infra import MONGO, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LEFT_OPEN = 150
"""More cursors than SQLite's pool has connections (100)."""
ANSWERS_WITHIN_SECONDS = 5.0


@pytest.fixture
async def database() -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    # One connection: every cursor and the commands after them share it, as in the hang.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        MONGO, maxPoolSize=1, serverSelectionTimeoutMS=5000
    )
    database = client.get_database(unique("t_cursors_"))
    await database["items"].insert_many([{"_id": f"i{n:03}", "n": n} for n in range(40)])
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_cursors_left_open_on_one_connection_do_not_stop_the_database(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    items = database["items"]
    left_open: list[AsyncCursor[dict[str, Any]]] = []
    try:
        async with asyncio.timeout(60):
            for _ in range(LEFT_OPEN):
                cursor = items.find({}, batch_size=2)
                await cursor.next()  # the first batch read, the rest left on the server
                left_open.append(cursor)
        async with asyncio.timeout(ANSWERS_WITHIN_SECONDS):
            assert await items.find_one({"_id": "i007"}) == {"_id": "i007", "n": 7}
            await items.insert_one({"_id": "late", "n": -1})
            await items.create_index("n")
            assert await items.count_documents({}) == 41
    finally:
        for cursor in left_open:
            await cursor.close()


async def test_a_cursor_read_over_many_batches_gives_every_document_once_in_order(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    found = await database["items"].find({"n": {"$gte": 5}}, batch_size=3).sort("_id").to_list()
    assert [item["n"] for item in found] == list(range(5, 40))
