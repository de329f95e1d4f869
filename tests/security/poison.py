"""Poison messages for a service's consumer, and what the tests check after sending them.

Five kinds per topic, all on one key (one partition, so a valid event sent after them waits for
them): a body that is not JSON, a known type whose data breaks its schema, a type nobody knows,
a body of about 900 KB (under the broker's 1 MB limit), and a record without CloudEvents headers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from shared.cloudevents import CloudEvent
from shared.events.base import EVENT_TYPES
from shared.events.calls import DossierSelected
from shared.settings import ServiceSettings
from shared.topics import Topic
from tests.support.infra import MONGO, Isolation, serve
from tests.support.kafka import eventually, publish_event, publish_raw, read_topic

HUGE = 900 * 1024
DOSSIER = "d-after-poison"
"""The valid event sent behind the poison, on the poison's key."""
VOLATILE = ("outbox", "outbox_lease_until", "lease_until")
"""Fields the outbox relay and the dispatcher change on their own; not the service's data."""


def ce_headers(event_id: str, event_type: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_id", event_id.encode()),
        ("ce_type", event_type.encode()),
        ("ce_source", b"/poison"),
        ("ce_specversion", b"1.0"),
        ("ce_time", b"2010-05-11T09:00:00+00:00"),
    ]


def known_type_on(topic: Topic) -> str:
    return next(name for name, model in sorted(EVENT_TYPES.items()) if model.topic == topic)


def poisons(topic: Topic) -> list[tuple[str, list[tuple[str, bytes]], bytes]]:
    """(name, headers, body) of each poison for ``topic``."""
    known = known_type_on(topic)
    return [
        ("invalid-json", ce_headers(f"{topic.name}-json", known), b'{"dossier_id": "d-1",'),
        ("wrong-schema", ce_headers(f"{topic.name}-schema", known), b'{"amount_cents": "many"}'),
        ("unknown-type", ce_headers(f"{topic.name}-type", "calls.dossier.exploded.v9"), b"{}"),
        (
            "huge-body",
            ce_headers(f"{topic.name}-huge", known),
            orjson.dumps({"padding": "x" * HUGE}),
        ),
        ("no-headers", [], orjson.dumps({"dossier_id": "d-1", "pole_id": "minalogic"})),
    ]


async def send_poisons(isolation: Isolation, topics: list[Topic], key: bytes) -> int:
    """Publish every poison on every topic; return how many were sent."""
    sent = 0
    for topic in topics:
        for _name, headers, body in poisons(topic):
            await publish_raw(isolation.topic_prefix + topic.name, body, key, headers)
            sent += 1
    return sent


async def dead_letters(isolation: Isolation, service: str, count: int) -> list[Any]:
    topic = f"{isolation.topic_prefix}deadletter.{service}"
    return await read_topic(topic, lambda records: len(records) >= count, seconds=15)


def check_dead_letter(record: Any, service: str, origin_topics: set[str]) -> None:
    headers = {name: value.decode(errors="replace") for name, value in record.headers}
    assert headers["dlt-consumer"] == service
    assert headers["dlt-origin-topic"] in origin_topics
    assert 1 <= int(headers["dlt-attempts"]) <= 3
    assert headers["dlt-error-type"]
    assert "dlt-origin-offset" in headers
    assert "dlt-error" in headers


async def store_snapshot(settings: ServiceSettings) -> dict[str, list[Any]]:
    """Every document of the service's database, without the fields background jobs move."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO)
    try:
        db = client[settings.database_name]
        snapshot: dict[str, list[Any]] = {}
        for name in sorted(await db.list_collection_names()):
            documents = await db[name].find({}).sort("_id", 1).to_list()
            snapshot[name] = [
                {k: v for k, v in doc.items() if k not in VOLATILE} for doc in documents
            ]
        return snapshot
    finally:
        await client.close()


async def quiet_store(settings: ServiceSettings, seconds: float = 15) -> dict[str, list[Any]]:
    """The store once start-up work (loading reference data, relaying it) has settled."""
    deadline = time.monotonic() + seconds
    previous = await store_snapshot(settings)
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        current = await store_snapshot(settings)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the store kept changing; nothing to compare poison against")


def selected(**changes: Any) -> DossierSelected:
    """The valid decision sent behind the poison."""
    fields: dict[str, Any] = {
        "dossier_id": DOSSIER,
        "call_id": "PF-2008",
        "call_kind": "innovation-platforms",
        "pole_id": "aerospace-valley",
        "region_codes": ["73"],
        "platform_name": "Plate-forme après le poison",
        "decided_at": datetime(2009, 6, 15, 10, 0, tzinfo=UTC),
        "decision_year": 2009,
        "state_grant_cents": 100_000_000,
        "requested_total_cents": 100_000_000,
    }
    return DossierSelected(**{**fields, **changes})


Applied = Callable[[httpx.AsyncClient, CloudEvent], Awaitable[Any]]
"""Whether the service has applied the event (a truthy value once it has)."""


@dataclass
class Poisoned:
    """What a poison run measured: the dead letters, the store around the poison, the times."""

    service: str
    origins: set[str]
    sent: int
    dead: list[Any]
    before: dict[str, list[Any]]
    after_poison: dict[str, list[Any]]
    all_dead_after: float
    applied_after: float

    def check(self) -> None:
        """Every poison dead-lettered with its origin, the store untouched, all within seconds."""
        assert len(self.dead) == self.sent
        for record in self.dead:
            check_dead_letter(record, self.service, self.origins)
        assert self.after_poison == self.before
        assert self.all_dead_after < 10, (
            f"{self.sent} poison messages took {self.all_dead_after:.1f}s"
        )
        assert self.applied_after < 5


async def poison_then_event(
    isolation: Isolation,
    settings: ServiceSettings,
    app: FastAPI,
    topics: Sequence[Topic],
    event: DossierSelected,
    applied: Applied,
) -> Poisoned:
    """Poison every topic the service consumes, then send ``event`` on the same key and wait
    until ``applied`` says the service has it."""
    async with serve(app) as client:
        before = await quiet_store(settings)
        started = time.monotonic()
        sent = await send_poisons(isolation, list(topics), key=DOSSIER.encode())
        dead = await dead_letters(isolation, settings.service, sent)
        all_dead_after = time.monotonic() - started
        after_poison = await store_snapshot(settings)

        published = time.monotonic()
        cloud_event = await publish_event(isolation, event, key=DOSSIER)
        await eventually(lambda: applied(client, cloud_event), seconds=5)
        applied_after = time.monotonic() - published
    origins = {isolation.topic_prefix + topic.name for topic in topics}
    return Poisoned(
        settings.service, origins, sent, dead, before, after_poison, all_dead_after, applied_after
    )
