"""Every change to money is an event; a line's balance at any instant is the sum of the changes
its events made up to that instant.

``money_movements`` turns one event into what it did to each line's amount, committed and paid
totals; ``balance_at`` folds those movements back into a balance. The journals keep every event
where it was decided (``services.funding.journal``), so the fold can be run for any past instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.events.base import EventData
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    LineLoaded,
    LineTransferred,
    PaymentRecorded,
)


@dataclass(frozen=True)
class Movement:
    """What one event did to one line's money (cents, signed)."""

    line_id: str
    at: datetime
    amount_cents: int = 0
    committed_cents: int = 0
    paid_cents: int = 0


@dataclass(frozen=True)
class Balance:
    amount_cents: int = 0
    committed_cents: int = 0
    paid_cents: int = 0

    @property
    def available_cents(self) -> int:
        return self.amount_cents - self.committed_cents


def money_movements(data: EventData) -> list[Movement]:
    """The movements an event makes; an event that moves no money makes none."""
    match data:
        case LineLoaded():
            return [Movement(data.line_id, data.loaded_at, amount_cents=data.amount_cents)]
        case LineTransferred():
            return [
                Movement(data.from_line_id, data.transferred_at, amount_cents=-data.amount_cents),
                Movement(data.to_line_id, data.transferred_at, amount_cents=data.amount_cents),
            ]
        case CommitmentMade():
            return [Movement(data.line_id, data.committed_at, committed_cents=data.amount_cents)]
        case CommitmentDecommitted():
            return [Movement(data.line_id, data.decommitted_at, committed_cents=-data.amount_cents)]
        case PaymentRecorded():
            return [Movement(data.line_id, data.paid_at, paid_cents=data.amount_cents)]
        case _:
            return []


def balance_at(movements: Iterable[Movement], line_ids: Iterable[str], at: datetime) -> Balance:
    """The balance of the lines ``line_ids`` (a line, or a line's sub-lines) at instant ``at``."""
    wanted = set(line_ids)
    amount = committed = paid = 0
    for movement in movements:
        if movement.line_id in wanted and movement.at <= at:
            amount += movement.amount_cents
            committed += movement.committed_cents
            paid += movement.paid_cents
    return Balance(amount, committed, paid)
