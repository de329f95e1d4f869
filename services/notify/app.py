"""The notify service's composition root.

Notify's time is the machine's (``SystemClock``), not the platform's simulated clock: its
retries, leases and secret overlaps concern real receivers waiting in real time. The dates a
person reads in an e-mail come from the event itself (a receipt's ``submitted_at``).
"""

from __future__ import annotations

from datetime import timedelta

import uvicorn
from fastapi import FastAPI

from services.notify.api import subscriptions_router
from services.notify.backfill import Backfiller, KafkaEventLog
from services.notify.dispatcher import Dispatcher
from services.notify.handlers import SubscriptionCommands
from services.notify.metrics import NotifyMetrics
from services.notify.recorder import CONSUMED_TOPICS, DeliveryRecorder
from services.notify.senders import MailSender, WebhookSender, webhook_client
from services.notify.settings import NotifySettings
from services.notify.store import (
    DELIVERIES,
    SUBSCRIPTIONS,
    CoalescedMatching,
    Deliveries,
    DeliveryLeases,
    MongoDeliverySearch,
    MongoSubscriptionSearch,
    subscription_repository,
)
from shared.asof import TopicLog
from shared.auth import authenticator
from shared.clock import SystemClock
from shared.consumer import EventHandlers
from shared.events.notify import (
    DeliveryFailed,
    SubscriptionCreated,
    SubscriptionDeleted,
    SubscriptionDisabled,
    SubscriptionPaused,
    SubscriptionResumed,
    SubscriptionSecretRotated,
)
from shared.kafka_access import KafkaAccess
from shared.service import build_runtime, create_service_app
from shared.store import AggregateStore
from shared.topics import NOTIFY_DELIVERY, NOTIFY_SUBSCRIPTION

DESCRIPTION = (
    "Subscriptions to the platform's events: signed webhooks (Standard Webhooks, CloudEvents "
    "structured JSON) and French e-mail; receipts and decisions reach the people concerned."
)


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    runtime = build_runtime(settings)
    clock = SystemClock()
    targets = settings.target_policy()
    metrics = NotifyMetrics(runtime.registry, targets.entries())
    runtime.outbox_relay([SUBSCRIPTIONS, DELIVERIES])
    subscription_store = AggregateStore(runtime.db[SUBSCRIPTIONS], runtime.wake_relay)
    delivery_store = AggregateStore(runtime.db[DELIVERIES], runtime.wake_relay)
    subscriptions = subscription_repository(subscription_store, clock)
    subscription_search = MongoSubscriptionSearch(subscription_store.collection)
    deliveries = Deliveries(delivery_store, clock)
    delivery_search = MongoDeliverySearch(delivery_store.collection)

    leases = DeliveryLeases(delivery_store.collection)
    client = webhook_client(
        settings.notify_request_timeout_seconds, settings.notify_max_concurrent_deliveries
    )
    dispatcher = Dispatcher(
        settings,
        deliveries,
        leases,
        subscriptions,
        subscription_search,
        WebhookSender(client, targets),
        MailSender(
            settings,
            min(settings.notify_smtp_connections, settings.notify_max_concurrent_deliveries),
        ),
        metrics,
        clock,
    )
    recorder = DeliveryRecorder(
        CoalescedMatching(subscription_search), deliveries, dispatcher.wake, clock
    )
    backfiller = Backfiller(
        subscriptions,
        subscription_search,
        deliveries,
        leases,
        KafkaEventLog(
            KafkaAccess.of(settings),
            [runtime.topic_name(topic) for topic in CONSUMED_TOPICS],
            f"{settings.client_id}-backfill",
        ),
        dispatcher.wake,
        clock,
        settings.notify_backfill_poll_seconds,
    )
    commands = SubscriptionCommands(
        subscriptions,
        subscription_search,
        deliveries,
        delivery_search,
        targets,
        timedelta(seconds=settings.notify_secret_overlap_seconds),
        dispatcher.wake,
        backfiller.wake,
    )

    async def create_indexes() -> None:
        await subscription_search.create_indexes()
        await delivery_search.create_indexes()

    async def refresh_gauges() -> None:
        metrics.pending.set(await delivery_search.count_pending())
        metrics.disabled.set(await subscription_search.count_disabled())

    runtime.startup.append(create_indexes)
    runtime.background.append(dispatcher.run)
    runtime.background.append(backfiller.run)
    runtime.every(settings.metrics_refresh_seconds, refresh_gauges, "notify gauges")
    runtime.consume(CONSUMED_TOPICS, EventHandlers(), fallback=recorder.on_any_event)
    runtime.declare_publications(
        {
            NOTIFY_SUBSCRIPTION: [
                SubscriptionCreated,
                SubscriptionPaused,
                SubscriptionResumed,
                SubscriptionDeleted,
                SubscriptionSecretRotated,
                SubscriptionDisabled,
            ],
            NOTIFY_DELIVERY: [DeliveryFailed],
        }
    )
    authenticated = authenticator(settings.auth_secret.get_secret_value())
    return create_service_app(
        runtime,
        title="Pôles 2.0 — notify",
        description=DESCRIPTION,
        routers=[subscriptions_router(commands, authenticated, TopicLog(settings))],
    )


def main() -> None:
    settings = NotifySettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
