"""How the chaos run talks to the platform, as a careful real client would.

- HTTP: every command carries an ``Idempotency-Key``; an answer not received (connection refused
  or reset, timeout, 5xx while a store is down) is asked again with the same key, on any live
  instance of the service, until an answer comes or the command's patience runs out.
- Kafka: a command is published on ``calls.command`` with its ``command_id``; its answer is read
  on ``calls.command-result`` (by the ``Tap``); a command whose publication failed or whose
  answer is late is published again, the same command with the same id.

Every answer is a ``Reply``; status 0 means none came.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.kafka_acls import principal
from shared.topics import CALLS_COMMAND, COMMAND_SENDERS
from tests.chaos.stack import SERVICES, kafka_as, port_of

RETRY_AFTER_MAX = 2.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    attempts: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Platform:
    """HTTP commands with retries over the live instances of each service."""

    def __init__(self, http: httpx.AsyncClient, patience: float, rng: random.Random) -> None:
        self.http = http
        self.patience = patience
        self.rng = rng
        self.ports: dict[str, list[int]] = {name: [port_of(name)] for name in SERVICES}
        self.in_flight: Counter[str] = Counter()
        self.last_ok: dict[int, float] = {}
        self.last_ok_any = 0.0
        self.retries = 0

    async def call(
        self, service: str, method: str, path: str, token: str, key: str, body: Any = None
    ) -> Reply:
        headers = {"authorization": f"Bearer {token}", "idempotency-key": key}
        deadline = time.monotonic() + self.patience
        delay, attempts = 0.2, 0
        while True:
            port = self.rng.choice(self.ports[service])
            attempts += 1
            self.in_flight[service] += 1
            try:
                response = await self.http.request(
                    method, f"http://127.0.0.1:{port}{path}", json=body, headers=headers
                )
            except httpx.TransportError:
                response = None
            finally:
                self.in_flight[service] -= 1
            if response is not None and response.status_code < 500:
                if response.is_success:
                    self.last_ok[port] = self.last_ok_any = time.monotonic()
                return Reply(response.status_code, _json(response), attempts)
            if time.monotonic() + delay > deadline:
                return Reply(0, None, attempts)
            self.retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, RETRY_AFTER_MAX)

    async def read(self, service: str, path: str, token: str) -> Any:
        """A query during the final count: retried like a command, and it must succeed."""
        for _ in range(60):
            try:
                response = await self.http.get(
                    f"http://127.0.0.1:{port_of(service)}{path}",
                    headers={"authorization": f"Bearer {token}"},
                )
                if response.status_code < 500:
                    response.raise_for_status()
                    return response.json()
            except httpx.TransportError:
                pass
            await asyncio.sleep(1.0)
        raise RuntimeError(f"{service} did not answer GET {path}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class CommandBus:
    """Commands to calls over Kafka; answers come from the Tap's read of calls.command-result."""

    def __init__(self, patience: float, resend_after: float) -> None:
        self.patience = patience
        self.resend_after = resend_after
        self.results: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.republished = 0
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **kafka_as(principal(COMMAND_SENDERS)).options(),  # as the State's systems
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=5000,
            retry_backoff_ms=200,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    def answered(self, command_id: str, result: dict[str, Any]) -> None:
        """Called by the Tap for every answer read (the first one settles the command)."""
        future = self._future(command_id)
        if not future.done():
            future.set_result(result)

    def _future(self, command_id: str) -> asyncio.Future[dict[str, Any]]:
        if command_id not in self.results:
            self.results[command_id] = asyncio.get_running_loop().create_future()
        return self.results[command_id]

    async def send(self, token: str, command: dict[str, Any]) -> Reply:
        assert self._producer is not None
        command_id = str(command["command_id"])
        future = self._future(command_id)
        value = orjson.dumps(command)
        headers = [("authorization", f"Bearer {token}".encode())]
        deadline = time.monotonic() + self.patience
        attempts = 0
        while time.monotonic() < deadline:
            attempts += 1
            if attempts > 1:
                self.republished += 1
            try:
                await asyncio.wait_for(
                    self._producer.send_and_wait(
                        CALLS_COMMAND.name, value, key=command_id.encode(), headers=headers
                    ),
                    10,
                )
            except (KafkaError, TimeoutError):
                await asyncio.sleep(1.0)
                continue
            try:
                result = await asyncio.wait_for(asyncio.shield(future), self.resend_after)
            except TimeoutError:
                continue
            return _reply(result, attempts)
        return _reply(future.result(), attempts) if future.done() else Reply(0, None, attempts)


def _reply(result: dict[str, Any], attempts: int) -> Reply:
    """What HTTP would have answered: the accepted command's answer, or the refusal's detail."""
    body = result["answer"] if "answer" in result else result.get("detail")
    return Reply(int(result["status_code"]), body, attempts)
