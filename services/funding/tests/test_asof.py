"""Which events are a line's changes: those that move its money (or its sub-lines') or name it."""

from __future__ import annotations

from services.funding.asof import touches
from services.funding.domain.envelope import amend, new_envelope
from services.funding.domain.line import new_line
from services.funding.tests.support import M_EUR, NOW, envelope, transfer
from services.funding.tests.test_amendment import extension, lines
from shared.cloudevents import CloudEvent
from shared.events.base import EventData, new_outbox_entry


def published(data: EventData, key: str) -> CloudEvent:
    return new_outbox_entry(data, source="/poles/funding", key=key, time=NOW).cloud_event()


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
