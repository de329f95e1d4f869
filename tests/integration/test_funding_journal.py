"""A journal learns the newest version of many aggregates in one query (funding's start loads
every budget line), on the real store (FerretDB here, MongoDB in compose)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.funding.journal import JournalStore
from tests.support.commands import CommandLog
from tests.support.infra import MONGO, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def searches(commands: CommandLog) -> int:
    """Commands that looked for entries by aggregate (a scan of the journal on the local store)."""
    return sum("aggregate_id" in body.get("filter", {}) for body in commands.bodies)


@pytest.fixture
async def journal_db() -> AsyncIterator[tuple[AsyncDatabase[dict[str, Any]], CommandLog]]:
    commands = CommandLog()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO, event_listeners=[commands])
    database = client.get_database(unique("t_journal_"))
    yield database, commands
    await client.drop_database(database.name)
    await client.close()


async def test_a_start_learns_every_lines_newest_version_in_one_query_then_reads_by_id(
    journal_db: tuple[AsyncDatabase[dict[str, Any]], CommandLog],
) -> None:
    database, commands = journal_db
    writer = JournalStore(database["line_journal"])
    await writer.create("line-a", {"n": 1})
    for n in (2, 3):
        loaded = await writer.load("line-a")
        assert loaded is not None
        await writer.save(loaded, {"n": n})
    await writer.create("line-b", {"n": 1})

    starting = JournalStore(database["line_journal"])  # a new process knows nothing yet
    commands.clear()
    await starting.learn_newest(["line-a", "line-b", "line-c"])
    assert commands.names == ["find"]
    assert searches(commands) == 1

    a, b, c = [await starting.load(i) for i in ("line-a", "line-b", "line-c")]
    assert a is not None
    assert (a.version, a.state) == (3, {"n": 3})
    assert b is not None
    assert (b.version, b.state) == (1, {"n": 1})
    assert c is None  # never created: its newest version is searched as before
    # then by _id only, but for line-c, which no entry named: one search in all for the three
    assert searches(commands) == 2

    commands.clear()
    await starting.learn_newest(["line-a", "line-b"])  # known already: no query
    assert commands.names == []
