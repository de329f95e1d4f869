"""The local store's logins (issue 17): on a store started by deploy/local/ferretdb.sh, a
service's login reads and writes its own database and is refused another's (an error, not an
empty answer), an anonymous connection reads nothing, and root may do all. FerretDB itself
authenticates but does not authorize; the proxy in front of it (ferretdb/logins.go) does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from tests.support.infra import MONGO_ADDRESS, TEST_LOCAL_DIR, unique
from tests.support.store_logins import ROOT_USER, secrets_file, store_url

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(
        not secrets_file(TEST_LOCAL_DIR).is_file(),
        reason="test store started without logins: restart it (deploy/local/ferretdb.sh)",
    ),
]

UNAUTHORIZED = 13
Client = AsyncMongoClient[dict[str, object]]


def client(user: str | None) -> Client:
    url = store_url(MONGO_ADDRESS, TEST_LOCAL_DIR, user) if user else MONGO_ADDRESS
    return AsyncMongoClient(url, serverSelectionTimeoutMS=5000)


@pytest.fixture
async def collection_name() -> AsyncIterator[str]:
    """A private collection in poles_calls and poles_funding, dropped by root afterwards."""
    name = unique("t_logins_")
    yield name
    root = client(ROOT_USER)
    try:
        for database in ("poles_calls", "poles_funding"):
            await root[database].drop_collection(name)
    finally:
        await root.close()


async def test_a_service_login_has_its_own_database_only(collection_name: str) -> None:
    root, calls = client(ROOT_USER), client("calls")
    try:
        await root.poles_funding[collection_name].insert_one({"_id": "f1", "secret": "funding"})

        own = calls.poles_calls[collection_name]
        await own.insert_one({"_id": "c1", "n": 1})
        await own.update_one({"_id": "c1"}, {"$inc": {"n": 1}})
        assert await own.find_one({"_id": "c1"}) == {"_id": "c1", "n": 2}

        other = calls.poles_funding[collection_name]
        with pytest.raises(OperationFailure) as read:
            await other.find_one({"_id": "f1"})
        assert read.value.code == UNAUTHORIZED
        with pytest.raises(OperationFailure) as write:
            await other.insert_one({"_id": "c2"})
        assert write.value.code == UNAUTHORIZED
        with pytest.raises(OperationFailure) as listing:
            await calls.list_database_names()
        assert listing.value.code == UNAUTHORIZED

        # root may do all, and saw no write of calls in funding's database
        assert await root.poles_calls[collection_name].find_one({"_id": "c1"}) == {
            "_id": "c1",
            "n": 2,
        }
        assert [d async for d in root.poles_funding[collection_name].find()] == [
            {"_id": "f1", "secret": "funding"}
        ]
        assert "poles_funding" in await root.list_database_names()
    finally:
        await root.close()
        await calls.close()


async def test_anonymous_reads_nothing(collection_name: str) -> None:
    root, anonymous = client(ROOT_USER), client(None)
    try:
        await root.poles_calls[collection_name].insert_one({"_id": "c1"})
        assert (await anonymous.admin.command("ping"))["ok"] == 1  # it may connect, no more
        with pytest.raises(OperationFailure) as read:
            await anonymous.poles_calls[collection_name].find_one({})
        assert read.value.code == UNAUTHORIZED
        with pytest.raises(OperationFailure) as write:
            await anonymous.poles_calls[collection_name].insert_one({"_id": "c2"})
        assert write.value.code == UNAUTHORIZED
    finally:
        await root.close()
        await anonymous.close()


async def test_a_wrong_password_is_refused() -> None:
    url = store_url(MONGO_ADDRESS, TEST_LOCAL_DIR, "notify").replace("@", "x@", 1)
    wrong: Client = AsyncMongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        with pytest.raises(OperationFailure):
            await wrong.poles_notify.list_collection_names()
    finally:
        await wrong.close()
