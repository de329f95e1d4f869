import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import PARIS, ManualClock, SimulatedClock, SystemClock, to_millisecond

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


def test_an_instant_is_truncated_to_the_millisecond_not_rounded() -> None:
    instant = datetime(2008, 11, 20, 9, 0, 32, 787_853, tzinfo=UTC)
    assert to_millisecond(instant) == datetime(2008, 11, 20, 9, 0, 32, 787_000, tzinfo=UTC)
    assert to_millisecond(instant.replace(microsecond=999_999)).microsecond == 999_000
    assert to_millisecond(START) == START


def test_the_system_clock_gives_milliseconds() -> None:
    instants = [SystemClock().now() for _ in range(50)]
    assert all(i.microsecond % 1000 == 0 and i.tzinfo is UTC for i in instants)


def test_a_simulated_clock_gives_milliseconds() -> None:
    clock = SimulatedClock(START.replace(microsecond=123_456), speed=7.3)
    instants = []
    for _ in range(20):
        instants.append(clock.now())
        time.sleep(0.001)
    assert all(i.microsecond % 1000 == 0 for i in instants)
    assert instants[0] >= START.replace(microsecond=123_000)


def test_a_manual_clock_keeps_what_it_is_told_and_gives_milliseconds() -> None:
    clock = ManualClock(START.replace(microsecond=787_853))
    assert clock.now() == START.replace(microsecond=787_000)
    clock.set(START.replace(microsecond=1_999))
    assert clock.now() == START.replace(microsecond=1_000)
    for _ in range(3):
        clock.advance(timedelta(microseconds=400))
    assert clock.now() == START.replace(microsecond=3_000)  # 1.999 + 1.2 ms, kept exactly


def test_a_manual_clock_started_or_set_in_paris_time_gives_utc() -> None:
    clock = ManualClock(datetime(2008, 12, 1, 23, 59, 59, 123_456, tzinfo=PARIS))
    now = clock.now()
    assert now.tzinfo is UTC
    assert now == datetime(2008, 12, 1, 22, 59, 59, 123_000, tzinfo=UTC)
    assert now.isoformat() == "2008-12-01T22:59:59.123000+00:00"
    clock.set(datetime(2009, 6, 30, 23, 59, 59, tzinfo=PARIS))
    assert clock.now().isoformat() == "2009-06-30T21:59:59+00:00"


def test_a_simulated_clock_started_in_paris_time_gives_utc() -> None:
    paris_start = datetime(2008, 10, 1, 9, 30, 0, 123_456, tzinfo=PARIS)
    now = SimulatedClock(paris_start, speed=1.0, anchor=time.time()).now()
    assert now.tzinfo is UTC
    assert now.microsecond % 1000 == 0
    assert timedelta(0) <= now - to_millisecond(paris_start) < timedelta(seconds=5)


def test_a_simulated_clock_in_paris_time_never_runs_back_across_summer_time() -> None:
    spring = datetime(2009, 3, 29, 1, 59, tzinfo=PARIS)  # Paris skips 02:00-03:00 that night
    anchor = time.time()
    instants = [
        SimulatedClock(spring, speed=1.0, anchor=anchor - minutes * 60).now()
        for minutes in range(0, 120, 15)
    ]
    assert instants == sorted(instants)
    assert instants[-1] - instants[0] >= timedelta(minutes=105)
