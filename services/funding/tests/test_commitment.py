"""The rules of a commitment: payments never above what is left, de-commitments never what is
paid nor more than the year's commitment; every change kept in its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.funding.domain.commitment import (
    CommitmentState,
    Decommitment,
    Payment,
    commitment_from,
    decommit,
    ensure_on,
    record_payment,
)
from services.funding.domain.line import decide_commitment
from services.funding.tests.support import M_EUR, NOW, line, terms
from shared.decision import Decision
from shared.errors import Conflict, Forbidden
from shared.events.funding import CommitmentDecommitted, CommitmentMade, PaymentRecorded


def commitment() -> CommitmentState:
    change = decide_commitment(
        line("animation"), terms("animation", (2009, 2 * M_EUR), (2010, 3 * M_EUR)), NOW
    )
    made = change.events[0]
    assert isinstance(made, CommitmentMade)
    return commitment_from(made)


def pay(state: CommitmentState, cents: int, payment_id: str = "p-1") -> CommitmentState:
    return record_payment(state, Payment(payment_id, 2009, cents, "dge"), NOW).state


def give_back(
    state: CommitmentState, decommitment_id: str, year: int, cents: int
) -> Decision[CommitmentState]:
    return decommit(state, Decommitment(decommitment_id, year, cents, "dge", "stopped"), NOW)


def test_a_commitment_is_built_from_its_event() -> None:
    state = commitment()
    assert (state.amount_cents, state.remaining_cents, state.line_id) == (
        5 * M_EUR,
        5 * M_EUR,
        "animation",
    )
    assert [entry.kind for entry in state.history] == ["committed"]


def test_payments_add_up_to_at_most_the_commitment() -> None:
    state = pay(commitment(), 4 * M_EUR)
    state = pay(state, M_EUR, payment_id="p-2")
    assert (state.paid_cents, state.remaining_cents, state.paid_by_year) == (
        5 * M_EUR,
        0,
        {"2009": 5 * M_EUR},
    )
    with pytest.raises(Conflict, match="0 cents left"):
        pay(state, 1, payment_id="p-3")


def test_a_payment_event_says_what_is_left() -> None:
    paid = record_payment(commitment(), Payment("p-1", 2009, M_EUR, "dge", "mandat 12"), NOW)
    [event] = paid.events
    assert isinstance(event, PaymentRecorded)
    assert (event.paid_total_cents, event.remaining_cents, event.pole_id) == (
        M_EUR,
        4 * M_EUR,
        "minalogic",
    )
    assert paid.answer == {
        "payment_id": "p-1",
        "commitment_id": "c-1",
        "paid_total_cents": M_EUR,
        "remaining_cents": 4 * M_EUR,
    }


def test_a_decommitment_never_gives_back_what_is_paid() -> None:
    paid = pay(commitment(), 4 * M_EUR)
    with pytest.raises(Conflict, match="at most 100000000 cents"):
        give_back(paid, "d-1", 2010, 2 * M_EUR)


def test_a_decommitment_is_bounded_by_its_year() -> None:
    given_back = give_back(commitment(), "d-1", 2009, 2 * M_EUR)
    state, [event] = given_back.state, given_back.events
    assert isinstance(event, CommitmentDecommitted)
    assert (state.remaining_cents, event.line_id, event.year) == (3 * M_EUR, "animation", 2009)
    assert state.has_applied("d-1")
    with pytest.raises(Conflict, match="for 2009"):
        give_back(state, "d-2", 2009, 1)
    with pytest.raises(Conflict, match="for 2011"):
        give_back(state, "d-3", 2011, 1)


@pytest.mark.parametrize(
    ("year", "at", "reason"),
    [
        (2011, NOW, "payment-outside-years"),
        (2009, NOW - timedelta(seconds=1), "payment-before-commitment"),
        (2010, NOW, "payment-in-future-year"),
    ],
)
def test_a_payment_is_dated_within_its_commitment(year: int, at: datetime, reason: str) -> None:
    with pytest.raises(Conflict) as refused:
        record_payment(commitment(), Payment("p-1", year, M_EUR, "dge"), at)
    assert refused.value.reason == reason


def test_a_payment_of_an_ended_year_and_of_the_year_begun_are_allowed() -> None:
    in_2010 = datetime(2010, 1, 4, 9, 0, tzinfo=UTC)
    state = record_payment(commitment(), Payment("p-1", 2009, M_EUR, "dge"), in_2010).state
    state = record_payment(state, Payment("p-2", 2010, M_EUR, "dge"), in_2010).state
    assert state.paid_by_year == {"2009": M_EUR, "2010": M_EUR}


def test_only_the_lines_of_a_role_are_paid_on() -> None:
    assert ensure_on(commitment(), {"animation"}).line_id == "animation"
    assert ensure_on(commitment(), None).line_id == "animation"
    with pytest.raises(Forbidden):
        ensure_on(commitment(), {"agencies.anr"})
