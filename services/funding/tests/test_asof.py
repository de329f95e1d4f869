"""Which events are a line's changes: those that move its money (or its sub-lines') or name it;
a commitment rebuilt from its events equals, at each instant, the state its decisions left."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.funding.asof import commitment_steps, evolve_commitment, touches
from services.funding.domain.commitment import (
    Decommitment,
    Payment,
    commitment_from,
    decommit,
    record_payment,
)
from services.funding.domain.envelope import amend, new_envelope
from services.funding.domain.line import decide_commitment, new_line
from services.funding.tests.support import M_EUR, NOW, envelope, line, terms, transfer
from services.funding.tests.test_amendment import extension, lines
from shared.asof import history, state_at
from shared.cloudevents import CloudEvent
from shared.events.base import EventData, new_outbox_entry
from shared.events.funding import CommitmentMade


def published(data: EventData, key: str, time: datetime = NOW) -> CloudEvent:
    return new_outbox_entry(data, source="/poles/funding", key=key, time=time).cloud_event()


def test_a_line_s_changes_are_under_its_own_key_the_envelope_s_and_the_giver_s() -> None:
    [spec] = [s for s in envelope().leaves if s.id == "intervention.platforms"]
    loaded = published(new_line(spec, envelope(), NOW)[1], spec.id)
    [amended] = amend(new_envelope(envelope()), lines(), extension(), NOW).events
    received = published(transfer(10 * M_EUR, "t"), "intervention.rd")
    other = published(new_line(envelope().leaves[0], envelope(), NOW)[1], "animation")
    keep = touches({"intervention.platforms"})
    chosen = [loaded, published(amended, "envelope"), received, other]
    assert [keep(event) for event in chosen] == [True, True, True, False]
    assert touches({"intervention"})(received) is False  # the route adds a parent line's sub-lines
    unknown = loaded.model_copy(update={"type": "funding.line.unknown.v9"})
    assert keep(unknown) is False


def test_a_commitment_at_each_instant_is_the_state_its_decisions_left() -> None:
    hour = timedelta(hours=1)
    refused = decide_commitment(line("animation"), terms("animation", (2009, 900 * M_EUR)), NOW)
    asked = terms("animation", (2009, 2 * M_EUR), (2010, 3 * M_EUR))
    [made] = decide_commitment(line("animation"), asked, NOW + hour).events
    assert isinstance(made, CommitmentMade)
    committed = commitment_from(made)
    paid = record_payment(
        committed, Payment("p-1", 2009, M_EUR, "dge", "mandat 12"), NOW + 2 * hour
    )
    back = decommit(
        paid.state, Decommitment("d-1", 2010, M_EUR, "ecofin", "stopped"), NOW + 3 * hour
    )
    log = [
        published(refused.events[0], "c-1", NOW),
        published(made, "c-1", NOW + hour),
        published(paid.events[0], "c-1", NOW + 2 * hour),
        published(back.events[0], "c-1", NOW + 3 * hour),
    ]
    steps = commitment_steps(log)
    assert steps == log[1:]  # the refusal before it was made builds nothing
    assert state_at(steps, evolve_commitment, NOW + hour / 2) is None
    for at, decided in ((1, committed), (2, paid.state), (3, back.state), (30, back.state)):
        assert state_at(steps, evolve_commitment, NOW + at * hour) == decided, at
    assert back.state.remaining_cents == 3 * M_EUR
    assert [change.who for change in history(log)] == ["dge", "dge", "dge", "ecofin"]
