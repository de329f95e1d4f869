import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ManualClock, SimulatedClock

START = datetime(2008, 9, 30, tzinfo=UTC)


def test_two_simulated_clocks_with_the_same_anchor_agree_whenever_they_were_made() -> None:
    anchor = time.time() - 10
    first = SimulatedClock(START, speed=86_400, anchor=anchor)
    time.sleep(0.05)
    second = SimulatedClock(START, speed=86_400, anchor=anchor)
    assert abs((first.now() - second.now()).total_seconds()) < 86_400 * 0.05
    assert first.now() - START >= timedelta(days=10)


def test_a_simulated_clock_runs_at_its_speed() -> None:
    clock = SimulatedClock(START, speed=3600)
    before = clock.now()
    time.sleep(0.1)
    advanced = (clock.now() - before).total_seconds()
    assert 300 <= advanced <= 3600


def test_clocks_refuse_a_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedClock(datetime(2008, 9, 30))
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2008, 9, 30))


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    clock.advance(timedelta(days=63))
    assert clock.now() == datetime(2008, 12, 2, tzinfo=UTC)
