"""The faults: SIGKILL of each service many times (some in the middle of a batch), of the broker
and of the document store; two instances of each service for the middle third of the run; and,
after each restart, how long processing took to resume.

On a cluster of three brokers, the broker faults are those a cluster must ride out while the
services keep running (none is restarted for them): SIGKILL of the leader of the busiest
partitions (``infra_kills`` times), of the active KRaft controller, and one broker down for a
minute. Each waits until every partition has all its replicas in sync again.

Recovery is measured from the restart to the next unit of work done:
- a service: from the new process's start (its boot counts) to its first answered command
  (HTTP 2xx) or its first event consumed or published (its own /metrics);
- the broker: from the moment it is ready again to the next event consumed by any service;
- a broker of three: from its kill to the next record written on a partition it led (the
  cluster moved the leadership and the producers followed; read by the run's own reader);
- the store: from the moment it is ready again to the next command it stored (HTTP 2xx) or
  event a service applied.
Service kills pause while the broker or the store is down, so each measure is of one fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.topics import ALL_TOPICS
from tests.chaos.client import Platform
from tests.chaos.stack import (
    SERVICES,
    Stack,
    active_controller,
    broker_target,
    kafka_as,
    port_of,
    ready,
    say,
)
from tests.chaos.tap import Tap

RESUME_LIMIT = 60.0
BROKER_DOWN_S = 60.0
IN_SYNC_LIMIT = 120.0
BUSIEST = 6
"""The busiest partitions: the leader of most of these is the one killed."""
LEADER, CONTROLLER = "kill -9 leader", "kill -9 controller"
BROKER = f"broker down {BROKER_DOWN_S:.0f} s"
Partition = tuple[str, int]
EVENTS, HANDLED, PUBLISHED = "events", "handled", "published"


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str
    mid_batch: bool
    down_s: float
    ready_s: float
    resume_s: float | None
    """None: no progress seen within RESUME_LIMIT after the restart."""


async def counters(http: httpx.AsyncClient, port: int) -> dict[str, float]:
    """What one process shows of its work: events consumed (any outcome; the calls command
    topic counts by acknowledgement), events applied to its store, events published."""
    try:
        response = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=2.0)
    except httpx.TransportError:
        return {}
    sums = {EVENTS: 0.0, HANDLED: 0.0, PUBLISHED: 0.0}
    for line in response.text.splitlines():
        value = line.rsplit(" ", 1)[-1]
        if line.startswith("poles_events_consumed_total{"):
            sums[EVENTS] += float(value)
            if 'outcome="handled"' in line:
                sums[HANDLED] += float(value)
        elif line.startswith("faststream_received_processed_messages_total{") and (
            'handler="calls.command"' in line and 'status="acked"' in line
        ):
            sums[EVENTS] += float(value)
            sums[HANDLED] += float(value)
        elif line.startswith("poles_outbox_published_total{"):
            sums[PUBLISHED] += float(value)
    return sums


BACKLOG = (
    "poles_consumer_lag_messages",
    "poles_outbox_pending_documents",
    "poles_notifications_pending",
)
"""The gauges of work a process still has: events not consumed, not published, not delivered."""


async def backlog(http: httpx.AsyncClient, port: int) -> float | None:
    """The sum of one process's BACKLOG gauges; None when its /metrics cannot be read."""
    try:
        response = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=2.0)
    except httpx.TransportError:
        return None
    if not response.is_success:
        return None
    total = 0.0
    for line in response.text.splitlines():
        if line.split("{", 1)[0].split(" ", 1)[0] in BACKLOG:
            total += float(line.rsplit(" ", 1)[-1])
    return total


