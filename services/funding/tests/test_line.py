"""The rules of a line: never over its amount nor a year's ceiling, each decision once,
thresholds announced once, transfers never below what is committed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.funding.domain.line import (
    apply_decommitment,
    decide_commitment,
    receive_transfer,
    send_transfer,
)
from services.funding.tests.support import M_EUR, NOW, line, terms, transfer
from shared.errors import Conflict, Invalid
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentRefused,
    LineThresholdCrossed,
)


def test_a_commitment_that_fits_is_made_with_every_detail() -> None:
    change = decide_commitment(line("animation"), terms("animation", (2009, 2 * M_EUR)), NOW)
    assert change.state.committed_cents == 2 * M_EUR
    assert change.state.committed_by_year == {"2009": 2 * M_EUR}
    assert change.answer == {
        "outcome": "committed",
        "commitment_id": "c-1",
        "line_id": "animation",
        "amount_cents": 2 * M_EUR,
    }
    [made] = change.events
    assert isinstance(made, CommitmentMade)
    assert (made.amount_cents, made.line_committed_cents, made.pole_id) == (
        2 * M_EUR,
        2 * M_EUR,
        "minalogic",
    )


def test_a_commitment_over_the_line_is_refused_and_commits_nothing() -> None:
    nearly_full = decide_commitment(line("animation"), terms("animation", (2009, 49 * M_EUR)), NOW)
    change = decide_commitment(
        nearly_full.state, terms("animation", (2010, 2 * M_EUR), commitment_id="c-2"), NOW
    )
    assert change.state.committed_cents == 49 * M_EUR
    [refused] = change.events
    assert isinstance(refused, CommitmentRefused)
    assert (refused.reason, refused.asked_cents, refused.available_cents) == (
        "over-line",
        2 * M_EUR,
        1 * M_EUR,
    )
    assert change.answer["outcome"] == "refused"


def test_the_platforms_yearly_ceiling_of_35_million_holds() -> None:
    platforms = line("intervention.platforms")
    full_2009 = decide_commitment(platforms, terms(platforms.line_id, (2009, 35 * M_EUR)), NOW)
    one_more_cent = decide_commitment(
        full_2009.state, terms(platforms.line_id, (2009, 1), commitment_id="c-2"), NOW
    )
    next_year = decide_commitment(
        one_more_cent.state, terms(platforms.line_id, (2010, 35 * M_EUR), commitment_id="c-3"), NOW
    )
    assert one_more_cent.answer["reason"] == "over-yearly-ceiling"
    assert one_more_cent.answer["available_cents"] == 0
    assert next_year.answer["outcome"] == "committed"
    assert next_year.state.committed_by_year == {"2009": 35 * M_EUR, "2010": 35 * M_EUR}


def test_a_year_outside_the_envelope_is_refused() -> None:
    change = decide_commitment(line("animation"), terms("animation", (2012, M_EUR)), NOW)
    assert change.answer["reason"] == "year-outside-envelope"
    assert change.state.committed_cents == 0


def test_a_commitment_over_several_years_is_taken_whole_or_not_at_all() -> None:
    platforms = line("intervention.platforms")
    change = decide_commitment(
        platforms, terms(platforms.line_id, (2009, 10 * M_EUR), (2010, 36 * M_EUR)), NOW
    )
    assert change.answer["reason"] == "over-yearly-ceiling"
    assert change.state.committed_cents == 0
    assert change.state.committed_by_year == {}


def test_each_threshold_is_announced_once() -> None:
    state = line("animation")
    crossed: list[int] = []
    for number, cents in enumerate([40 * M_EUR, 7 * M_EUR, 1 * M_EUR, 2 * M_EUR]):
        change = decide_commitment(
            state, terms("animation", (2009, cents), commitment_id=f"c-{number}"), NOW
        )
        state = change.state
        crossed += [
            e.threshold_percent for e in change.events if isinstance(e, LineThresholdCrossed)
        ]
    given_back = apply_decommitment(state, decommitted(M_EUR)).state
    again = decide_commitment(
        given_back, terms("animation", (2009, M_EUR), commitment_id="c-9"), NOW
    )
    assert crossed == [80, 95, 100]
    assert not any(isinstance(e, LineThresholdCrossed) for e in again.events)


def test_one_commitment_may_cross_several_thresholds_at_once() -> None:
    change = decide_commitment(line("animation"), terms("animation", (2009, 50 * M_EUR)), NOW)
    assert [e.threshold_percent for e in change.events if isinstance(e, LineThresholdCrossed)] == [
        80,
        95,
        100,
    ]


def decommitted(amount_cents: int, decommitment_id: str = "d-1") -> CommitmentDecommitted:
    return CommitmentDecommitted(
        decommitment_id=decommitment_id,
        commitment_id="c-0",
        line_id="animation",
        year=2009,
        amount_cents=amount_cents,
        author="dge",
        reason="project stopped",
        decommitted_at=NOW,
    )


def test_a_decommitment_gives_money_back_to_its_year() -> None:
    committed = decide_commitment(line("animation"), terms("animation", (2009, 3 * M_EUR)), NOW)
    given_back = apply_decommitment(committed.state, decommitted(M_EUR))
    assert given_back.state.committed_cents == 2 * M_EUR
    assert given_back.state.committed_by_year == {"2009": 2 * M_EUR}


def test_a_transfer_moves_money_and_keeps_the_total() -> None:
    giver, receiver = line("intervention.rd"), line("intervention.platforms")
    sent = send_transfer(giver, transfer(5 * M_EUR))
    received = receive_transfer(receiver, transfer(5 * M_EUR))
    assert sent.state.amount_cents == 490 * M_EUR
    assert received.state.amount_cents == 110 * M_EUR
    assert sent.state.amount_cents + received.state.amount_cents == 600 * M_EUR
    assert sent.events == (transfer(5 * M_EUR),)


def test_a_transfer_never_leaves_the_giver_below_what_it_committed() -> None:
    giver = decide_commitment(
        line("intervention.rd"), terms("intervention.rd", (2009, 490 * M_EUR)), NOW
    ).state
    with pytest.raises(Conflict, match="cannot give"):
        send_transfer(giver, transfer(5 * M_EUR + 1))
    assert send_transfer(giver, transfer(5 * M_EUR)).state.available_cents == 0


@given(st.lists(st.integers(min_value=1, max_value=20 * M_EUR), min_size=1, max_size=40))
def test_whatever_the_requests_a_line_takes_exactly_those_that_fit(asks: list[int]) -> None:
    state = line("animation")
    for number, cents in enumerate(asks):
        fits = cents <= state.available_cents
        change = decide_commitment(
            state, terms("animation", (2010, cents), commitment_id=f"c-{number}"), NOW
        )
        assert (change.answer["outcome"] == "committed") is fits
        state = change.state
        assert 0 <= state.committed_cents <= state.amount_cents


def test_a_transfer_moves_yearly_ceilings_with_the_amount() -> None:
    giver, receiver = line("intervention.rd"), line("intervention.platforms")
    sent = send_transfer(giver, transfer(5 * M_EUR, year=2010), receiver_has_ceilings=True)
    received = receive_transfer(receiver, transfer(5 * M_EUR, year=2010)).state
    assert received.yearly_ceilings["2010"] == 40 * M_EUR
    assert received.available_in(2010) == 40 * M_EUR
    assert sent.state.yearly_ceilings == {}


def test_a_transfer_without_years_to_or_from_a_line_with_ceilings_is_invalid() -> None:
    bare = transfer(5 * M_EUR).model_copy(update={"years": []})
    with pytest.raises(Invalid, match="which years' ceilings move"):
        send_transfer(line("intervention.rd"), bare, receiver_has_ceilings=True)
    assert send_transfer(line("intervention.rd"), bare).state.amount_cents == 490 * M_EUR


def test_a_giving_line_never_lowers_a_year_below_its_commitments() -> None:
    platforms = decide_commitment(
        line("intervention.platforms"), terms("intervention.platforms", (2009, 30 * M_EUR)), NOW
    ).state
    back = transfer(6 * M_EUR, year=2009).model_copy(
        update={"from_line_id": "intervention.platforms", "to_line_id": "intervention.rd"}
    )
    with pytest.raises(Conflict) as refused:
        send_transfer(platforms, back)
    assert refused.value.reason == "over-yearly-ceiling"
    fits = send_transfer(platforms, transfer(5 * M_EUR, year=2009).model_copy(update={
        "from_line_id": "intervention.platforms", "to_line_id": "intervention.rd"}))  # fmt: skip
    assert fits.state.yearly_ceilings["2009"] == 30 * M_EUR


def test_a_line_with_ceilings_commits_nothing_in_a_year_without_one() -> None:
    platforms = line("intervention.platforms").model_copy(
        update={"years": [2009, 2010, 2011, 2012]}
    )
    change = decide_commitment(platforms, terms("intervention.platforms", (2012, 1)), NOW)
    assert change.answer["reason"] == "over-yearly-ceiling"
