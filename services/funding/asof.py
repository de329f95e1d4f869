"""A budget line's changes, rebuilt from ``funding.line`` and ``funding.commitment``.

A line's events are under several keys (its own: loaded, thresholds, transfers it gave; the
envelope's amendments; the transfers it received, under the giving line; its commitments'), so
the topics are scanned (``shared.asof.scan_events``) for every event that moves the money of the
line (or of its sub-lines: ``services.funding.domain.money``) or names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from services.funding.domain.money import money_movements
from shared.cloudevents import CloudEvent
from shared.events.base import EVENT_TYPES, parse_event_data
from shared.topics import FUNDING_COMMITMENT, FUNDING_LINE

LINE_TOPICS = (FUNDING_LINE, FUNDING_COMMITMENT)


def touches(line_ids: Iterable[str]) -> Callable[[CloudEvent], bool]:
    """Whether an event moves the money of one of ``line_ids`` or names one of them."""
    wanted = set(line_ids)

    def keep(event: CloudEvent) -> bool:
        if event.type not in EVENT_TYPES:
            return False
        data = parse_event_data(event)
        moved = {movement.line_id for movement in money_movements(data)}
        return bool(wanted & moved) or getattr(data, "line_id", None) in wanted

    return keep
