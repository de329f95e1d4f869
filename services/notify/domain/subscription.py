"""The subscription aggregate: who asked, what for, where to, and whether it still sends.

Every decision returns a ``Decision``: the new state, the event to publish and the answer the
owner reads (the signing secret only right after it was made). A decision that makes no sense in
the current state raises ``Conflict`` (HTTP 409); a body breaking a rule, ``Invalid`` (422).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from services.notify.domain.matching import (
    FILTER_FIELD,
    InvalidPattern,
    filters_match,
    normalize_pattern,
    type_matches,
)
from services.notify.domain.visibility import may_see
from services.notify.domain.webhook_signature import new_secret
from shared.auth import Principal
from shared.decision import Decision
from shared.errors import Conflict, invalid
from shared.events.notify import (
    Channel,
    SubscriptionCreated,
    SubscriptionDeleted,
    SubscriptionDisabled,
    SubscriptionFacts,
    SubscriptionPaused,
    SubscriptionResumed,
    SubscriptionSecretRotated,
)
from shared.store import EPOCH

Status = Literal["active", "paused", "disabled", "deleted"]
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class Secret(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str
    valid_until: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


class FailurePolicy(BaseModel):
    """When a failing subscription is disabled."""

    failing_for: timedelta
    final_failures_in_row: int


BackfillState = Literal["running", "done"]


class Position(BaseModel):
    """Where a backfill stands in one partition: the next offset to read (or, in ``ends``, the
    first offset it does not read)."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class Backfill(BaseModel):
    """A subscription's catch-up on the events published since ``since`` (services.notify.backfill):
    ``ends`` are the topics' end offsets taken once the subscription was stored (None until the
    reader first ran), ``positions`` the offsets reached, ``found`` the events that matched."""

    model_config = ConfigDict(frozen=True)

    since: datetime
    state: BackfillState = "running"
    ends: list[Position] | None = None
    positions: list[Position] = []
    found: int = 0
    done_at: datetime | None = None


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    owner_subject: str
    owner_roles: list[str]
    channel: Channel
    target: str
    event_types: list[str]
    filters: dict[str, str]
    status: Status = "active"
    secrets: list[Secret] = []
    created_at: datetime
    failing_since: datetime | None = None
    final_failures_in_row: int = 0
    backfill: Backfill | None = None

    @property
    def backfilling(self) -> bool:
        """While true, only its backfilled deliveries are sent, one at a time, in order."""
        return self.backfill is not None and self.backfill.state != "done"

    def signing_secrets(self, now: datetime) -> list[str]:
        return [secret.value for secret in self.secrets if secret.valid_at(now)]

    def selects(self, event_type: str, data: Mapping[str, Any]) -> bool:
        """Whether this subscription receives the event: active, asked for, and visible to
        its owner."""
        return self.status == "active" and self.asks_for(event_type, data)

    def asks_for(self, event_type: str, data: Mapping[str, Any]) -> bool:
        """Whether the event is of a type asked for, passes the filters and is visible to the
        owner (live recording and backfills apply this same rule)."""
        return (
            type_matches(self.event_types, event_type)
            and filters_match(self.filters, data)
            and may_see(self.owner_roles, event_type, data)
        )

    def readable_by(self, principal: Principal) -> bool:
        return principal.subject == self.owner_subject or principal.has("operator")

    def view(self, with_secret: bool = False) -> dict[str, Any]:
        """What an owner reads; the signing secret only right after it was made."""
        view = self.model_dump(mode="json", exclude={"secrets", "backfill"})
        if self.backfill is not None:
            view["backfill"] = {
                **self.backfill.model_dump(mode="json", include={"since", "state", "found"}),
                "done": self.backfill.state == "done",
                "done_at": self.backfill.model_dump(mode="json")["done_at"],
            }
        if with_secret and self.secrets:
            view["secret"] = self.secrets[0].value
        return view


def _decided(
    sub: Subscription, event: SubscriptionFacts, with_secret: bool = False
) -> Decision[Subscription]:
    """A command's decision: the owner is answered with the subscription's new view."""
    return Decision.of(sub, [event], sub.view(with_secret))


FactsT = TypeVar("FactsT", bound=SubscriptionFacts)


def _event(model: type[FactsT], sub: Subscription, now: datetime, **fields: Any) -> FactsT:
    """An event of the subscription; ``decided_by`` among ``fields`` when a principal acted."""
    return model(subscription_id=sub.id, owner_subject=sub.owner_subject, at=now, **fields)


def create(
    subscription_id: str,
    owner: Principal,
    channel: Channel,
    target: str,
    event_types: list[str],
    filters: dict[str, str],
    now: datetime,
    since: datetime | None = None,
) -> Decision[Subscription]:
    """A new subscription; with ``since`` (from 1970, Kafka's first timestamp, to ``now``) it
    first receives the matching events published since that instant (its backfill)."""
    check_target(channel, target)
    if since is not None and not EPOCH <= since <= now:
        raise invalid(["since"], "a backfill starts at an instant between 1970 and now")
    if not event_types:
        raise invalid(["event_types"], "name at least one event type or prefix")
    try:
        patterns = sorted({normalize_pattern(pattern) for pattern in event_types})
    except InvalidPattern as error:
        raise invalid(["event_types"], str(error)) from error
    for field in filters:
        if not FILTER_FIELD.match(field):
            raise invalid(["filters"], f"{field!r} is not an event field name")
    subscription = Subscription(
        id=subscription_id,
        owner_subject=owner.subject,
        owner_roles=sorted(owner.roles),
        channel=channel,
        target=target,
        event_types=patterns,
        filters=dict(filters),
        secrets=[Secret(value=new_secret())] if channel == "webhook" else [],
        created_at=now,
        backfill=None if since is None else Backfill(since=since),
    )
    event = SubscriptionCreated(
        subscription_id=subscription_id,
        owner_subject=owner.subject,
        at=now,
        decided_by=owner.subject,
        owner_roles=subscription.owner_roles,
        channel=channel,
        target=target,
        event_types=patterns,
        filters=subscription.filters,
        backfill_since=since,
    )
    return _decided(subscription, event, with_secret=True)


