"""The dispatcher: sends recorded deliveries, concurrently and under a lease, and schedules
retries.

Each claimed delivery is sent in its own task, at most ``notify_max_concurrent_deliveries`` at a
time and at most ``notify_max_in_flight_per_target`` for one target (a subscription, or an
e-mail's host), each request bounded by a timeout: a slow or dead receiver holds a few slots,
never the others; its other deliveries stay unclaimed until it answers.

While a subscription backfills (``services.notify.backfill``), only its backfilled deliveries are
sent (the backfill records them one at a time, in order); its live ones are held (one statement
per pass that claimed any) until the backfill is done and releases them.

A pass costs the store a few statements whatever its size: one claim of the batch (two
statements), one read of its subscriptions (``_id $in``); then each attempt's outcome is one
guarded save on the version the claim read. A subscription's health is written only when it
changes (first failure, recovery, disable): a success on a healthy one reads and writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta

from services.notify.domain.backoff import Outcome
from services.notify.domain.delivery import Attempt, Delivery, RetrySchedule
from services.notify.domain.subscription import (
    FailurePolicy,
    Subscription,
    record_failure,
    record_success,
)
from services.notify.metrics import NotifyMetrics
from services.notify.senders import MailSender, Sent, WebhookSender
from services.notify.settings import NotifySettings
from services.notify.store import Deliveries, DeliveryLeases, SubscriptionSearch
from shared.clock import Clock
from shared.decision import Decision
from shared.errors import NotFound
from shared.repository import Found, Repository
from shared.store import Document
from shared.tracing import exemplar
from shared.waiting import stop_if_cancelled, woken_or_timed_out

log = logging.getLogger(__name__)


def target_of(subscription_id: str | None, channel: str, target: str) -> str:
    """Who receives a delivery, for fairness: its subscription, else an e-mail's host."""
    if subscription_id is not None:
        return subscription_id
    return f"{channel}:{target.rpartition('@')[2].lower()}"


def delivery_target(delivery: Delivery) -> str:
    return target_of(delivery.subscription_id, delivery.channel, delivery.target)


def state_target(state: Document) -> str:
    """The target of a stored delivery's state (the ``TARGET_FIELDS`` a search reads)."""
    return target_of(state.get("subscription_id"), state["channel"], state["target"])


