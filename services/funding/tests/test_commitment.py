"""The rules of a commitment: payments never above what is left, de-commitments never what is
paid nor more than the year's commitment; every change kept in its history."""

from __future__ import annotations

import pytest

from services.funding.domain.commitment import (
    CommitmentState,
    commitment_from,
    decommit,
    record_payment,
)
from services.funding.domain.errors import RuleBroken
from services.funding.domain.line import decide_commitment
from services.funding.tests.support import M_EUR, NOW, line, terms
from shared.events.funding import CommitmentMade


def commitment() -> CommitmentState:
    change = decide_commitment(
        line("animation"), terms("animation", (2009, 2 * M_EUR), (2010, 3 * M_EUR)), NOW
    )
    made = change.events[0]
    assert isinstance(made, CommitmentMade)
    return commitment_from(made)


def pay(state: CommitmentState, cents: int, payment_id: str = "p-1") -> CommitmentState:
    return record_payment(
        state,
        payment_id=payment_id,
        year=2009,
        amount_cents=cents,
        author="dge",
        reference=None,
        now=NOW,
    )[0]


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
    with pytest.raises(RuleBroken, match="0 cents left"):
        pay(state, 1, payment_id="p-3")


def test_a_payment_event_says_what_is_left() -> None:
    _, event = record_payment(
        commitment(),
        payment_id="p-1",
        year=2010,
        amount_cents=M_EUR,
        author="dge",
        reference="mandat 12",
        now=NOW,
    )
    assert (event.paid_total_cents, event.remaining_cents, event.pole_id) == (
        M_EUR,
        4 * M_EUR,
        "minalogic",
    )


def test_a_decommitment_never_gives_back_what_is_paid() -> None:
    paid = pay(commitment(), 4 * M_EUR)
    with pytest.raises(RuleBroken, match="at most 100000000 cents"):
        decommit(
            paid,
            decommitment_id="d-1",
            year=2010,
            amount_cents=2 * M_EUR,
            author="dge",
            reason="stopped",
            now=NOW,
        )


def test_a_decommitment_is_bounded_by_its_year() -> None:
    state, event = decommit(
        commitment(),
        decommitment_id="d-1",
        year=2009,
        amount_cents=2 * M_EUR,
        author="dge",
        reason="stopped",
        now=NOW,
    )
    assert (state.remaining_cents, event.line_id, event.year) == (3 * M_EUR, "animation", 2009)
    assert state.has_applied("d-1")
    with pytest.raises(RuleBroken, match="for 2009"):
        decommit(
            state,
            decommitment_id="d-2",
            year=2009,
            amount_cents=1,
            author="dge",
            reason="stopped",
            now=NOW,
        )
    with pytest.raises(RuleBroken, match="for 2011"):
        decommit(
            state,
            decommitment_id="d-3",
            year=2011,
            amount_cents=1,
            author="dge",
            reason="not a year of it",
            now=NOW,
        )
