"""The as-of kernel: which partition a key is read from, the fold up to an instant, the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.partitioner import murmur2

from shared.asof import history, partition_of, require_state_at, state_at, who
from shared.cloudevents import CloudEvent
from shared.errors import NotFound

T0 = datetime(2009, 1, 1, tzinfo=UTC)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def event(minutes: int, type_: str, **data: object) -> CloudEvent:
    return CloudEvent(
        id=f"e{minutes}",
        type=type_,
        source="/poles/calls",
        subject="d1",
        time=T0 + timedelta(minutes=minutes),
        data=dict(data),
        traceparent=TRACEPARENT if minutes == 0 else None,
    )


LOG = [event(0, "submitted"), event(10, "voted", voter="cdc"), event(20, "decided")]


def count(state: int | None, _: CloudEvent) -> int:
    return (state or 0) + 1


def test_the_key_is_read_on_the_partition_the_default_partitioner_chose() -> None:
    expected = (murmur2(b"dossier-42") & 0x7FFFFFFF) % 6
    assert partition_of("dossier-42", [5, 4, 3, 2, 1, 0]) == expected


def test_the_fold_takes_the_events_at_or_before_the_instant_by_event_time() -> None:
    assert state_at(LOG, count, T0 - timedelta(seconds=1)) is None
    assert state_at(LOG, count, T0) == 1
    assert state_at(LOG, count, T0 + timedelta(minutes=15)) == 2
    assert state_at(LOG, count, T0 + timedelta(days=1)) == 3


def test_a_record_that_exists_before_its_first_event_folds_from_its_start() -> None:
    assert state_at(LOG, count, T0 - timedelta(seconds=1), start=10) == 10
    assert state_at(LOG, count, T0 + timedelta(minutes=15), start=10) == 12


def test_before_the_first_event_is_a_404_naming_the_instant() -> None:
    with pytest.raises(NotFound, match="did not exist yet at 2008"):
        require_state_at(LOG, count, T0 - timedelta(days=1), "dossier d1")


def test_who_is_the_principal_the_event_names_else_its_source() -> None:
    assert who(LOG[1]) == "cdc"
    assert who(event(5, "found-eligible", decided_by="state")) == "state"
    assert who(LOG[0]) == "/poles/calls"
    assert who(event(6, "paid", author="state")) == "state"
    manual = event(7, "made", source={"kind": "manual", "author": "state"})
    assert who(manual) == "state"
    assert who(event(8, "made", source={"kind": "event", "author": None})) == "/poles/calls"
    assert who(event(9, "party-signed", recorded_by="region:73")) == "region:73"


def test_history_lists_each_event_once_in_order_up_to_the_instant() -> None:
    changes = history(LOG, T0 + timedelta(minutes=10))
    assert [(c.event_id, c.type, c.who) for c in changes] == [
        ("e0", "submitted", "/poles/calls"),
        ("e10", "voted", "cdc"),
    ]
    assert changes[0].trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert len(history(LOG)) == 3
