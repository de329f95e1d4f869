"""Every change to money is an event: folding the events' movements gives back the live totals,
now and at any past instant."""

from __future__ import annotations

from datetime import timedelta

from services.funding.domain.commitment import (
    Decommitment,
    Payment,
    commitment_from,
    decommit,
    record_payment,
)
from services.funding.domain.envelope import amend, new_envelope
from services.funding.domain.line import (
    apply_amendment,
    apply_decommitment,
    decide_commitment,
    new_line,
    receive_transfer,
    send_transfer,
)
from services.funding.domain.money import Balance, balance_at, money_movements
from services.funding.tests.support import M_EUR, NOW, envelope, terms, transfer
from services.funding.tests.test_amendment import extension
from shared.events.base import EventData
from shared.events.funding import CommitmentDecommitted, CommitmentMade, EnvelopeAmended


def test_the_balance_rebuilt_from_events_equals_the_live_totals() -> None:
    events: list[EventData] = []
    lines = {}
    for spec in envelope().leaves:
        state, loaded = new_line(spec, envelope(), NOW)
        lines[spec.id], events = state, [*events, loaded]

    day1, day2, day3 = (NOW + timedelta(days=n) for n in (1, 2, 3))
    change = decide_commitment(
        lines["intervention.platforms"],
        terms("intervention.platforms", (2009, 20 * M_EUR), (2010, 5 * M_EUR)),
        day1,
    )
    lines["intervention.platforms"], events = change.state, [*events, *change.events]
    made = change.events[0]
    assert isinstance(made, CommitmentMade)
    balance_day1 = Balance(105 * M_EUR, 25 * M_EUR, 0)

    paid = record_payment(commitment_from(made), Payment("p", 2009, 7 * M_EUR, "dge"), day2)
    decommitted = decommit(paid.state, Decommitment("d", 2010, 5 * M_EUR, "dge", "smaller"), day2)
    commitment = decommitted.state
    [given_back] = decommitted.events
    assert isinstance(given_back, CommitmentDecommitted)
    lines["intervention.platforms"] = apply_decommitment(
        lines["intervention.platforms"], given_back
    ).state
    moved = transfer(10 * M_EUR, "t", at=day3)
    lines["intervention.rd"] = send_transfer(lines["intervention.rd"], moved).state
    lines["intervention.platforms"] = receive_transfer(lines["intervention.platforms"], moved).state
    events += [*paid.events, given_back, moved]

    movements = [m for event in events for m in money_movements(event)]
    for line_id, state in lines.items():
        rebuilt = balance_at(movements, [line_id], day3)
        live_paid = commitment.paid_cents if line_id == "intervention.platforms" else 0
        assert rebuilt == Balance(state.amount_cents, state.committed_cents, live_paid)
    assert balance_at(movements, ["intervention.platforms"], day1) == balance_day1
    assert balance_at(movements, ["intervention.platforms"], NOW - timedelta(days=1)) == Balance()
    whole = balance_at(movements, [spec.id for spec in envelope().leaves], day3)
    assert whole.amount_cents == 1500 * M_EUR
    assert (whole.committed_cents, whole.paid_cents) == (20 * M_EUR, 7 * M_EUR)


def test_an_envelope_amendment_sets_the_amounts_the_balance_shows_from_then_on() -> None:
    lines = {spec.id: new_line(spec, envelope(), NOW)[0] for spec in envelope().leaves}
    events: list[EventData] = [new_line(spec, envelope(), NOW)[1] for spec in envelope().leaves]
    day1, day2, day3 = (NOW + timedelta(days=n) for n in (1, 2, 3))
    platforms = "intervention.platforms"
    change = decide_commitment(lines[platforms], terms(platforms, (2009, 20 * M_EUR)), day1)
    lines[platforms], events = change.state, [*events, *change.events]
    before = dict(lines)
    [amended] = amend(new_envelope(envelope()), lines, extension(), day2).events
    assert isinstance(amended, EnvelopeAmended)
    lines = {line_id: apply_amendment(state, amended).state for line_id, state in lines.items()}
    amended_lines = dict(lines)
    moved = transfer(10 * M_EUR, "t", at=day3)
    lines["intervention.rd"] = send_transfer(lines["intervention.rd"], moved).state
    lines[platforms] = receive_transfer(lines[platforms], moved).state
    movements = [m for event in [*events, amended, moved] for m in money_movements(event)]
    for at, live in ((day1, before), (day2, amended_lines), (day3, lines)):
        for line_id, state in live.items():
            rebuilt = balance_at(movements, [line_id], at)
            assert (rebuilt.amount_cents, rebuilt.committed_cents) == (
                state.amount_cents,
                state.committed_cents,
            ), (line_id, at)
    assert balance_at(movements, [platforms], day3).amount_cents == 150 * M_EUR
