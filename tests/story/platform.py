"""What the story talks to, as any outside system would: the four HTTP APIs with bearer tokens,
and the calls service's Kafka command topic (the State's and the CDC's systems)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from shared.auth import mint_token
from shared.cloudevents import CloudEvent
from shared.topics import CALLS_COMMAND, CALLS_COMMAND_RESULT
from tests.story.timeline import Timeline
from tests.story.traces import StepTraces
from tests.support.kafka import read_topic
from tests.support.sinks import Receivers

Json = dict[str, Any]
KafkaOptions = dict[str, Any]
"""aiokafka client options: the broker's address and a principal's login. Every raw Kafka client
of the story is made from these: the demo's come from ``local.kafka_as``, the test's from
``tests.support``."""
T = TypeVar("T")
R = TypeVar("R")


class StoryError(RuntimeError):
    """The platform answered something the story did not expect."""


@dataclass
class Tokens:
    secret: str
    _headers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def __call__(self, role: str, subject: str | None = None) -> dict[str, str]:
        """Headers with a bearer token for ``role`` (one role per token, as in real life)."""
        key = (role, subject or role.replace(":", "-"))
        if key not in self._headers:
            token = mint_token(self.secret, key[1], [role], ttl_seconds=4 * 3600)
            self._headers[key] = {"Authorization": f"Bearer {token}"}
        return self._headers[key]


@dataclass
class Commands:
    """Commands sent on ``calls.command``; their answers read on ``calls.command-result``."""

    kafka: KafkaOptions
    topic_prefix: str = ""
    traces: StepTraces | None = None
    """Given, each command starts a trace of its own (its ``traceparent`` header), kept for the
    step that sends it."""

    async def run(self, commands: list[tuple[Json, dict[str, str]]]) -> dict[str, Json]:
        """Send each (command, headers) and wait for every answer: {command_id: answer data}."""
        producer = AIOKafkaProducer(**self.kafka, acks="all")
        await producer.start()
        try:
            for command, headers in commands:
                if self.traces is not None:
                    headers = {**headers, "traceparent": self.traces.command_traceparent()}
                await producer.send(
                    self.topic_prefix + CALLS_COMMAND.name,
                    orjson.dumps(command),
                    key=str(command["command_id"]).encode(),
                    headers=[(name.lower(), value.encode()) for name, value in headers.items()],
                )
            await producer.flush()
        finally:
            await producer.stop()
        wanted = {str(c["command_id"]) for c, _ in commands}
        return await self._answers(wanted, seconds=60 + 3 * len(wanted))

    async def _answers(self, wanted: set[str], seconds: float) -> dict[str, Json]:
        answers: dict[str, Json] = {}
        done = 0

        def all_answered(records: list[Any]) -> bool:
            nonlocal done
            for record in records[done:]:
                event = CloudEvent.from_kafka(record.headers, record.value)
                if event.data.get("command_id") in wanted:
                    answers[str(event.data["command_id"])] = {"type": event.type, **event.data}
            done = len(records)
            return wanted <= answers.keys()

        topic = self.topic_prefix + CALLS_COMMAND_RESULT.name
        try:
            await read_topic(topic, all_answered, seconds, self.kafka)
        except AssertionError:
            missing = sorted(wanted - answers.keys())[:5]
            raise StoryError(f"no answer to the commands {missing} in {seconds}s") from None
        return answers


@dataclass
class Platform:
    calls: httpx.AsyncClient
    funding: httpx.AsyncClient
    contracts: httpx.AsyncClient
    notify: httpx.AsyncClient
    tokens: Tokens
    commands: Commands
    timeline: Timeline
    receivers: Receivers
    concurrency: int = 8
    traces: StepTraces = field(default_factory=StepTraces)
    """Each step's trace, from the answers of HTTP clients made with ``traces.record`` as a
    response hook (the demo's)."""

    async def each(self, items: Iterable[T], job: Callable[[T], Awaitable[R]]) -> list[R]:
        """Run ``job`` on every item, a few at once, results in the items' order."""
        limit = asyncio.Semaphore(self.concurrency)

        async def limited(item: T) -> R:
            async with limit:
                return await job(item)

        return list(await asyncio.gather(*(limited(item) for item in items)))


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Json | None = None,
    key: str | None = None,
    expect: tuple[int, ...] = (200, 201),
) -> Any:
    """One request; its JSON answer, or StoryError with what the service said."""
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    response = await client.request(method, url, headers=headers, json=body)
    if response.status_code not in expect:
        raise StoryError(f"{method} {url}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, seconds: float = 300, every: float = 0.5
) -> T:
    """Poll ``check`` until it returns something truthy (the platform reacts asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise StoryError(f"still waiting after {seconds}s for {what}")
        await asyncio.sleep(every)
