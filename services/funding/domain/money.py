"""Every change to money is an event; a line's balance at any instant is the sum of the changes
its events made up to that instant (an envelope amendment sets the amounts of the lines it
names: from then on, a line's amount is the amendment's plus the changes after it).

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
    EnvelopeAmended,
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
    amount_set_cents: int | None = None
    """The line's amount from this instant on (an envelope amendment); None: a change."""


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
        case EnvelopeAmended():
            return [
                Movement(line.line_id, data.amended_at, amount_set_cents=line.amount_cents)
                for line in data.lines
            ]
        case _:
            return []


def balance_at(movements: Iterable[Movement], line_ids: Iterable[str], at: datetime) -> Balance:
    """The balance of the lines ``line_ids`` (a line, or a line's sub-lines) at instant ``at``:
    their movements up to ``at`` in the order of their instants (an amount set, then changed)."""
    wanted = set(line_ids)
    amounts: dict[str, int] = {}
    committed = paid = 0
    taken = (m for m in movements if m.line_id in wanted and m.at <= at)
    for movement in sorted(taken, key=lambda m: m.at):
        if movement.amount_set_cents is not None:
            amounts[movement.line_id] = movement.amount_set_cents
        amounts[movement.line_id] = amounts.get(movement.line_id, 0) + movement.amount_cents
        committed += movement.committed_cents
        paid += movement.paid_cents
    return Balance(sum(amounts.values()), committed, paid)
