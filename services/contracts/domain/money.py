"""A pôle's money as funding reports it (``funding.commitment``): the State's commitments (AE),
less what was de-committed, and the payments (CP), by year. Contracts only listens: this view
serves the pôle's State correspondent (``GET /correspondents/me/poles``)."""

from __future__ import annotations

from pydantic import BaseModel

from shared.decision import Decision
from shared.events.base import EventData
from shared.events.funding import CommitmentDecommitted, CommitmentMade, PaymentRecorded

MoneyEvent = CommitmentMade | CommitmentDecommitted | PaymentRecorded


class YearMoney(BaseModel):
    year: int
    committed_cents: int = 0
    paid_cents: int = 0


class PoleMoney(BaseModel):
    pole_id: str
    years: list[YearMoney] = []

    @property
    def committed_cents(self) -> int:
        return sum(y.committed_cents for y in self.years)

    @property
    def paid_cents(self) -> int:
        return sum(y.paid_cents for y in self.years)

    def view(self) -> dict[str, object]:
        return {
            "committed_cents": self.committed_cents,
            "paid_cents": self.paid_cents,
            "years": [y.model_dump() for y in self.years],
        }

    def year(self, year: int) -> YearMoney:
        found = next((y for y in self.years if y.year == year), None)
        if found is None:
            found = YearMoney(year=year)
            self.years = sorted([*self.years, found], key=lambda y: y.year)
        return found


def record(money: PoleMoney, event: EventData) -> Decision[PoleMoney]:
    """The view with one more of funding's events (no event of its own)."""
    match event:
        case CommitmentMade(years=years):
            for amount in years:
                money.year(amount.year).committed_cents += amount.amount_cents
        case CommitmentDecommitted(year=year, amount_cents=amount):
            money.year(year).committed_cents -= amount
        case PaymentRecorded(year=year, amount_cents=amount):
            money.year(year).paid_cents += amount
        case _:
            raise ValueError(f"not a money event: {event.type_name}")
    return Decision.of(money)
