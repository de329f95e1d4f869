"""Driving the platform: dossier submissions on ``calls.command``, followed stage by stage.

Each submission is a ``submit-dossier`` command (JSON, bearer token in the ``authorization``
header) that calls validates, stores with its outbox and publishes as
``calls.dossier.submitted.v1``; funding and notify consume that event, and notify sends it to the
bench's webhook (and e-mails the dossier's contact). Progress is read from the broker itself: the
consumer groups' committed offsets, which move only after a handler has done its work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka_access import KafkaAccess
from shared.topics import CALLS_DOSSIER
from tests.support.sinks import SmtpSink, WebhookReceiver

CALL_ID = "BENCH-2025"
LEAD_POLE = "aerospace-valley"
STAGES = ("commands_consumed", "events_published", "funding_consumed", "notify_consumed")
GROUPS = {
    "commands_consumed": ("poles-calls-commands", "calls.command"),
    "funding_consumed": ("poles-funding", "calls.dossier"),
    "notify_consumed": ("poles-notify", "calls.dossier"),
}


def call_spec(now: datetime) -> dict[str, Any]:
    return {
        "call_id": CALL_ID,
        "kind": "innovation-platforms",
        "title": "Appel à projets plates-formes d'innovation (banc d'essai)",
        "funders": ["state", "cdc"],
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "deadline": (now + timedelta(days=30)).isoformat(),
        "budget_line_id": "intervention-structuring-projects",
    }


def dossier_content(platform_name: str) -> dict[str, Any]:
    """A realistic preliminary dossier (about 1 KB as a command, like the ceiling's messages)."""
    return {
        "platform_name": platform_name,
        "lead_pole_id": LEAD_POLE,
        "partner_pole_ids": ["pegase"],
        "carrier": {
            "name": "Association Plate-forme Composites",
            "siret": "44306184100047",
            "contact_email": "contact@pf-composites.example.fr",
        },
        "partners": [
            {"name": "Laboratoire des composites", "kind": "research"},
            {"name": "PME Usinage du Sud-Ouest", "kind": "sme"},
        ],
        "offer": {
            "equipment": ["autoclave", "banc d'essai de fatigue", "tomographe"],
            "services": ["location d'équipements", "essais", "formation"],
            "user_community": "PME et ETI de la filière aéronautique du grand Sud-Ouest",
            "open_to_smes": True,
        },
        "requested": {
            "investment_cents": 300_000_000,
            "operation_cents": 50_000_000,
            "studies_cents": 25_000_000,
        },
        "financing": [
            {"financer": "state", "amount_cents": 187_500_000},
            {"financer": "region", "amount_cents": 187_500_000, "region_code": "73"},
        ],
    }


@dataclass
class Feeder:
    """Publishes submissions and remembers when each left, by its platform name."""

    kafka: KafkaAccess
    """The State's systems' login (poles-command-senders)."""
    token: str
    run: str
    sent: dict[str, float] = field(default_factory=dict)
    _producer: AIOKafkaProducer | None = None
    _count: int = 0

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **self.kafka.options(), acks="all", enable_idempotence=True, linger_ms=1
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    def next_command(self) -> tuple[str, bytes]:
        self._count += 1
        name = f"{self.run}-{self._count:07d}"
        body = {
            "command_id": name,
            "type": "submit-dossier",
            "call_id": CALL_ID,
            "content": dossier_content(name),
        }
        return name, orjson.dumps(body)

    async def send(self, name: str, body: bytes) -> Any:
        """Queue one command; returns the future of its acknowledgement."""
        assert self._producer is not None
        headers = [("authorization", f"Bearer {self.token}".encode())]
        ack = await self._producer.send("calls.command", body, key=name.encode(), headers=headers)
        self.sent[name] = time.perf_counter()
        return ack

    async def burst(self, count: int) -> list[str]:
        """``count`` submissions as fast as the producer takes them."""
        commands = [self.next_command() for _ in range(count)]
        acks = [await self.send(name, body) for name, body in commands]
        await asyncio.gather(*acks)
        return [name for name, _ in commands]

    async def paced(self, rate: float, count: int) -> list[str]:
        """``count`` submissions at ``rate`` per second, on schedule (open loop)."""
        commands = [self.next_command() for _ in range(count)]
        start, acks = time.perf_counter(), []
        for index, (name, body) in enumerate(commands):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            acks.append(await self.send(name, body))
        await asyncio.gather(*acks)
        return [name for name, _ in commands]


class Progress:
    """How far each stage has gone, read from the broker and the receivers."""

    def __init__(self, kafka: KafkaAccess, webhooks: WebhookReceiver, mail: SmtpSink) -> None:
        self._admin = AIOKafkaAdminClient(**kafka.options())
        self._offsets = AIOKafkaConsumer(**kafka.options(), enable_auto_commit=False)
        self._webhooks = webhooks
        self._mail = mail
        self._dossier_partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self._admin.start()
        await self._offsets.start()
        partitions = range(CALLS_DOSSIER.partitions)
        self._dossier_partitions = [TopicPartition(CALLS_DOSSIER.name, p) for p in partitions]

    async def stop(self) -> None:
        await self._offsets.stop()
        await self._admin.close()

    async def committed(self, group: str, topic: str) -> int:
        offsets = await self._admin.list_consumer_group_offsets(group)
        return sum(max(meta.offset, 0) for tp, meta in offsets.items() if tp.topic == topic)

    async def snapshot(self) -> dict[str, int]:
        counts = {
            stage: await self.committed(group, topic) for stage, (group, topic) in GROUPS.items()
        }
        ends = await self._offsets.end_offsets(self._dossier_partitions)
        counts["events_published"] = sum(ends.values())
        counts["webhooks_received"] = self._webhooks.received
        counts["emails_received"] = self._mail.received
        return counts


Sample = tuple[float, int]
"""(seconds since the burst was published, how many a stage had done by then)."""


@dataclass(frozen=True)
class StageRates:
    """Events per second of each stage while the platform drained a burst."""

    submitted: int
    seconds: float
    rates: dict[str, float]
    done: dict[str, int]
    window: tuple[float, float]
    """The burst window: where the slower of funding and notify went from 10 % to 90 % of the
    burst (seconds since it was published); the end-to-end rate is measured there."""
    delivered: float
    """Webhooks the bench's receiver got per second in the burst window."""

    @property
    def end_to_end(self) -> float:
        return min(self.rates["funding_consumed"], self.rates["notify_consumed"])

    @property
    def delivered_per_consumed(self) -> float:
        """Webhooks delivered per second over events consumed per second, in the same window."""
        return self.delivered / self.end_to_end if self.end_to_end > 0 else 0.0


def window_of(samples: list[Sample], total: int) -> tuple[Sample, Sample] | None:
    """Where a stage went from 10 % to 90 % of ``total`` (start-up and tail left out); if it
    never reached 90 %, up to its last sample; if it did all of it between two samples, from the
    start."""
    if not samples or total <= 0:
        return None

    def first_at(share: float) -> Sample | None:
        return next(((t, c) for t, c in samples if c >= share * total), None)

    low = first_at(0.1) or samples[0]
    high = first_at(0.9) or samples[-1]
    if high[0] <= low[0]:
        low = (0.0, 0)
    return low, high


def window_rate(samples: list[Sample], total: int) -> float:
    """The stage's rate in its own 10 %-90 % window (``window_of``)."""
    window = window_of(samples, total)
    if window is None:
        return 0.0
    (start, before), (end, after) = window
    return (after - before) / (end - start) if end > start else 0.0


def count_at(samples: list[Sample], at: float) -> int:
    """What a stage had done at ``at``: its last sample then (0 before the first)."""
    return max((count for t, count in samples if t <= at), default=0)


def rate_between(samples: list[Sample], start: float, end: float) -> float:
    """A stage's rate between two instants of another stage's window."""
    if end <= start:
        return 0.0
    return (count_at(samples, end) - count_at(samples, start)) / (end - start)


async def drain_burst(
    feeder: Feeder, progress: Progress, count: int, max_seconds: float
) -> StageRates:
    """Publish ``count`` submissions at once and follow every stage until the last consumer has
    them all (or ``max_seconds`` pass)."""
    base = await progress.snapshot()
    samples: dict[str, list[Sample]] = {stage: [] for stage in base}
    started = time.perf_counter()
    sending = asyncio.create_task(feeder.burst(count))
    deadline = started + max_seconds
    done = dict.fromkeys(base, 0)
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
        now = await progress.snapshot()
        elapsed = time.perf_counter() - started
        done = {stage: now[stage] - base[stage] for stage in now}
        for stage, value in done.items():
            samples[stage].append((elapsed, value))
        if min(done["funding_consumed"], done["notify_consumed"]) >= count and sending.done():
            break
    await sending
    rates = {stage: window_rate(points, count) for stage, points in samples.items()}
    slower = min(("funding_consumed", "notify_consumed"), key=lambda stage: rates[stage])
    window = window_of(samples[slower], count)
    start, end = (window[0][0], window[1][0]) if window else (0.0, 0.0)
    delivered = rate_between(samples["webhooks_received"], start, end)
    return StageRates(count, time.perf_counter() - started, rates, done, (start, end), delivered)


async def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


@dataclass(frozen=True)
class Latency:
    rate: float
    sent: int
    received: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


async def measure_latency(
    feeder: Feeder, webhooks: WebhookReceiver, rate: float, seconds: float, settle: float = 15.0
) -> Latency:
    """Submissions at ``rate`` for ``seconds``; from each command's send to its webhook."""
    count = max(1, min(int(rate * seconds), 20_000))
    names = await feeder.paced(rate, count)
    await wait_until(lambda: all(name in webhooks.first_arrival for name in names), settle)
    latencies = sorted(
        (webhooks.first_arrival[name] - feeder.sent[name]) * 1000
        for name in names
        if name in webhooks.first_arrival
    )
    return Latency(
        rate=rate,
        sent=count,
        received=len(latencies),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        p999_ms=percentile(latencies, 0.999),
        max_ms=latencies[-1] if latencies else float("nan"),
    )
