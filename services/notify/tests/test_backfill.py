"""Backfilled subscriptions: the order rule, the progress rule, and the backfill as it runs on
notify's memory parts with an in-memory log and a dispatcher that delivers what it is told."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.notify.backfill import Backfiller, Records
from services.notify.domain.backfill import Place, merged
from services.notify.domain.backoff import Outcome
from services.notify.domain.delivery import Attempt, Delivery, RetrySchedule, delivery_id
from services.notify.domain.subscription import Position, Subscription, backfill_progressed
from services.notify.handlers import NewSubscription
from services.notify.tests.samples import preselected
from services.notify.tests.world import NOW, MemorySubscriptionSearch, World
from shared.auth import Principal
from shared.cloudevents import CloudEvent
from shared.errors import Invalid
from shared.events.base import new_outbox_entry

T0 = datetime(2009, 1, 5, 9, 0, tzinfo=UTC)
STATE = Principal("dgcis", frozenset({"state"}))
SCHEDULE = RetrySchedule(delays=[1.0], jitter=0.0, max_retry_after=10.0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_partitions_merge_by_time_then_topic_partition_offset_keeping_each_partitions_order() -> (
    None
):
    a = [Place(at(1), "calls.dossier", 0, 0), Place(at(5), "calls.dossier", 0, 1)]
    b = [Place(at(3), "calls.dossier", 1, 0), Place(at(2), "calls.dossier", 1, 1)]
    c = [Place(at(1), "calls.call", 0, 7)]
    order = merged({("calls.dossier", 0): a, ("calls.dossier", 1): b, ("calls.call", 0): c})
    assert order == [c[0], a[0], b[0], b[1], a[1]]  # b's late record waits for its predecessor


def subscription(since: datetime | None = T0) -> Subscription:
    from services.notify.domain.subscription import create

    return create("s-1", STATE, "email", "veille@example.fr", ["calls."], {}, NOW, since).state


def test_progress_keeps_the_first_ends_never_moves_back_and_says_when_done() -> None:
    ends = [Position(topic="t", partition=0, offset=9)]
    first = backfill_progressed(subscription(), ends, [], 0, NOW)
    assert first is not None
    assert first.state.backfill is not None
    later = [Position(topic="t", partition=0, offset=4)]
    sub = backfill_progressed(first.state, [], later, 2, NOW)
    assert sub is not None
    assert sub.state.backfill is not None
    stale = backfill_progressed(sub.state, [], [Position(topic="t", partition=0, offset=3)], 1, NOW)
    assert stale is None  # another reader behind this one changes nothing
    done = backfill_progressed(sub.state, [], later, 2, NOW, done=True)
    assert done is not None
    assert done.state.backfill is not None
    assert done.state.backfill.ends == ends
    assert done.state.backfill.found == 2
    assert not done.state.backfilling
    assert done.state.view()["backfill"] == {
        "since": "2009-01-05T09:00:00Z",
        "state": "done",
        "found": 2,
        "done": True,
        "done_at": "2009-03-02T10:00:00Z",
    }
    assert backfill_progressed(done.state, [], later, 3, NOW) is None
    assert backfill_progressed(subscription(None), ends, [], 0, NOW) is None


def test_a_backfill_starts_between_1970_and_now_and_selects_as_live_recording_does() -> None:
    from services.notify.domain.subscription import create

    with pytest.raises(Invalid):
        create("s", STATE, "email", "a@b.fr", ["*"], {}, NOW, NOW + timedelta(seconds=1))
    ancient = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23)))  # no BSON date either
    with pytest.raises(Invalid):
        create("s", STATE, "email", "a@b.fr", ["*"], {}, NOW, ancient)
    paused = subscription().model_copy(update={"status": "paused"})
    data = preselected("PF", "minalogic").model_dump(mode="json")
    assert paused.asks_for("calls.dossier.preselected.v1", data)
    assert not paused.selects("calls.dossier.preselected.v1", data)


def event(minutes: int, call: str = "PF") -> CloudEvent:
    data = preselected(call, "minalogic")
    return new_outbox_entry(
        data, source="/poles/calls", key=data.dossier_id, time=at(minutes)
    ).cloud_event()


@dataclass
class MemoryLog:
    partitions: dict[tuple[str, int], list[CloudEvent | None]]
    read_from: list[list[Position]] = field(default_factory=list)

    async def ends(self) -> list[Position]:
        return [
            Position(topic=t, partition=n, offset=len(r)) for (t, n), r in self.partitions.items()
        ]

    async def read(
        self, since: datetime, ends: Sequence[Position], reached: Sequence[Position]
    ) -> Records:
        self.read_from.append(list(reached))
        start = {(p.topic, p.partition): p.offset for p in reached}
        places = {
            (p.topic, p.partition): [
                Place(e.time if e else since, p.topic, p.partition, offset)
                for offset, e in enumerate(self.partitions[(p.topic, p.partition)][: p.offset])
                if offset >= start.get((p.topic, p.partition), 0) and (e is None or e.time >= since)
            ]
            for p in ends
        }
        for place in merged(places):
            yield place, self.partitions[(place.topic, place.partition)][place.offset]


@dataclass
class Released:
    subscriptions: list[str] = field(default_factory=list)

    async def release_held(self, subscription_id: str) -> None:
        self.subscriptions.append(subscription_id)


@dataclass
class DeliveringDispatcher:
    """Delivers at once what it is told (as a dispatcher that claimed it would), in that order."""

    world: World
    told: list[str] = field(default_factory=list)
    pending: list[Delivery] = field(default_factory=list)

    def tell(self, deliveries: Collection[Delivery]) -> None:
        self.pending += deliveries

    async def deliver_told(self) -> None:
        while self.pending:
            delivery = self.pending.pop(0)
            self.told.append(delivery.event_id)
            claimed = await self.world.claimed(delivery.id)
            attempt = Attempt(at=NOW, outcome=Outcome.DELIVERED, latency_seconds=0.01)
            await self.world.deliveries.finish(claimed, attempt, SCHEDULE, None)


def backfiller(
    world: World, log: MemoryLog, dispatcher: DeliveringDispatcher, released: Released
) -> Backfiller:
    def tell(deliveries: Collection[Delivery]) -> None:
        dispatcher.tell(deliveries)

    filler = Backfiller(
        world.subscriptions,
        MemorySubscriptionSearch(world.subscription_store),
        world.deliveries,
        released,
        log,
        tell,
        world.clock,
        wait_seconds=(0.0, 0.0),
    )
    return filler


async def run_delivering(filler: Backfiller, sub_id: str, dispatcher: DeliveringDispatcher) -> None:
    import asyncio

    task = asyncio.create_task(filler.backfill(sub_id))
    while not task.done():
        await dispatcher.deliver_told()
        await asyncio.sleep(0)
    await task


async def test_a_backfill_sends_in_order_once_takes_over_a_live_one_and_resumes() -> None:
    world = World()
    commands = world.commands()
    request = NewSubscription(
        "email", "veille@example.fr", ["calls.dossier."], {"call_id": "PF"}, T0
    )
    sub_id = (await commands.create(STATE, request, None))["id"]
    old, e1, other, e2, e3 = event(-5), event(1), event(2, call="FUI-8"), event(3), event(4)
    log = MemoryLog({("calls.dossier", 0): [old, e1, None, e3], ("calls.dossier", 1): [other, e2]})
    # e2 arrived live meanwhile: recorded, not sent (the dispatcher held it back)
    await world.recorder().on_any_event(e2, None)
    assert world.delivery(delivery_id(sub_id, e2.id)).backfilled is False
    dispatcher, released = DeliveringDispatcher(world), Released()

    await run_delivering(backfiller(world, log, dispatcher, released), sub_id, dispatcher)

    assert dispatcher.told == [e1.id, e2.id, e3.id]
    for e in (e1, e2, e3):
        delivery = world.delivery(delivery_id(sub_id, e.id))
        assert (delivery.status, delivery.backfilled, len(delivery.attempts)) == (
            "delivered",
            True,
            1,
        )
    sub = Subscription.model_validate(world.subscription_store.documents[sub_id]["state"])
    assert sub.backfill is not None
    assert (sub.backfill.state, sub.backfill.found) == ("done", 3)
    assert released.subscriptions == [sub_id]
    assert (await commands.get(STATE, sub_id))["backfill"]["done"] is True

    # a notify that died after sending e1 (its progress saved): the rest resumes, e1 not again
    world2 = World()
    sub_id = (await world2.commands().create(STATE, request, None))["id"]
    dispatcher2 = DeliveringDispatcher(world2)
    filler = backfiller(world2, log, dispatcher2, Released())
    saved = filler._progress

    calls = 0

    async def dying(*args: object, **kwargs: object) -> Subscription:
        nonlocal calls
        calls += 1
        result = await saved(*args, **kwargs)  # type: ignore[arg-type]
        if calls == 2:
            raise RuntimeError("notify died")
        return result

    filler._progress = dying  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await run_delivering(filler, sub_id, dispatcher2)
    filler._progress = saved  # type: ignore[method-assign]
    await run_delivering(filler, sub_id, dispatcher2)
    assert dispatcher2.told == [e1.id, e2.id, e3.id]
    assert log.read_from[-1] == [Position(topic="calls.dossier", partition=0, offset=2)]


@dataclass
class Swallowing:
    """A log and a search that swallow the cancellation (as a library may) and go on."""

    sub_id: str
    searched: asyncio.Event = field(default_factory=asyncio.Event)
    reading: asyncio.Event = field(default_factory=asyncio.Event)

    async def backfilling(self) -> list[str]:
        if self.reading.is_set():
            self.searched.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)
        return [self.sub_id]

    async def ends(self) -> list[Position]:
        return [Position(topic="calls.dossier", partition=0, offset=10**9)]

    async def read(
        self, since: datetime, ends: Sequence[Position], reached: Sequence[Position]
    ) -> Records:
        for offset in itertools.count():  # an endless log of records no one asked for
            self.reading.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)
            yield Place(since, "calls.dossier", 0, offset), None


async def test_the_backfiller_stops_even_if_its_search_and_reader_swallow_the_cancellation() -> (
    None
):
    world = World()
    request = NewSubscription("email", "veille@example.fr", ["calls."], {}, T0)
    sub_id = (await world.commands().create(STATE, request, None))["id"]
    swallowing = Swallowing(sub_id)
    filler = Backfiller(
        world.subscriptions,
        swallowing,  # type: ignore[arg-type]  # the search's one method the backfiller calls
        world.deliveries,
        Released(),
        swallowing,
        lambda deliveries: None,
        world.clock,
        poll_seconds=0.01,
    )
    run = asyncio.create_task(filler.run())
    await asyncio.wait_for(swallowing.searched.wait(), 2)  # a backfill reads, the next search
    run.cancel()
    await asyncio.wait([run], timeout=2)
    assert run.cancelled(), "the backfiller went on after a callee swallowed the cancellation"
    assert not filler._running, "a backfill went on after its reader swallowed the cancellation"
