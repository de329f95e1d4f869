"""``python -m tests.bench.store_lookups [--mongo URL] [--documents N]``: what one lookup and one
guarded update by ``_id`` cost on a collection of N documents, the two operations every
aggregate save makes. On FerretDB 1.24 unpatched both grow with N (a table scan each); with
deploy/local/ferretdb/id-index.patch they stay flat. Prints figures; never fails on time."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from pymongo import AsyncMongoClient

OPERATIONS = 500


async def measure(url: str, documents: int) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
    database = f"bench_lookups_{uuid.uuid4().hex[:8]}"
    collection = client[database]["aggregates"]
    try:
        for start in range(0, documents, 1000):
            stop = min(start + 1000, documents)
            await collection.insert_many(
                [{"_id": f"a{i}", "version": 1, "state": {"n": i}} for i in range(start, stop)]
            )
        ids = [f"a{(i * 7919) % documents}" for i in range(OPERATIONS)]
        started = time.perf_counter()
        for aggregate_id in ids:
            await collection.find_one({"_id": aggregate_id})
        lookup_ms = (time.perf_counter() - started) / OPERATIONS * 1000
        started = time.perf_counter()
        for aggregate_id in dict.fromkeys(ids):
            await collection.update_one(
                {"_id": aggregate_id, "version": 1}, {"$set": {"version": 2}}
            )
        updates = len(dict.fromkeys(ids))
        update_ms = (time.perf_counter() - started) / updates * 1000
        print(f"{documents} documents: lookup by _id {lookup_ms:.2f} ms,", end=" ")
        print(f"guarded update {update_ms:.2f} ms")
    finally:
        await client.drop_database(database)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mongo", default="mongodb://127.0.0.1:27017")
    parser.add_argument("--documents", type=int, nargs="+", default=[1000, 20000])
    args = parser.parse_args()
    for documents in args.documents:
        asyncio.run(measure(args.mongo, documents))


if __name__ == "__main__":
    main()
