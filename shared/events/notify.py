"""Events the notify service publishes (topics ``notify.subscription``, ``notify.delivery``).

Secrets never travel in events: a subscription's events say who owns it, who changed it, where it
sends and what it listens to, so that operators can follow every subscription's life from the
topic alone (``GET /subscriptions/{id}?at=`` and ``/changes`` rebuild it from them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.events.base import EventData, event_type
from shared.topics import NOTIFY_DELIVERY, NOTIFY_SUBSCRIPTION

Channel = Literal["webhook", "email"]


class SubscriptionFacts(EventData):
    """What every subscription event carries."""

    subscription_id: str
    owner_subject: str
    at: datetime
    decided_by: str | None = Field(
        default=None,
        description="who made the change: the owner or an operator (None: notify itself, as "
        "when it disables a failing subscription)",
    )


@event_type("notify.subscription.created.v1", NOTIFY_SUBSCRIPTION)
class SubscriptionCreated(SubscriptionFacts):
    owner_roles: list[str]
    channel: Channel
    target: str = Field(description="the webhook URL or the e-mail address")
    event_types: list[str] = Field(description="exact type names, prefixes ending in '.', or '*'")
    filters: dict[str, str] = Field(default_factory=dict)
    backfill_since: datetime | None = Field(
        default=None,
        description="the subscription first receives the matching events published since then",
    )


@event_type("notify.subscription.paused.v1", NOTIFY_SUBSCRIPTION)
class SubscriptionPaused(SubscriptionFacts):
    pass


@event_type("notify.subscription.resumed.v1", NOTIFY_SUBSCRIPTION)
class SubscriptionResumed(SubscriptionFacts):
    pass


@event_type("notify.subscription.deleted.v1", NOTIFY_SUBSCRIPTION)
class SubscriptionDeleted(SubscriptionFacts):
    pass


@event_type("notify.subscription.secret-rotated.v1", NOTIFY_SUBSCRIPTION)
class SubscriptionSecretRotated(SubscriptionFacts):
    previous_secret_valid_until: datetime


@event_type("notify.subscription.disabled.v1", NOTIFY_SUBSCRIPTION)
class SubscriptionDisabled(SubscriptionFacts):
    """The subscription failed for too long; it stays disabled until its owner resumes it."""

    reason: str
    failing_since: datetime | None = None
    final_failures_in_row: int = 0


@event_type("notify.delivery.failed.v1", NOTIFY_DELIVERY)
class DeliveryFailed(EventData):
    """A delivery gave up: a final answer from the receiver, or every retry spent."""

    delivery_id: str
    subscription_id: str | None = Field(description="None for a default recipient")
    channel: Channel
    target: str
    event_id: str
    event_type: str
    attempts: int
    last_error: str
    at: datetime