class Gate:
    """Service faults may overlap one another; a broker or store fault waits for them to end
    and holds new ones back until its own measure is done."""

    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self._services = 0
        self._infrastructure = False

    @contextlib.asynccontextmanager
    async def service(self) -> AsyncIterator[None]:
        async with self._condition:
            await self._condition.wait_for(lambda: not self._infrastructure)
            self._services += 1
        try:
            yield
        finally:
            async with self._condition:
                self._services -= 1
                self._condition.notify_all()

    @contextlib.asynccontextmanager
    async def infrastructure(self) -> AsyncIterator[None]:
        async with self._condition:
            await self._condition.wait_for(lambda: not self._infrastructure)
            self._infrastructure = True
            await self._condition.wait_for(lambda: self._services == 0)
        try:
            yield
        finally:
            async with self._condition:
                self._infrastructure = False
                self._condition.notify_all()


@dataclass
class Chaos:
    stack: Stack
    platform: Platform
    busy: Callable[[str], bool]
    kills_per_service: int
    infra_kills: int
    rng: random.Random
    tap: Tap | None = None
    """The run's reader of every topic (needed on a cluster: busiest partitions, resume)."""
    brokers: int = 1
    broker_kills: int = field(init=False, default=0)
    gate: Gate = field(init=False, default_factory=Gate)
    kills: Counter[str] = field(init=False, default_factory=Counter)
    _killed: asyncio.Condition = field(init=False, default_factory=asyncio.Condition)
    faults: list[Fault] = field(init=False, default_factory=list)
    _measuring: dict[str, asyncio.Lock] = field(
        init=False, default_factory=lambda: defaultdict(asyncio.Lock)
    )
    """Per process: held from its kill until its resume is measured, so that a second
    instance is not retired while its own fault is still being measured."""
    http: httpx.AsyncClient = field(
        init=False, default_factory=lambda: httpx.AsyncClient(timeout=2.0)
    )

    async def run(self) -> None:
        try:
            await asyncio.gather(
                *(self._kill_service_again_and_again(name) for name in SERVICES),
                self._kill_infrastructure(),
                self._second_instances(),
            )
        finally:
            await self.http.aclose()

    def _progress_at_least(self, fraction: float) -> bool:
        return min(self.kills[name] for name in SERVICES) >= fraction * self.kills_per_service

    async def _until(self, fraction: float) -> None:
        async with self._killed:
            await self._killed.wait_for(lambda: self._progress_at_least(fraction))

    # -- services ---------------------------------------------------------------------------

    async def _kill_service_again_and_again(self, name: str) -> None:
        for number in range(self.kills_per_service):
            # A killed consumer leaves its group only when its session times out (10 s):
            # a few seconds between kills keep the group from rebalancing without end.
            await asyncio.sleep(self.rng.uniform(3.0, 8.0))
            async with self.gate.service():
                await self._kill_service(name, in_a_batch=number % 2 == 1)
            async with self._killed:
                self.kills[name] += 1
                self._killed.notify_all()

    async def _kill_service(self, name: str, in_a_batch: bool) -> None:
        second = name in self.stack.second and self.rng.random() < 0.5
        target, port = (f"{name}#2", port_of(name, 2)) if second else (name, port_of(name))
        if in_a_batch:
            deadline = time.monotonic() + 6.0
            while not self.busy(name) and time.monotonic() < deadline:  # noqa: ASYNC110 - a guess, not an event
                await asyncio.sleep(0.01)
        mid_batch = self.busy(name)
        async with self._measuring[target]:
            if second and name not in self.stack.second:  # retired while this fault waited
                target, port = name, port_of(name)
            killed_at = time.monotonic()
            await self.stack.kill(target)
            await asyncio.sleep(self.rng.uniform(0.3, 1.5))
            restarted_at = time.monotonic()
            restart = asyncio.create_task(self._restart(target))
            resumed = await self._service_resumed(port, restarted_at)
            ready = await restart - restarted_at
        self.faults.append(
            Fault(f"kill -9 {name}", target, mid_batch, restarted_at - killed_at, ready, resumed)
        )

    async def _restart(self, target: str) -> float:
        """Start the target again (a failed start is tried again, five times in all); when it is
        ready."""
        for attempt in range(5):
            try:
                await self.stack.restart(target)
                return time.monotonic()
            except RuntimeError as error:
                say(f"restarting {target} failed (attempt {attempt + 1}): {error}")
        raise RuntimeError(f"{target} does not start again")

    async def _service_resumed(self, port: int, since: float) -> float | None:
        while (elapsed := time.monotonic() - since) < RESUME_LIMIT:
            answered = self.platform.last_ok.get(port, 0.0)
            if answered > since:
                return answered - since
            shown = await counters(self.http, port)
            if shown.get(EVENTS, 0.0) + shown.get(PUBLISHED, 0.0) > 0:
                return time.monotonic() - since
            await asyncio.sleep(0.25 if elapsed > 0.25 else 0.05)
        return None

    async def _second_instances(self) -> None:
        """Instance 2 of every service from a third to two thirds of the kills."""
        await self._until(1 / 3)
        say("starting a second instance of each service")
        async with self.gate.service():
            for name in SERVICES:
                await self.stack.spawn_second(name)
            for name in SERVICES:
                if await ready(port_of(name, 2)):
                    self.platform.ports[name].append(port_of(name, 2))
        await self._until(2 / 3)
        say("stopping the second instances")
        for name in SERVICES:
            if port_of(name, 2) in self.platform.ports[name]:
                self.platform.ports[name].remove(port_of(name, 2))
            async with self.gate.service(), self._measuring[f"{name}#2"]:
                await self.stack.stop_second(name)

    # -- broker and store -------------------------------------------------------------------

    def _infrastructure_plan(self) -> list[str]:
        if self.brokers == 1:
            return ["kafka", "ferretdb"] * self.infra_kills
        brokers = [LEADER] * self.infra_kills + [BROKER, CONTROLLER]
        stores = ["ferretdb"] * self.infra_kills
        plan: list[str] = []
        while brokers or stores:
            plan += brokers[:1] + stores[:1]
            brokers, stores = brokers[1:], stores[1:]
        return plan

    async def _kill_infrastructure(self) -> None:
        targets = self._infrastructure_plan()
        for number, target in enumerate(targets):
            await self._until((number + 1) / (len(targets) + 1))
            async with self.gate.infrastructure():
                if target in (LEADER, BROKER, CONTROLLER):
                    await self._kill_broker(target)
                else:
                    await self._kill_infra(target)

    async def _kill_infra(self, target: str) -> None:
        say(f"kill -9 {target}")
        killed_at = time.monotonic()
        await self.stack.kill(target)
        self.broker_kills += target == "kafka"
        await asyncio.sleep(self.rng.uniform(1.0, 3.0))
        restarted_at = time.monotonic()
        ready_at = await self._restart(target)
        if target == "kafka":
            resumed = await self._resumed(ready_at, EVENTS, http_counts=False)
        else:
            resumed = await self._resumed(ready_at, HANDLED, http_counts=True)
        self.faults.append(
            Fault(
                f"kill -9 {target}",
                target,
                False,
                restarted_at - killed_at,
                ready_at - restarted_at,
                resumed,
            )
        )

    async def _resumed(self, since: float, work: str, http_counts: bool) -> float | None:
        ports = [port for name in SERVICES for port in self.platform.ports[name]]

        async def total() -> float:
            return sum([(await counters(self.http, port)).get(work, 0.0) for port in ports])

        before = await total()
        while (elapsed := time.monotonic() - since) < RESUME_LIMIT:
            if http_counts and self.platform.last_ok_any > since:
                return self.platform.last_ok_any - since
            if await total() > before:
                return time.monotonic() - since
            await asyncio.sleep(0.25 if elapsed > 0.25 else 0.05)
        return None

    # -- one broker of a cluster ------------------------------------------------------------

    async def _kill_broker(self, kind: str) -> None:
        """Kill one broker of the cluster (the busiest leader, any, or the active controller),
        restart it after a moment (a minute for BROKER), and measure how soon the partitions it
        led are written again."""
        await self._all_in_sync()
        leaders = await self._leaders()
        node = self._victim(kind, leaders)
        if node is None:
            say(f"{kind}: no broker to kill (leaders unknown); skipped")
            return
        led = {partition for partition, leader in leaders.items() if leader == node}
        target = broker_target(node)
        say(f"{kind}: broker {node} (leader of {len(led)} partitions)")
        killed_at = time.monotonic()
        await self.stack.kill(target)
        self.broker_kills += 1
        resumed = asyncio.create_task(self._written_again(led or set(leaders), killed_at))
        await asyncio.sleep(BROKER_DOWN_S if kind == BROKER else self.rng.uniform(1.0, 3.0))
        restarted_at = time.monotonic()
        ready_at = await self._restart(target)
        resume = await resumed
        self.faults.append(
            Fault(kind, target, False, restarted_at - killed_at, ready_at - restarted_at, resume)
        )

    def _victim(self, kind: str, leaders: dict[Partition, int]) -> int | None:
        if kind == CONTROLLER:
            return active_controller()
        if not leaders:
            return None
        if kind == BROKER:
            return self.rng.choice(sorted(set(leaders.values())))
        written = self.tap.written if self.tap is not None else Counter[Partition]()
        busiest = sorted(leaders, key=lambda partition: -written[partition])[:BUSIEST]
        return Counter(leaders[partition] for partition in busiest).most_common(1)[0][0]

    async def _written_again(self, partitions: set[Partition], since: float) -> float | None:
        """Seconds from ``since`` to the first record the tap reads on one of ``partitions``
        beyond what it had read then; None if none within RESUME_LIMIT."""
        if self.tap is None:
            return None
        marks = {partition: self.tap.last_offset.get(partition, -1) for partition in partitions}
        while (elapsed := time.monotonic() - since) < RESUME_LIMIT:
            if any(self.tap.last_offset.get(p, -1) > mark for p, mark in marks.items()):
                return elapsed
            await asyncio.sleep(0.1)
        return None

    async def _describe(self) -> list[dict[str, Any]]:
        admin = AIOKafkaAdminClient(
            **kafka_as().options(), client_id="chaos-faults", request_timeout_ms=10_000
        )
        await admin.start()
        try:
            described: list[dict[str, Any]] = await admin.describe_topics(
                [topic.name for topic in ALL_TOPICS]
            )
            return [topic for topic in described if topic["error_code"] == 0]
        finally:
            await admin.close()

    async def _leaders(self) -> dict[Partition, int]:
        """The leader of every partition of the platform's topics (the admin client's metadata;
        three tries)."""
        for attempt in range(3):
            try:
                return {
                    (topic["topic"], partition["partition"]): partition["leader"]
                    for topic in await self._describe()
                    for partition in topic["partitions"]
                    if partition["leader"] >= 0
                }
            except KafkaError as error:
                say(f"reading the partitions' leaders failed (attempt {attempt + 1}): {error!r}")
                await asyncio.sleep(2.0)
        return {}

    async def _all_in_sync(self) -> None:
        """Wait (IN_SYNC_LIMIT at most) until every partition has all its replicas in sync: a
        broker killed while another is still catching up would leave partitions below
        min.insync.replicas, which is two faults at once, not one."""
        deadline = time.monotonic() + IN_SYNC_LIMIT
        while time.monotonic() < deadline:
            with contextlib.suppress(KafkaError):
                behind = [
                    (topic["topic"], partition["partition"])
                    for topic in await self._describe()
                    for partition in topic["partitions"]
                    if set(partition["isr"]) != set(partition["replicas"])
                ]
                if not behind:
                    return
            await asyncio.sleep(1.0)
        say(f"partitions still missing a replica after {IN_SYNC_LIMIT:.0f}s; the fault goes on")
