"""When to try a delivery again, and which answers are worth trying again for.

Network errors, timeouts, 5xx, 408 and 429 are transient; a receiver's ``Retry-After`` wins over
our own schedule. Any other answer outside 2xx is final: the receiver told us no.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

RETRYABLE_STATUSES = frozenset({408, 429})


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FINAL = "final"


def outcome_of_status(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status >= 500 or status in RETRYABLE_STATUSES:
        return Outcome.RETRY
    return Outcome.FINAL


def retry_delay(
    failed_attempts: int,
    delays: Sequence[float],
    jitter: float,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after the ``failed_attempts``-th failure; None when retries are spent.

    The jitter spreads retries of many deliveries to one receiver that came back, instead of
    sending them all in the same second.
    """
    if failed_attempts < 1 or failed_attempts > len(delays):
        return None
    base = delays[failed_attempts - 1]
    spread = (rng or random).uniform(-jitter, jitter)
    return max(0.0, base * (1 + spread))


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """The delay a ``Retry-After`` header asks for (seconds or an HTTP date), if readable."""
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
