import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.backoff import (
    Outcome,
    outcome_of_status,
    retry_after_seconds,
    retry_delay,
)
from services.notify.domain.delivery import (
    Attempt,
    RetrySchedule,
    after_attempt,
    failure_event,
    new_delivery,
    replayed,
)
from services.notify.settings import DEFAULT_RETRY_DELAYS
from shared.cloudevents import CloudEvent
from shared.store import EPOCH

NOW = datetime(2009, 3, 2, 10, 0, tzinfo=UTC)
EVENT = CloudEvent(id="e-1", type="calls.call.opened.v1", source="calls", time=NOW, data={})
SCHEDULE = RetrySchedule(delays=[5.0, 30.0], jitter=0.0, max_retry_after=3600.0)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (400, Outcome.FINAL),
        (401, Outcome.FINAL),
        (404, Outcome.FINAL),
        (410, Outcome.FINAL),
        (301, Outcome.FINAL),
    ],
)
def test_transient_answers_are_retried_and_refusals_are_final(
    status: int, outcome: Outcome
) -> None:
    assert outcome_of_status(status) == outcome


def test_the_default_schedule_grows_exponentially_over_about_a_day() -> None:
    delays = DEFAULT_RETRY_DELAYS
    assert delays[:3] == [5.0, 30.0, 120.0]
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert 20 * 3600 <= sum(delays) <= 26 * 3600


def test_jitter_stays_within_its_share_of_the_delay_and_varies() -> None:
    rng = random.Random(7)
    seen = {retry_delay(3, [100.0, 200.0, 400.0], 0.2, rng) for _ in range(50)}
    assert all(d is not None and 320.0 <= d <= 480.0 for d in seen)
    assert len(seen) > 40


def test_no_delay_once_the_retries_are_spent() -> None:
    assert retry_delay(1, [5.0], 0.0) == 5.0
    assert retry_delay(2, [5.0], 0.0) is None


def test_retry_after_is_read_in_seconds_or_as_an_http_date() -> None:
    assert retry_after_seconds("120", NOW) == 120.0
    assert retry_after_seconds("Mon, 02 Mar 2009 10:05:00 GMT", NOW) == 300.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def attempt(outcome: Outcome, status: int | None = None, at: datetime = NOW) -> Attempt:
    return Attempt(at=at, outcome=outcome, status_code=status, latency_seconds=0.1)


def test_a_failed_attempt_is_logged_and_the_delivery_due_after_the_backoff() -> None:
    delivery = new_delivery("sub-1", "webhook", "https://x.example/h", EVENT, NOW, "sub-1", "me")
    later = after_attempt(delivery, attempt(Outcome.RETRY, 503), SCHEDULE, None)
    assert later.status == "pending"
    assert later.next_attempt_at == NOW + timedelta(seconds=5)
    assert later.attempts[0].status_code == 503
    assert later.lease_until == EPOCH


def test_retry_after_wins_over_the_schedule_but_is_capped() -> None:
    delivery = new_delivery("sub-1", "webhook", "https://x.example/h", EVENT, NOW)
    asked = after_attempt(delivery, attempt(Outcome.RETRY, 429), SCHEDULE, 600.0)
    assert asked.next_attempt_at == NOW + timedelta(seconds=600)
    capped = after_attempt(delivery, attempt(Outcome.RETRY, 429), SCHEDULE, 10**9)
    assert capped.next_attempt_at == NOW + timedelta(seconds=3600)


def test_a_delivery_gives_up_when_retries_are_spent_or_the_answer_is_final() -> None:
    delivery = new_delivery("sub-1", "webhook", "https://x.example/h", EVENT, NOW, "sub-1")
    for _ in range(2):
        delivery = after_attempt(delivery, attempt(Outcome.RETRY, 500), SCHEDULE, None)
        assert delivery.status == "pending"
    delivery = after_attempt(delivery, attempt(Outcome.RETRY, 500), SCHEDULE, None)
    assert delivery.status == "failed"
    assert failure_event(delivery, NOW).attempts == 3
    refused = after_attempt(
        replayed(delivery, NOW).state, attempt(Outcome.FINAL, 410), SCHEDULE, None
    )
    assert refused.status == "failed"
    assert failure_event(refused, NOW).last_error == "HTTP 410"


def test_a_replay_makes_a_delivery_due_now_with_every_retry_again() -> None:
    delivery = new_delivery("sub-1", "webhook", "https://x.example/h", EVENT, NOW)
    failed = after_attempt(delivery, attempt(Outcome.FINAL, 400), SCHEDULE, None)
    again = replayed(failed, NOW + timedelta(hours=1)).state
    assert (again.status, again.failures_since_replay) == ("pending", 0)
    assert again.next_attempt_at == NOW + timedelta(hours=1)
    assert len(again.attempts) == 1


def test_the_delivery_id_depends_on_the_target_and_the_event_only() -> None:
    one = new_delivery("sub-1", "webhook", "https://x.example/h", EVENT, NOW)
    same = new_delivery("sub-1", "webhook", "https://x.example/h", EVENT, NOW + timedelta(days=1))
    other = new_delivery("sub-2", "webhook", "https://x.example/h", EVENT, NOW)
    assert one.id == same.id != other.id
