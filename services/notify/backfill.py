"""Backfilled subscriptions: a subscription created with ``since`` first receives every matching
event published since that instant, read from the topics, in order, before the live ones.

Reading. A one-off Kafka consumer without a group (``KafkaEventLog``: aiokafka, the service's
own login from ``KafkaAccess``; notify's principal may read every topic it consumes, reading by
assignment needs no group ACL) is assigned every partition of ``CONSUMED_TOPICS`` (listed by an
admin client's ``describe_topics``, as the lag gauge lists them). It starts at
``offsets_for_times(since)`` (the records' publication timestamps) and stops at the end offsets
taken once the subscription was stored, so that an event published later is the live
consumer's: it matches a subscription already in the store. An event below those ends may be
recorded live too: both are the same delivery (its id comes from the target and the event id).
Records are decoded as the live consumer does and selected by the very rule of live recording
(``Subscription.asks_for``: types, filters, ``may_see``).

Order. The partitions are merged by the event's time, then topic, partition and offset
(``domain.backfill``), each partition in offset order. Each matching event is recorded as a
``backfilled`` delivery (the same id, CloudEvent and signature a live one has), the dispatcher is
told, and the backfill waits until it is delivered or has given up before the next: one at a
time, so the receiver gets them in order, with the dispatcher's retries. Meanwhile the
dispatcher holds the subscription's live deliveries back (``Subscription.backfilling``); when
the reader reaches a held one, it takes it over (``Deliveries.take_over``). Done, the backfill
releases the held ones and normal concurrent delivery resumes.

Crash safety. The progress (end offsets, offsets reached, events found) is saved on the
subscription after each matching event (and every ``SAVE_EVERY`` others): a notify that dies
mid-backfill resumes from there; an event recorded but not yet saved as reached is found
recorded again (same id) and is waited for, not sent again. Every instance runs the backfills it
finds (``run``); two instances on one subscription read the same events in the same order and
record the same deliveries: redundant, never doubled. A paused subscription's backfill stops and
goes on once it is resumed.

Stopping. Every loop here (the backfiller's, each backfill's over the records, the reader's
fetches, the wait for a delivery) calls ``stop_if_cancelled`` once a turn: a callee that swallows
the cancellation no longer keeps a loop, and so notify's shutdown, running. The reader is closed
by ``aclosing``: its consumer stops when the backfill is cancelled, not when it is collected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from services.notify.domain.backfill import Place, next_partition
from services.notify.domain.delivery import Delivery, new_delivery
from services.notify.domain.subscription import Position, Subscription, backfill_progressed
from services.notify.store import Deliveries, SubscriptionSearch
from shared.clock import Clock
from shared.cloudevents import CloudEvent, EnvelopeError
from shared.kafka_access import KafkaAccess
from shared.repository import Repository
from shared.waiting import stop_if_cancelled, woken_or_timed_out

log = logging.getLogger(__name__)

SAVE_EVERY = 500
"""Events read without a match between two saves of the progress."""
FETCH_MS = 1000


Records = AsyncGenerator[tuple[Place, CloudEvent | None], None]
"""A backfill's records in order, each with its event (None: not a CloudEvent)."""


class EventLog(Protocol):
    async def ends(self) -> list[Position]:
        """Every partition's end offset now."""
        ...

    def read(
        self, since: datetime, ends: Sequence[Position], reached: Sequence[Position]
    ) -> Records:
        """The records from ``reached`` (else from ``since``) up to ``ends``, in backfill
        order; None for a record that is not a CloudEvent (the live consumer dead-letters it)."""
        ...


class HeldDeliveries(Protocol):
    async def release_held(self, subscription_id: str) -> None:
        """The subscription's live deliveries held back while it backfilled are due now."""
        ...


def _key(p: Position | Place) -> tuple[str, int]:
    return p.topic, p.partition


def decoded(record: ConsumerRecord[bytes, bytes]) -> CloudEvent | None:
    try:
        return CloudEvent.from_kafka(record.headers or (), record.value)
    except (EnvelopeError, ValueError):
        return None


