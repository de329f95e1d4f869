"""The order of a backfill: the events of several partitions merged into one sequence.

Each partition is read in offset order (an aggregate's events are in one partition, in order);
the partitions are merged by the event's time, then topic, partition and offset. The merge takes
the smallest head of the partitions still open, so each partition's own order is kept even when
its times are not monotonic (a record whose time is earlier than its predecessor's waits for it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple


class Place(NamedTuple):
    """A record's place in the merged sequence."""

    time: datetime
    topic: str
    partition: int
    offset: int


def next_partition(heads: Mapping[tuple[str, int], Place]) -> tuple[str, int]:
    """The partition whose head record comes next (every open partition must have a head)."""
    return min(heads, key=lambda tp: heads[tp])


def merged(partitions: Mapping[tuple[str, int], Sequence[Place]]) -> list[Place]:
    """Whole partitions merged in backfill order (what the reader does incrementally)."""
    cursors = {tp: 0 for tp, places in partitions.items() if places}
    order: list[Place] = []
    while cursors:
        tp = next_partition({tp: partitions[tp][i] for tp, i in cursors.items()})
        order.append(partitions[tp][cursors[tp]])
        cursors[tp] += 1
        if cursors[tp] == len(partitions[tp]):
            del cursors[tp]
    return order
