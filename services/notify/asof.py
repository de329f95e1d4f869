"""A subscription as it stood at an instant, rebuilt from ``notify.subscription`` (``shared.asof``
reads and folds; this module says how each event moves the subscription).

The events carry no secret and no delivery health, so the as-of view is a part of the live view
(``GET /subscriptions/{id}``), field for field equal to it at the present: what the subscription
listens to, where it sends, whose it is, its status, and its backfill's ``since``. Its signing
secrets (never shown), ``failing_since`` and ``final_failures_in_row`` (counted without an event
between two disablings) and its backfill's progress are in no event, so not in the as-of view.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.notify.domain.subscription import Status
from shared.asof import in_utc
from shared.clock import to_millisecond
from shared.cloudevents import CloudEvent
from shared.events import notify as events
from shared.events.base import parse_event_data


class BackfillAsOf(BaseModel):
    since: datetime


class SubscriptionAsOf(BaseModel):
    id: str
    owner_subject: str
    owner_roles: list[str]
    channel: events.Channel
    target: str
    event_types: list[str]
    filters: dict[str, str]
    status: Status
    created_at: datetime
    backfill: BackfillAsOf | None = None
    """None: live only (the view then has no ``backfill``, as the live one)."""


STATUS_OF: dict[type[events.SubscriptionFacts], Status] = {
    events.SubscriptionPaused: "paused",
    events.SubscriptionResumed: "active",
    events.SubscriptionDisabled: "disabled",
    events.SubscriptionDeleted: "deleted",
}
"""The events that change the status (a rotated secret changes nothing the view shows)."""


def evolve_subscription(
    subscription: SubscriptionAsOf | None, event: CloudEvent
) -> SubscriptionAsOf:
    data = parse_event_data(event)
    if isinstance(data, events.SubscriptionCreated):
        created = in_utc(data.model_dump())
        since = created["backfill_since"]
        return SubscriptionAsOf(
            **created,
            id=data.subscription_id,
            status="active",
            created_at=created["at"],
            backfill=None if since is None else BackfillAsOf(since=to_millisecond(since)),
        )
    assert subscription is not None, f"{event.type} before the subscription was created"
    assert isinstance(data, events.SubscriptionFacts), event.type
    status = STATUS_OF.get(type(data))
    return subscription if status is None else subscription.model_copy(update={"status": status})