def place_of(record: ConsumerRecord[bytes, bytes], event: CloudEvent | None) -> Place:
    time = event.time if event is not None else datetime.fromtimestamp(record.timestamp / 1000, UTC)
    return Place(time, record.topic, record.partition, record.offset)


@dataclass(frozen=True)
class KafkaEventLog:
    access: KafkaAccess
    topics: Sequence[str]
    client_id: str

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **self.access.options(),
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
        )

    async def _partitions(self) -> list[TopicPartition]:
        """Every partition of the topics, from the broker's metadata (an admin client's
        ``describe_topics``, as the lag gauge reads them); a topic missing is left out."""
        admin = AIOKafkaAdminClient(**self.access.options(), client_id=self.client_id)
        await admin.start()
        try:
            described = await admin.describe_topics(list(self.topics))
        finally:
            await admin.close()
        return sorted(
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if topic["error_code"] == 0
            for partition in topic["partitions"]
        )

    @staticmethod
    async def _fetch(
        consumer: AIOKafkaConsumer,
        needy: list[tuple[str, int]],
        end: dict[tuple[str, int], int],
        buffers: dict[tuple[str, int], deque[tuple[Place, CloudEvent | None]]],
    ) -> None:
        """Read more of the partitions whose buffer is empty; drop those at their end."""
        batch = await consumer.getmany(
            *(TopicPartition(*key) for key in needy), timeout_ms=FETCH_MS, max_records=500
        )
        for tp, records in batch.items():
            key = (tp.topic, tp.partition)
            for record in records:
                if record.offset < end[key]:
                    event = decoded(record)
                    buffers[key].append((place_of(record, event), event))
        for key in needy:
            if not buffers[key] and await consumer.position(TopicPartition(*key)) >= end[key]:
                del buffers[key]

    async def ends(self) -> list[Position]:
        partitions = await self._partitions()
        if not partitions:
            return []
        consumer = self._consumer()
        await consumer.start()
        try:
            offsets = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        return [
            Position(topic=tp.topic, partition=tp.partition, offset=o) for tp, o in offsets.items()
        ]

    async def read(
        self, since: datetime, ends: Sequence[Position], reached: Sequence[Position]
    ) -> Records:
        end = {_key(p): p.offset for p in ends}
        start = {_key(p): p.offset for p in reached}
        if not end:
            return
        consumer = self._consumer()
        await consumer.start()
        try:
            tps = [TopicPartition(t, n) for t, n in end]
            consumer.assign(tps)
            unknown = [tp for tp in tps if (tp.topic, tp.partition) not in start]
            if unknown:
                at = int(since.timestamp() * 1000)
                found = await consumer.offsets_for_times(dict.fromkeys(unknown, at))
                for tp in unknown:
                    hit, key = found.get(tp), (tp.topic, tp.partition)
                    start[key] = hit.offset if hit else end[key]
            buffers: dict[tuple[str, int], deque[tuple[Place, CloudEvent | None]]] = {}
            for tp in tps:
                key = (tp.topic, tp.partition)
                if start[key] < end[key]:
                    consumer.seek(tp, start[key])
                    buffers[key] = deque()
            while buffers:
                stop_if_cancelled()
                needy = [key for key, records in buffers.items() if not records]
                if needy:
                    await self._fetch(consumer, needy, end, buffers)
                    continue
                chosen = next_partition({key: records[0][0] for key, records in buffers.items()})
                place, event = buffers[chosen].popleft()
                if not buffers[chosen] and place.offset + 1 >= end[chosen]:
                    del buffers[chosen]
                yield place, event
        finally:
            await consumer.stop()


