"""``shared.store.ensure_indexes`` on the real store (FerretDB here, MongoDB in compose): the
first start creates every index in one ``createIndexes``; a restart only lists them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.store import ensure_indexes
from tests.support.commands import CommandLog
from tests.support.infra import MONGO, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
async def counted() -> AsyncIterator[tuple[AsyncCollection[dict[str, Any]], CommandLog]]:
    commands = CommandLog()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO, event_listeners=[commands])
    database = client.get_database(unique("t_indexes_"))
    yield database["items"], commands
    await client.drop_database(database.name)
    await client.close()


INDEXES = (
    IndexModel("state.key", unique=True, name="one_key"),
    [("state.status", ASCENDING), ("state.at", ASCENDING)],
    "state.region_codes",
)


async def test_the_first_start_creates_every_index_in_one_command_and_a_restart_writes_nothing(
    counted: tuple[AsyncCollection[dict[str, Any]], CommandLog],
) -> None:
    items, commands = counted
    await ensure_indexes(items, *INDEXES)
    assert commands.names.count("createIndexes") == 1
    names = set(await items.index_information())
    assert names == {"_id_", "one_key", "state.status_1_state.at_1", "state.region_codes_1"}

    commands.clear()
    await ensure_indexes(items, *INDEXES)
    assert commands.names == ["listIndexes"]

    await items.insert_one({"state": {"key": "a"}})
    with pytest.raises(DuplicateKeyError):
        await items.insert_one({"state": {"key": "a"}})
