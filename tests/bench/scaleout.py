"""Scaling out a consumer: one funding process, then two in the same consumer group.

Each run has its own topics (a prefix) and its own database, so the second starts from the same
empty state as the first. A backlog of ``calls.dossier.submitted.v1`` events waits on the topic
when the instances start together, and the group's committed offsets give its consumption rate.
Funding reads every dossier event and acts on the decisions only, so this measures the consumer
itself (fetch, CloudEvent and data validation, dispatch, commit per batch), which is what a
second process on the second core can share; a consumer bound by the store's single writer
(notify recording deliveries on FerretDB) gains little on this machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from shared.events.base import new_outbox_entry
from shared.events.calls import DossierSubmitted
from shared.kafka_acls import acls, apply_acls, principal
from shared.topics import ALL_TOPICS, create_topics
from tests.bench.load import CALL_ID, LEAD_POLE, window_rate
from tests.bench.stack import Stack, kafka_as

SERVICE = "funding"


@dataclass(frozen=True)
class ScaleRun:
    instances: int
    events: int
    consumed: int
    rate: float
    partitions_by_member: dict[str, list[int]]


async def run(stack: Stack, instances: int, events: int, max_seconds: float = 25.0) -> ScaleRun:
    """Publish the backlog, start the instances together, and follow the group's committed
    offsets; the rate is taken between 10 % and 90 % of the backlog, once the group has formed."""
    prefix = f"scale{instances}."
    group = f"{prefix}poles-{SERVICE}"
    await create_topics(kafka_as(), ALL_TOPICS, prefix=prefix)
    await apply_acls(kafka_as(), acls(prefix))  # the instances run as the service's principal
    await _publish_backlog(prefix, events)
    login = kafka_as(principal(SERVICE))
    assert login.password is not None
    ports = [18010 + 10 * instances + index for index in range(instances)]
    started = time.perf_counter()
    for index, port in enumerate(ports):
        stack.spawn(
            f"services.{SERVICE}.app",
            {
                "POLES_TOPIC_PREFIX": prefix,
                "POLES_MONGO_DATABASE": f"bench_scale{instances}_{SERVICE}",
                "POLES_INSTANCE": str(index + 1),
                "POLES_HTTP_PORT": str(port),
                "POLES_KAFKA_USERNAME": str(login.username),
                "POLES_KAFKA_PASSWORD": login.password.get_secret_value(),
            },
            f"{SERVICE}-scale{instances}-{index + 1}.log",
        )
    admin = AIOKafkaAdminClient(**kafka_as().options())
    await admin.start()
    try:
        members: dict[str, list[int]] = {}
        samples, consumed = [], 0
        deadline = started + 30 + max_seconds  # room to start the processes
        while consumed < events and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
            consumed = await _consumed(admin, group, prefix)
            samples.append((time.perf_counter() - started, consumed))
            if len(members) < instances:
                members = await assignment(admin, group, "calls.dossier")
        return ScaleRun(instances, events, consumed, window_rate(samples, events), members)
    finally:
        await admin.close()
        stack.kill_spawned()


async def _consumed(admin: AIOKafkaAdminClient, group: str, prefix: str) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    topic = prefix + "calls.dossier"
    return sum(max(meta.offset, 0) for tp, meta in offsets.items() if tp.topic == topic)


async def assignment(admin: AIOKafkaAdminClient, group: str, topic_suffix: str) -> dict[str, Any]:
    """Which partitions of the topic each member of the group holds, by its client id."""
    found: dict[str, list[int]] = {}
    for response in await admin.describe_consumer_groups([group]):
        for described in response.groups:
            state, members = described[2], described[5]
            if state != "Stable":
                return {}
            for member in members:
                client_id, raw = member[1], member[4]
                decoded = ConsumerProtocolMemberAssignment.decode(raw)
                partitions = [
                    p for topic, parts in decoded.assignment if topic.endswith(topic_suffix)
                    for p in parts
                ]  # fmt: skip
                found[f"{client_id}/{member[0][-6:]}"] = sorted(partitions)
    return found


async def _publish_backlog(prefix: str, events: int) -> None:
    producer = AIOKafkaProducer(
        **kafka_as().options(), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        now = datetime.now(UTC)
        acks = []
        for index in range(events):
            dossier_id = str(uuid.uuid4())
            data = DossierSubmitted(
                dossier_id=dossier_id,
                call_id=CALL_ID,
                call_kind="innovation-platforms",
                pole_id=LEAD_POLE,
                partner_pole_ids=["pegase"],
                region_codes=["73", "72"],
                platform_name=f"scale-{index:06d}",
                contact_email="contact@pf-composites.example.fr",
                version=1,
                carrier_siret="44306184100047",
                requested_investment_cents=300_000_000,
                requested_operation_cents=50_000_000,
                requested_studies_cents=25_000_000,
                requested_total_cents=375_000_000,
                receipt_number=f"{CALL_ID}-{index + 1:04d}",
                submitted_at=now,
            )
            event = new_outbox_entry(data, source="/bench", key=dossier_id, time=now).cloud_event()
            acks.append(
                await producer.send(
                    prefix + "calls.dossier",
                    event.kafka_value(),
                    key=dossier_id.encode(),
                    headers=event.kafka_headers(),
                )
            )
        await asyncio.gather(*acks)
    finally:
        await producer.stop()
