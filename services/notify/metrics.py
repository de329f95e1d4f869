"""Notify's metrics: what was sent and how, how long it took, what waits, what was given up."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry, allowed_private_targets: list[str]) -> None:
        self.notifications = Counter(
            "poles_notifications_total",
            "Delivery attempts by channel and status (delivered, retry, failed)",
            ["channel", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "poles_notification_delivery_seconds",
            "Time one delivery attempt took, by channel",
            ["channel"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.pending = Gauge(
            "poles_notifications_pending",
            "Deliveries not yet delivered nor given up",
            registry=registry,
        )
        self.disabled = Gauge(
            "poles_subscriptions_disabled",
            "Subscriptions disabled because they failed for too long",
            registry=registry,
        )
        self.allowed_private_targets = Gauge(
            "poles_notify_allowed_private_targets",
            "Private networks and hosts webhooks may reach (setting "
            "notify_allowed_private_targets; '*' when every private target is allowed, for tests)",
            ["target"],
            registry=registry,
        )
        for target in allowed_private_targets:
            self.allowed_private_targets.labels(target=target).set(1)
