"""The dispatcher: sends recorded deliveries, concurrently and under a lease, and schedules
retries.

Each claimed delivery is sent in its own task, at most ``notify_max_concurrent_deliveries`` at a
time, each request bounded by a timeout: a slow or dead receiver holds one slot, never the
others. The outcome of every attempt is logged on the delivery and on its subscription's health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
from services.notify.store import Deliveries, DeliveryLeases
from shared.clock import Clock
from shared.decision import Decision
from shared.errors import NotFound
from shared.repository import Repository
from shared.waiting import woken_or_timed_out

log = logging.getLogger(__name__)


@dataclass
class Dispatcher:
    settings: InitVar[NotifySettings]
    deliveries: Deliveries
    leases: DeliveryLeases
    subscriptions: Repository[Subscription]
    webhooks: WebhookSender
    mail: MailSender
    metrics: NotifyMetrics
    clock: Clock
    _slots: int = field(init=False)
    _lease: timedelta = field(init=False)
    _poll: float = field(init=False)
    _schedule: RetrySchedule = field(init=False)
    _policy: FailurePolicy = field(init=False)
    _wake: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _told: set[str] = field(init=False, default_factory=set)
    _retries: dict[str, datetime] = field(init=False, default_factory=dict)
    """Deliveries this dispatcher put back for a retry, and when they come due."""
    _scan_now: bool = field(init=False, default=True)
    _in_flight: set[asyncio.Task[None]] = field(init=False, default_factory=set)

    def __post_init__(self, settings: NotifySettings) -> None:
        self._slots = settings.notify_max_concurrent_deliveries
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

    def wake(self, delivery_ids: Collection[str] = ()) -> None:
        """Called when deliveries were recorded: send them now, by id. Without ids (a
        subscription resumed, say): look now for every due delivery, not at the next poll."""
        self._told.update(delivery_ids)
        self._scan_now = self._scan_now or not delivery_ids
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        try:
            while True:
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
                except Exception:
                    log.exception("claiming due deliveries failed; retrying")
                    claimed, search_in = [], min(self._poll, 1.0)
                if scan:
                    self._scan_now, next_scan = False, loop.time() + search_in
                for delivery in claimed:
                    task = asyncio.create_task(self._deliver(delivery))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                if len(claimed) < free and not self._told:
                    wait = max(next_scan - loop.time(), 0.0)
                    await woken_or_timed_out(self._wake, min(wait, 1.0) if self._retries else wait)
        finally:
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self.webhooks.close()

    async def _claim(self, free: int, scan: bool) -> tuple[list[Delivery], float]:
        """The deliveries the dispatcher was told about (up to ``free``), then, when ``scan``,
        those a search finds due (retries, and any recorded while nobody was told); and in how
        many seconds to search again: at the poll, or sooner if the search says so."""
        now = self.clock.now()
        due = [delivery_id for delivery_id, at in self._retries.items() if at <= now]
        for delivery_id in due:
            del self._retries[delivery_id]
        self._told.update(due)
        told = list(self._told)[:free]
        self._told.difference_update(told)
        claimed = await self.leases.claim(told, now, self._lease)
        search_in = self._poll
        if scan and len(claimed) >= free:
            search_in = 0.0  # the search was due: it comes as soon as a slot is free
        elif scan:
            found, next_search = await self.leases.claim_due(now, self._lease, free - len(claimed))
            claimed += found
            if next_search is not None:
                search_in = min(search_in, max((next_search - now).total_seconds(), 0.0))
        return claimed, search_in

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        except Exception:
            log.exception(
                "delivery %s failed unexpectedly; it comes again after its lease", delivery.id
            )

    async def _attempt(self, delivery: Delivery) -> None:
        subscription = None
        if delivery.subscription_id is not None:
            found = await self.subscriptions.get(delivery.subscription_id)
            subscription = found.state if found else None
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
        done = await self.deliveries.finish(delivery.id, attempt, self._schedule, sent.retry_after)
        if done.status == "pending":
            self._retries[done.id] = done.next_attempt_at
            self._wake.set()  # the loop watches the clock for it from now on
        status = "retry" if done.status == "pending" else done.status
        self.metrics.notifications.labels(delivery.channel, status).inc()
        self.metrics.latency.labels(delivery.channel).observe(latency)
        if subscription is not None and subscription.status == "active":
            await self._record_health(subscription.id, sent.outcome, done.status == "failed")

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

    async def _record_health(self, subscription_id: str, outcome: Outcome, gave_up: bool) -> None:
        """A success heals the subscription; failures for too long disable it."""

        def decide(subscription: Subscription, now: datetime) -> Decision[Subscription] | None:
            if outcome == Outcome.DELIVERED:
                return record_success(subscription)
            return record_failure(subscription, now, gave_up, self._policy)

        with contextlib.suppress(NotFound):  # a subscription deleted meanwhile has no health
            await self.subscriptions.apply(subscription_id, decide)