def check_target(channel: Channel, target: str) -> None:
    """The target's syntax; whether a webhook's host is public is checked where DNS is."""
    if channel == "email":
        if not EMAIL.match(target):
            raise invalid(["target"], "not an e-mail address")
        return
    try:
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
        (parts.hostname or "").encode("idna")  # raises for a name no resolver takes
    except ValueError as error:
        raise invalid(["target"], f"not a valid URL: {error}") from error
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise invalid(["target"], "a webhook is an http or https URL with a host")
    if parts.username or parts.password:
        raise invalid(["target"], "a webhook URL may not carry credentials")


def pause(sub: Subscription, now: datetime, *, by: str) -> Decision[Subscription]:
    """Stop sending (``by``: the principal who asked, its owner or an operator)."""
    if sub.status != "active":
        raise Conflict(f"only an active subscription can be paused; it is {sub.status}")
    return _decided(
        sub.model_copy(update={"status": "paused"}),
        _event(SubscriptionPaused, sub, now, decided_by=by),
    )


def resume(sub: Subscription, now: datetime, *, by: str) -> Decision[Subscription]:
    if sub.status not in {"paused", "disabled"}:
        raise Conflict(f"only a paused or disabled subscription can be resumed; it is {sub.status}")
    resumed = sub.model_copy(
        update={"status": "active", "failing_since": None, "final_failures_in_row": 0}
    )
    return _decided(resumed, _event(SubscriptionResumed, sub, now, decided_by=by))


def delete(sub: Subscription, now: datetime, *, by: str) -> Decision[Subscription]:
    if sub.status == "deleted":
        raise Conflict("the subscription is already deleted")
    return _decided(
        sub.model_copy(update={"status": "deleted"}),
        _event(SubscriptionDeleted, sub, now, decided_by=by),
    )


def rotate_secret(
    sub: Subscription, now: datetime, *, by: str, overlap: timedelta
) -> Decision[Subscription]:
    """A new secret signs from now on; the current ones stay valid for ``overlap``."""
    if sub.channel != "webhook":
        raise Conflict("only a webhook subscription has a signing secret")
    if sub.status == "deleted":
        raise Conflict("the subscription is deleted")
    until = now + overlap
    kept = [
        secret.model_copy(update={"valid_until": min(secret.valid_until or until, until)})
        for secret in sub.secrets
        if secret.valid_at(now)
    ]
    rotated = sub.model_copy(update={"secrets": [Secret(value=new_secret()), *kept]})
    event = _event(
        SubscriptionSecretRotated, sub, now, decided_by=by, previous_secret_valid_until=until
    )
    return _decided(rotated, event, with_secret=True)


def record_success(sub: Subscription) -> Decision[Subscription] | None:
    """A delivery went through: the subscription is healthy again (None: nothing to save)."""
    if sub.failing_since is None and sub.final_failures_in_row == 0:
        return None
    return Decision.of(sub.model_copy(update={"failing_since": None, "final_failures_in_row": 0}))


def record_failure(
    sub: Subscription, now: datetime, final: bool, policy: FailurePolicy
) -> Decision[Subscription] | None:
    """An attempt failed (``final``: its delivery gave up). Disable the subscription when it
    has failed without a success for too long, or gave up too many deliveries in a row.
    None: nothing to save."""
    if sub.status != "active":
        return None
    failing_since = sub.failing_since or now
    in_row = sub.final_failures_in_row + (1 if final else 0)
    updated = sub.model_copy(
        update={"failing_since": failing_since, "final_failures_in_row": in_row}
    )
    if now - failing_since >= policy.failing_for:
        reason = f"every delivery failed since {failing_since.isoformat()}"
    elif in_row >= policy.final_failures_in_row:
        reason = f"{in_row} deliveries in a row gave up"
    else:
        unchanged = (failing_since, in_row) == (sub.failing_since, sub.final_failures_in_row)
        return None if unchanged else Decision.of(updated)
    disabled = updated.model_copy(update={"status": "disabled"})
    event = _event(
        SubscriptionDisabled,
        sub,
        now,
        reason=reason,
        failing_since=failing_since,
        final_failures_in_row=in_row,
    )
    return Decision.of(disabled, [event])


def backfill_progressed(
    sub: Subscription,
    ends: list[Position],
    positions: list[Position],
    found: int,
    now: datetime,
    done: bool = False,
) -> Decision[Subscription] | None:
    """The backfill reached ``positions`` (its reader's offsets, never moved back: two readers
    of one subscription read the same events in the same order), having found ``found``
    matching events; ``done``: every partition reached its end. None: nothing to save."""
    backfill = sub.backfill
    if backfill is None or backfill.state == "done":
        return None
    reached = {(p.topic, p.partition): p.offset for p in backfill.positions}
    for p in positions:
        reached[(p.topic, p.partition)] = max(p.offset, reached.get((p.topic, p.partition), 0))
    updated = backfill.model_copy(
        update={
            "ends": backfill.ends if backfill.ends is not None else ends,
            "positions": [
                Position(topic=t, partition=n, offset=o) for (t, n), o in sorted(reached.items())
            ],
            "found": max(found, backfill.found),
            "state": "done" if done else "running",
            "done_at": now if done else None,
        }
    )
    if updated == backfill:
        return None
    return Decision.of(sub.model_copy(update={"backfill": updated}))
