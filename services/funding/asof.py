"""A budget line's changes and a commitment as it stood at an instant, rebuilt from
``funding.line`` and ``funding.commitment``.

A line's events are under several keys (its own: loaded, thresholds, transfers it gave; the
envelope's amendments; the transfers it received, under the giving line; its commitments'), so
the topics are scanned (``shared.asof.scan_events``) for every event that moves the money of the
line (or of its sub-lines: ``services.funding.domain.money``) or names it.

A commitment's events are under its id on ``funding.commitment`` (``shared.asof.read_events``):
made (perhaps refused before, while its line lacked the money), paid, de-committed. They carry
every field of the live commitment, its history included, so the as-of view is the live view's
whole: ``evolve_commitment`` builds it with the domain's own steps (``commitment_from``, ``paid``,
``given_back``), without deciding again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from services.funding.domain.commitment import (
    CommitmentState,
    Decommitment,
    Payment,
    commitment_from,
    given_back,
    paid,
)
from services.funding.domain.money import money_movements
from shared.cloudevents import CloudEvent
from shared.events.base import EVENT_TYPES, EventData, parse_event_data
from shared.events.funding import CommitmentDecommitted, CommitmentMade, PaymentRecorded
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


COMMITMENT_STEPS = {
    model.type_name for model in (CommitmentMade, PaymentRecorded, CommitmentDecommitted)
}
"""The events that build a commitment (a refusal before it was made builds nothing)."""

RequestT = TypeVar("RequestT", Payment, Decommitment)


def commitment_steps(events: Sequence[CloudEvent]) -> list[CloudEvent]:
    """The events ``evolve_commitment`` folds, in their order."""
    return [event for event in events if event.type in COMMITMENT_STEPS]


def evolve_commitment(commitment: CommitmentState | None, event: CloudEvent) -> CommitmentState:
    data = parse_event_data(event)
    if isinstance(data, CommitmentMade):
        return commitment_from(data)
    assert commitment is not None, f"{event.type} before the commitment was made"
    if isinstance(data, PaymentRecorded):
        return paid(commitment, _request(Payment, data), data.paid_at)
    assert isinstance(data, CommitmentDecommitted), event.type
    return given_back(commitment, _request(Decommitment, data), data.decommitted_at)


def _request(kind: type[RequestT], data: EventData) -> RequestT:
    """The payment or de-commitment a recorded event says was asked."""
    asked: dict[str, Any] = data.model_dump(include={field.name for field in fields(kind)})
    return kind(**asked)
