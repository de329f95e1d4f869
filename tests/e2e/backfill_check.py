"""A backfilled subscription on the story's data (issue 16, part 2): once the story has played,
an integrator subscribes a webhook of its own to the decisions on money (some of the story's
integrator types, on three topics) ``since`` an instant before the story. It must receive
every matching event the topics hold, once each, in the backfill's order (each partition in
offset order, merged by the event's time, then topic, partition and offset), each one the
story's live subscriber got too, signed with the subscription's secret and carrying its
delivery's id; then a live event after them.

Not all the story's integrator types: a backfill sends its events one at a time, each once the
previous one is delivered (measured here: 0.16 to 0.5 s each on the shared 2-core machine, more
when it is busier); every dossier event of the story would add a minute or more."""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from standardwebhooks import Webhook

from shared.cloudevents import CloudEvent
from shared.topics import CALLS_DOSSIER, FUNDING_COMMITMENT, FUNDING_LINE
from tests.integration.test_notify_webhooks import Receiver, webhook_receiver
from tests.story.platform import KafkaOptions, Platform, eventually, send
from tests.story.steps.notifications import INTEGRATOR_TYPES
from tests.support.kafka import TopicReader, cloud_event

TYPES = [
    "calls.dossier.selected.v1",
    "calls.dossier.funded.v1",
    "calls.dossier.funding-refused.v1",
    "funding.commitment.made.v1",
    "funding.line.threshold-crossed.v1",
]
TOPICS = (CALLS_DOSSIER, FUNDING_COMMITMENT, FUNDING_LINE)
"""Where ``TYPES`` are published."""
Place = tuple[datetime, str, int, int]
"""A record's place in a backfill: its event's time, topic, partition, offset."""


async def in_backfill_order(kafka: KafkaOptions, prefix: str) -> list[CloudEvent]:
    """The events of ``TYPES`` on the topics now, in the order a backfill sends them: every
    record of each partition in offset order (those of other types too: a partition's place
    in the merge depends on all its records), the partitions merged by the smallest head
    (``heapq.merge``), each event at its first record."""
    async with TopicReader([prefix + topic.name for topic in TOPICS], kafka) as reader:
        records = await reader.read_to_end()
    partitions: defaultdict[tuple[str, int], list[tuple[Place, CloudEvent]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        event = cloud_event(record)
        assert event is not None, record  # the services publish CloudEvents only
        place = (event.time, record.topic, record.partition, record.offset)
        partitions[(record.topic, record.partition)].append((place, event))
    ordered: list[CloudEvent] = []
    seen: set[str] = set()
    for _, event in heapq.merge(*partitions.values(), key=lambda item: item[0]):
        if event.id not in seen and event.type in TYPES:
            seen.add(event.id)
            ordered.append(event)
    return ordered


async def check_backfill(p: Platform, began: datetime, kafka: KafkaOptions, prefix: str) -> None:
    integrator = p.tokens("integrator")
    assert all(t.startswith(tuple(INTEGRATOR_TYPES)) for t in TYPES)  # the live one gets them
    got_live = set(p.receivers.webhooks.event_ids)
    async with webhook_receiver() as receiver:
        body = {
            "channel": "webhook",
            "target": receiver.url,
            "event_types": TYPES,
            "since": began.isoformat(),
        }
        started = time.monotonic()
        sub = await send(p.notify, "POST", "/subscriptions", integrator, body, "late-integrator")
        assert sub["backfill"]["state"] == "running", sub

        async def done() -> Any:
            read = await send(p.notify, "GET", f"/subscriptions/{sub['id']}", integrator)
            return read if read["backfill"]["done"] else None

        finished = await eventually(done, "the backfill", seconds=300)
        found, took = finished["backfill"]["found"], time.monotonic() - started
        print(f"backfill: {found} events in {took:.1f} s")
        past = await in_backfill_order(kafka, prefix)
        assert {e.type.split(".")[0] for e in past} == {"calls", "funding"}  # topics merged
        assert {e.id for e in past} <= got_live, "each was delivered live too"
        assert finished["backfill"]["found"] == len(past)
        assert receiver.event_ids() == [e.id for e in past]

        live = await _a_live_event(p, receiver, len(past))
        assert receiver.event_ids() == [*(e.id for e in past), live]
        await _check_deliveries(p, receiver, sub, past)


async def _a_live_event(p: Platform, receiver: Receiver, after: int) -> str:
    """The State commits a project on an R&D line: the subscription's first live event."""
    body = {
        "beneficiary": {"kind": "project", "id": "P-LIVE", "name": "Projet après la reprise"},
        "years": [{"year": 2012, "amount_cents": 10_000_000}],
        "reason": "a commitment after the backfill",
    }
    made = await send(
        p.funding, "POST", "/lines/intervention.rd/commitments", p.tokens("state"), body, "live"
    )

    async def arrived() -> dict[str, Any] | None:
        if len(receiver.requests) <= after:
            return None
        event: dict[str, Any] = orjson.loads(receiver.requests[after][1])
        return event

    event = await eventually(arrived, "the live event", seconds=60)
    assert event["type"] == "funding.commitment.made.v1", event
    assert event["data"]["commitment_id"] == made["commitment_id"]
    return str(event["id"])


async def _check_deliveries(
    p: Platform, receiver: Receiver, sub: dict[str, Any], past: list[CloudEvent]
) -> None:
    """Each webhook, the past ones and the live one after them, verifies with the
    subscription's secret (the Standard Webhooks library, not notify's code); a past one
    carries the event as published; each ``webhook-id`` is the id of the delivery notify shows
    for its event: backfilled for the past ones, not for the live one."""
    integrator = p.tokens("integrator")
    webhook_ids = set()
    for index, (headers, raw) in enumerate(receiver.requests):
        sent = Webhook(sub["secret"]).verify(raw, headers)
        if index < len(past):
            event = past[index]
            assert (sent["id"], sent["type"], sent["data"]) == (event.id, event.type, event.data)
            assert datetime.fromisoformat(sent["time"]) == event.time
        webhook_ids.add(headers["webhook-id"])
        delivery = await send(p.notify, "GET", f"/deliveries/{headers['webhook-id']}", integrator)
        assert (delivery["subscription_id"], delivery["event_id"]) == (sub["id"], sent["id"])
        assert delivery["status"] == "delivered"
        assert delivery["backfilled"] is (index < len(past)), delivery
    assert len(webhook_ids) == len(receiver.requests) == len(past) + 1
