"""A delivery: one event to one target, recorded before anything is sent, tried until it lands.

Its id is derived from the target and the event, so the same event arriving twice (a redelivery,
a restart) finds its delivery already recorded. The id is also the webhook's ``webhook-id``:
receivers see the same id on every retry and can drop what they already have.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from services.notify.domain.backoff import Outcome, retry_delay
from shared.cloudevents import CloudEvent
from shared.decision import Decision
from shared.events.notify import Channel, DeliveryFailed
from shared.store import EPOCH

DeliveryStatus = Literal["pending", "delivered", "failed"]
MAX_ERROR_LENGTH = 500


def delivery_id(target_id: str, event_id: str) -> str:
    return "msg_" + hashlib.sha256(f"{target_id}\n{event_id}".encode()).hexdigest()[:32]


class Attempt(BaseModel):
    model_config = ConfigDict(frozen=True, use_enum_values=True)

    at: datetime
    outcome: Outcome
    status_code: int | None = None
    latency_seconds: float
    error: str | None = None


@dataclass(frozen=True)
class RetrySchedule:
    delays: Sequence[float]
    jitter: float
    max_retry_after: float
    rng: random.Random | None = None


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    subscription_id: str | None = None
    owner_subject: str | None = None
    channel: Channel
    target: str
    event: dict[str, Any]
    event_id: str
    event_type: str
    status: DeliveryStatus = "pending"
    failures_since_replay: int = 0
    attempts: list[Attempt] = []
    next_attempt_at: datetime
    lease_until: datetime = EPOCH
    created_at: datetime
    backfilled: bool = False
    """Recorded (or taken over) by its subscription's backfill: sent while it backfills."""


def new_delivery(
    target_id: str,
    channel: Channel,
    target: str,
    event: CloudEvent,
    now: datetime,
    subscription_id: str | None = None,
    owner_subject: str | None = None,
) -> Delivery:
    return Delivery(
        id=delivery_id(target_id, event.id),
        subscription_id=subscription_id,
        owner_subject=owner_subject,
        channel=channel,
        target=target,
        event=event.structured(),
        event_id=event.id,
        event_type=event.type,
        next_attempt_at=now,
        created_at=now,
    )


def backfilled(delivery: Delivery, now: datetime) -> Decision[Delivery] | None:
    """A delivery the backfill reached: one recorded live meanwhile (held back until then) is
    taken over by the backfill and due now, whatever lease held it; None when it is already
    the backfill's or done."""
    if delivery.backfilled or delivery.status != "pending":
        return None
    taken = {"backfilled": True, "next_attempt_at": now, "lease_until": EPOCH}
    return Decision.of(delivery.model_copy(update=taken))


def after_attempt(
    delivery: Delivery, attempt: Attempt, schedule: RetrySchedule, retry_after: float | None
) -> Delivery:
    """The delivery once ``attempt`` is logged (and its lease released): delivered, failed, or
    due again later."""
    attempts = [*delivery.attempts, attempt]
    if attempt.outcome == Outcome.DELIVERED:
        return delivery.model_copy(
            update={"status": "delivered", "attempts": attempts, "lease_until": EPOCH}
        )
    failures = delivery.failures_since_replay + 1
    delay = None
    if attempt.outcome == Outcome.RETRY:
        delay = retry_delay(failures, schedule.delays, schedule.jitter, schedule.rng)
    if delay is None:
        update: dict[str, Any] = {"status": "failed"}
    else:
        if retry_after is not None:
            delay = min(max(delay, retry_after), schedule.max_retry_after)
        update = {"next_attempt_at": attempt.at + timedelta(seconds=delay)}
    return delivery.model_copy(
        update={
            **update,
            "attempts": attempts,
            "failures_since_replay": failures,
            "lease_until": EPOCH,
        }
    )


def attempted(
    delivery: Delivery, attempt: Attempt, schedule: RetrySchedule, retry_after: float | None
) -> Decision[Delivery]:
    """An attempt is logged (``after_attempt``); a delivery that gives up says so in an event."""
    done = after_attempt(delivery, attempt, schedule, retry_after)
    failed = [failure_event(done, attempt.at)] if done.status == "failed" else []
    return Decision.of(done, failed)


def replayed(delivery: Delivery, now: datetime) -> Decision[Delivery]:
    """Sent again, by hand: due now, with a full set of retries (its log of attempts kept)."""
    return Decision.of(
        delivery.model_copy(
            update={"status": "pending", "next_attempt_at": now, "failures_since_replay": 0}
        )
    )


def failure_event(delivery: Delivery, now: datetime) -> DeliveryFailed:
    last = delivery.attempts[-1] if delivery.attempts else None
    return DeliveryFailed(
        delivery_id=delivery.id,
        subscription_id=delivery.subscription_id,
        channel=delivery.channel,
        target=delivery.target,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        attempts=len(delivery.attempts),
        last_error=(last.error or f"HTTP {last.status_code}") if last else "",
        at=now,
    )