@dataclass
class Dispatcher:
    settings: InitVar[NotifySettings]
    deliveries: Deliveries
    leases: DeliveryLeases
    subscriptions: Repository[Subscription]
    subscription_search: SubscriptionSearch
    webhooks: WebhookSender
    mail: MailSender
    metrics: NotifyMetrics
    clock: Clock
    _slots: int = field(init=False)
    _per_target: int = field(init=False)
    _lease: timedelta = field(init=False)
    _poll: float = field(init=False)
    _schedule: RetrySchedule = field(init=False)
    _policy: FailurePolicy = field(init=False)
    _wake: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _told: dict[str, str] = field(init=False, default_factory=dict)
    """Deliveries to claim by id, with their targets."""
    _retries: dict[str, tuple[datetime, str]] = field(init=False, default_factory=dict)
    """Deliveries this dispatcher put back for a retry: when they come due, their target."""
    _scan_now: bool = field(init=False, default=True)
    _in_flight: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    _busy: Counter[str] = field(init=False, default_factory=Counter)
    """Deliveries in flight per target."""

    def __post_init__(self, settings: NotifySettings) -> None:
        self._slots = settings.notify_max_concurrent_deliveries
        self._per_target = min(settings.notify_max_in_flight_per_target, self._slots)
        self._lease = timedelta(seconds=settings.notify_delivery_lease_seconds)
        self._poll = settings.notify_dispatch_poll_seconds
        self._schedule = RetrySchedule(
            delays=settings.notify_retry_delays_seconds,
            jitter=settings.notify_retry_jitter,
            max_retry_after=settings.notify_max_retry_after_seconds,
        )
        self._policy = FailurePolicy(
            failing_for=timedelta(seconds=settings.notify_disable_after_failing_seconds),
            final_failures_in_row=settings.notify_disable_after_final_failures,
        )

    def wake(self, deliveries: Collection[Delivery] = ()) -> None:
        """Called when deliveries were recorded: send them now, by id. Without any (a
        subscription resumed, say): look now for every due delivery, not at the next poll."""
        self._told.update((delivery.id, delivery_target(delivery)) for delivery in deliveries)
        self._scan_now = self._scan_now or not deliveries
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        try:
            while True:
                stop_if_cancelled()
                self._wake.clear()
                free = self._slots - len(self._in_flight)
                if free <= 0:
                    await asyncio.wait(
                        self._in_flight, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED
                    )
                    continue
                scan = self._scan_now or loop.time() >= next_scan
                try:
                    claimed, search_in = await self._claim(free, scan)
                    subscriptions = await self._subscriptions_of(claimed)
                except Exception:
                    log.exception("claiming due deliveries failed; retrying")
                    claimed, search_in, subscriptions = [], min(self._poll, 1.0), {}
                if scan:
                    self._scan_now, next_scan = False, loop.time() + search_in
                claimed = await self._hold_back(claimed, subscriptions)
                for delivery in claimed:
                    sub_id = delivery.state.subscription_id
                    self._start(delivery, None if sub_id is None else subscriptions.get(sub_id))
                if len(claimed) < free and not self._told_ready():
                    wait = max(next_scan - loop.time(), 0.0)
                    await woken_or_timed_out(self._wake, min(wait, 1.0) if self._retries else wait)
        finally:
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self.webhooks.close()
            await self.mail.close()

    async def _hold_back(
        self, claimed: list[Found[Delivery]], subscriptions: dict[str, Subscription]
    ) -> list[Found[Delivery]]:
        """What to send now: a subscription that backfills gets only its backfilled deliveries
        (the backfill records them one at a time, in order); its live ones are held until the
        backfill is done (``DeliveryLeases.hold``)."""
        held = [
            found
            for found in claimed
            if (sub := subscriptions.get(found.state.subscription_id or "")) is not None
            and sub.backfilling
            and not found.state.backfilled
        ]
        if not held:
            return claimed
        try:
            await self.leases.hold(held)
        except Exception:
            log.exception("holding deliveries back failed; they come again after their lease")
        held_ids = {found.id for found in held}
        return [found for found in claimed if found.id not in held_ids]

    def _start(self, claimed: Found[Delivery], subscription: Subscription | None) -> None:
        target = delivery_target(claimed.state)
        self._busy[target] += 1
        task = asyncio.create_task(self._deliver(claimed, subscription))
        self._in_flight.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._in_flight.discard(task)
            self._busy[target] -= 1
            if self._busy[target] <= 0:
                del self._busy[target]
            self._wake.set()  # a slot, and room for this target, are free

        task.add_done_callback(done)

    def _has_room(self, target: str, taken: Counter[str]) -> bool:
        return self._busy[target] + taken[target] < self._per_target

    def _told_ready(self) -> bool:
        """Whether a delivery told about may be claimed now (its target has room)."""
        return any(self._has_room(target, Counter()) for target in self._told.values())

    async def _subscriptions_of(self, claimed: list[Found[Delivery]]) -> dict[str, Subscription]:
        ids = {d.state.subscription_id for d in claimed if d.state.subscription_id is not None}
        return await self.subscription_search.of_ids(ids) if ids else {}

    async def _claim(self, free: int, scan: bool) -> tuple[list[Found[Delivery]], float]:
        """The deliveries the dispatcher was told about (up to ``free``, and as many per target
        as it has room for), then, when ``scan``, those a search finds due (retries, and any
        recorded while nobody was told); and in how many seconds to search again: at the poll,
        or sooner if the search says so."""
        now = self.clock.now()
        for delivery_id in [i for i, (at, _) in self._retries.items() if at <= now]:
            self._told[delivery_id] = self._retries.pop(delivery_id)[1]
        taken: Counter[str] = Counter()
        told: list[str] = []
        for delivery_id, target in self._told.items():
            if len(told) >= free:
                break
            if self._has_room(target, taken):
                taken[target] += 1
                told.append(delivery_id)
        for delivery_id in told:
            del self._told[delivery_id]
        claimed = await self.leases.claim(told, now, self._lease)
        search_in = self._poll
        if scan and len(claimed) >= free:
            search_in = 0.0  # the search was due: it comes as soon as a slot is free
        elif scan:

            def wanted(state: Document) -> bool:
                target = state_target(state)
                if not self._has_room(target, taken):
                    return False
                taken[target] += 1
                return True

            found, left, next_search = await self.leases.claim_due(
                now, self._lease, free - len(claimed), wanted
            )
            claimed += found
            # Due ones the search left (no room yet) are claimed by id once there is: searching
            # again each time a slot frees read every pending delivery per delivery sent.
            self._told.update(
                (delivery_id, state_target(state)) for delivery_id, state in left.items()
            )
            if next_search is not None:
                search_in = min(search_in, max((next_search - now).total_seconds(), 0.0))
        return [self.deliveries.claimed(loaded) for loaded in claimed], search_in

    async def _deliver(self, claimed: Found[Delivery], subscription: Subscription | None) -> None:
        try:
            await self._attempt(claimed, subscription)
        except Exception:
            log.exception(
                "delivery %s failed unexpectedly; it comes again after its lease", claimed.id
            )

    async def _attempt(self, claimed: Found[Delivery], subscription: Subscription | None) -> None:
        delivery = claimed.state
        started_at, started = self.clock.now(), time.monotonic()
        sent = await self._send(delivery, subscription, started_at)
        latency = time.monotonic() - started
        attempt = Attempt(
            at=started_at,
            outcome=sent.outcome,
            status_code=sent.status_code,
            latency_seconds=round(latency, 4),
            error=sent.error,
        )
        done = await self.deliveries.finish(claimed, attempt, self._schedule, sent.retry_after)
        if done.status == "pending":
            self._retries[done.id] = (done.next_attempt_at, delivery_target(done))
            self._wake.set()  # the loop watches the clock for it from now on
        status = "retry" if done.status == "pending" else done.status
        self.metrics.notifications.labels(delivery.channel, status).inc()
        self.metrics.latency.labels(delivery.channel).observe(latency, exemplar(delivery.event))
        if subscription is not None and subscription.status == "active":
            await self._record_health(subscription, sent.outcome, done.status == "failed")

    async def _send(
        self, delivery: Delivery, subscription: Subscription | None, now: datetime
    ) -> Sent:
        if delivery.subscription_id is not None and (
            subscription is None or subscription.status != "active"
        ):
            state = subscription.status if subscription else "gone"
            return Sent(Outcome.FINAL, error=f"the subscription is {state}")
        if delivery.channel == "webhook":
            secrets = subscription.signing_secrets(now) if subscription else []
            return await self.webhooks.send(delivery, secrets)
        return await self.mail.send(delivery)

    async def _record_health(
        self, subscription: Subscription, outcome: Outcome, gave_up: bool
    ) -> None:
        """A success heals the subscription; failures for too long disable it. Decided first on
        the subscription as the pass read it: when its health does not change (a success on a
        healthy one, another failure of a failing one), nothing is read or written."""

        def decide(subscription: Subscription, now: datetime) -> Decision[Subscription] | None:
            if outcome == Outcome.DELIVERED:
                return record_success(subscription)
            return record_failure(subscription, now, gave_up, self._policy)

        if decide(subscription, self.clock.now()) is None:
            return
        with contextlib.suppress(NotFound):  # a subscription deleted meanwhile has no health
            await self.subscriptions.apply(subscription.id, decide)