@dataclass
class Backfiller:
    """Runs the backfills of the subscriptions that have one (each instance, every
    ``poll_seconds`` or when ``wake`` is called)."""

    subscriptions: Repository[Subscription]
    search: SubscriptionSearch
    deliveries: Deliveries
    leases: HeldDeliveries
    log: EventLog
    tell_dispatcher: Callable[[Collection[Delivery]], None]
    clock: Clock
    poll_seconds: float = 10.0
    wait_seconds: tuple[float, float] = (0.02, 0.5)
    _running: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                try:
                    for sub_id in await self.search.backfilling():
                        if sub_id not in self._running:
                            self._start(sub_id)
                except Exception:
                    log.exception("looking for backfills failed; trying again")
                stop_if_cancelled()  # before the wait: a turn that swallowed it ends now
                await woken_or_timed_out(self._wake, self.poll_seconds)
        finally:
            for task in self._running.values():
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    def _start(self, sub_id: str) -> None:
        task = asyncio.create_task(self.backfill(sub_id))
        self._running[sub_id] = task

        def done(task: asyncio.Task[None]) -> None:
            self._running.pop(sub_id, None)
            if not task.cancelled() and task.exception() is not None:
                log.error("backfill of %s failed; it resumes", sub_id, exc_info=task.exception())

        task.add_done_callback(done)

    async def backfill(self, sub_id: str) -> None:
        """Run one subscription's backfill from where it stands to its end."""
        sub = (await self.subscriptions.require(sub_id)).state
        if sub.backfill is None or not sub.backfilling or sub.status != "active":
            return
        ends = sub.backfill.ends
        if ends is None:
            ends = await self.log.ends()
            sub = await self._progress(sub, ends, [], 0)
        assert sub.backfill is not None
        records = self.log.read(sub.backfill.since, ends, sub.backfill.positions)
        async with contextlib.aclosing(records):  # its consumer stops, even when cancelled
            if not await self._send_all(sub, ends, records):
                return  # paused or deleted: a resumed subscription goes on from where it was
        await self.leases.release_held(sub.id)
        self.tell_dispatcher(())

    async def _send_all(self, sub: Subscription, ends: list[Position], records: Records) -> bool:
        """Send the matching records in turn, saving the progress; True once saved as done,
        False when the subscription stopped backfilling (paused, deleted) on the way."""
        assert sub.backfill is not None  # backfill() checked it
        reached = {_key(p): p.offset for p in sub.backfill.positions}
        found, unsaved = sub.backfill.found, 0
        async for place, event in records:
            stop_if_cancelled()
            reached[_key(place)] = place.offset + 1
            if event is None or not sub.asks_for(event.type, event.data):
                unsaved += 1
                if unsaved < SAVE_EVERY:
                    continue
            else:
                found += 1
                await self._send_in_turn(sub, event)
            unsaved = 0
            sub = await self._progress(sub, ends, positions(reached), found)
            if sub.status != "active" or not sub.backfilling:
                return False
        await self._progress(sub, ends, positions(reached), found, done=True)
        return True

    async def _progress(
        self,
        sub: Subscription,
        ends: list[Position],
        reached: list[Position],
        found: int,
        done: bool = False,
    ) -> Subscription:
        applied = await self.subscriptions.apply(
            sub.id, lambda s, now: backfill_progressed(s, ends, reached, found, now, done)
        )
        if applied.saved is not None:
            return applied.saved.state
        return (await self.subscriptions.require(sub.id)).state

    async def _send_in_turn(self, sub: Subscription, event: CloudEvent) -> None:
        """Record the event's delivery (or take over the one recorded live), tell the
        dispatcher, and wait until it is delivered or gave up."""
        now = self.clock.now()
        delivery = new_delivery(
            sub.id, sub.channel, sub.target, event, now, sub.id, sub.owner_subject
        ).model_copy(update={"backfilled": True})
        recorded = await self.deliveries.record([delivery])
        if not recorded and (await self.deliveries.take_over(delivery.id)).status != "pending":
            return
        self.tell_dispatcher([delivery])
        wait, longest = self.wait_seconds
        while True:
            stop_if_cancelled()
            current = await self.deliveries.get(delivery.id)
            if current is None or current.status != "pending":
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)


def positions(reached: dict[tuple[str, int], int]) -> list[Position]:
    return [Position(topic=t, partition=n, offset=o) for (t, n), o in sorted(reached.items())]
