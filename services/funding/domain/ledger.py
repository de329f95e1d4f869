"""Another financer's ledger entry: a commitment (AE) by year of a region, a department, a city,
the CDC, FEDER or private money, beside the State's lines, and its payments (CP).

An entry is created once under a deterministic id (from its financer and its source: an event,
or a dossier's co-financing) with its ``funding.ledger.committed.v1`` event. Payments are new
versions of the entry, each once (the command's idempotency id). A co-financing refused after the
entry was recorded cancels what the entry has not paid: the entry keeps its history, its
``cancelled_cents`` and why (no event of its own: ``funding.financing.refused.v1`` says that what
was committed for the dossier is given back).

Payment rules (``record_payment``, the same as the State's payments on line commitments, see
``services.funding.domain.commitment.record_payment``), each a 409 that changes nothing:
- at most what the entry has left: committed, minus paid, minus cancelled (``over-commitment``);
- its budget year is one of the entry's years (``payment-outside-years``);
- it is made at or after the entry's commitment, on the service's clock
  (``payment-before-commitment``);
- its budget year has begun: at most the current year in Paris (``payment-in-future-year``); a
  year that has ended may still be paid (2009's credits paid in January 2010);
- a cancelled entry takes no payment (``entry-cancelled``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from services.funding.domain.commitment import Payment, ensure_payable
from shared.decision import Decision
from shared.errors import Conflict
from shared.events.funding import FINANCER, LedgerCommitted, LedgerPaid, YearAmount

LedgerDecision = Decision["LedgerEntry"]
FINANCER_PATTERN = re.compile(FINANCER)


class LedgerChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: Literal["paid", "cancelled"]
    at: datetime
    amount_cents: int
    year: int | None = None
    author: str | None = None
    reason: str | None = None


class LedgerEntry(BaseModel):
    """An entry of a financer's ledger. Reads the older promises (``promise-recorded``) too."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    entry_id: str
    financer: str
    item: str
    years: list[YearAmount] = Field(default_factory=list)
    amount_cents: int = Field(ge=0)
    pole_id: str | None = None
    partner_pole_ids: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(default_factory=list)
    call_id: str | None = None
    dossier_id: str | None = None
    contract_id: str | None = None
    source_event_id: str | None = None
    source_event_type: str | None = None
    author: str | None = None
    committed_at: datetime = Field(validation_alias=AliasChoices("committed_at", "recorded_at"))
    paid_cents: int = 0
    paid_by_year: dict[str, int] = Field(default_factory=dict)
    cancelled_cents: int = 0
    cancelled_by_year: dict[str, int] = Field(default_factory=dict)
    changes: list[LedgerChange] = Field(default_factory=list)

    @property
    def remaining_cents(self) -> int:
        """What can still be paid."""
        return self.amount_cents - self.paid_cents - self.cancelled_cents

    @property
    def cancelled(self) -> bool:
        return self.cancelled_cents > 0

    def committed_by_year(self) -> dict[str, int]:
        """What the entry commits in each year, cancellations taken off."""
        return {
            str(item.year): item.amount_cents - self.cancelled_by_year.get(str(item.year), 0)
            for item in self.years
        }


def financer_role(financer: str) -> str | None:
    """The role that speaks for a financer on its ledger: its own scoped role (``cdc``,
    ``region:NN``, ``department:X``, ``city:X``), the State for FEDER (managed by the State in
    the region); None for the State (its payments are on line commitments) and private money."""
    if financer in ("state", "private"):
        return None
    return "state" if financer == "feder" else financer


def is_financer(financer: str) -> bool:
    return FINANCER_PATTERN.match(financer) is not None


def record(entry: LedgerEntry) -> LedgerDecision:
    """A new entry and the event that says so."""
    event = LedgerCommitted(**entry.model_dump(include=set(LedgerCommitted.model_fields)))
    return Decision.of(entry, [event], {"entry_id": entry.entry_id, "financer": entry.financer})


def record_payment(entry: LedgerEntry, payment: Payment, now: datetime) -> LedgerDecision:
    """Pay from the entry (see the module's rules); Conflict with a reason otherwise."""
    if entry.cancelled:
        raise Conflict(f"ledger entry {entry.entry_id} was cancelled", "entry-cancelled")
    ensure_payable(
        f"ledger entry {entry.entry_id}",
        entry.years,
        entry.committed_at,
        entry.remaining_cents,
        payment,
        now,
    )
    year = str(payment.year)
    change = LedgerChange(
        id=payment.payment_id,
        kind="paid",
        at=now,
        amount_cents=payment.amount_cents,
        year=payment.year,
        author=payment.author,
        reason=payment.reference,
    )
    state = entry.model_copy(
        update={
            "paid_cents": entry.paid_cents + payment.amount_cents,
            "paid_by_year": {
                **entry.paid_by_year,
                year: entry.paid_by_year.get(year, 0) + payment.amount_cents,
            },
            "changes": [*entry.changes, change],
        }
    )
    totals = {"paid_total_cents": state.paid_cents, "remaining_cents": state.remaining_cents}
    event = LedgerPaid(
        payment_id=payment.payment_id,
        entry_id=entry.entry_id,
        financer=entry.financer,
        year=payment.year,
        amount_cents=payment.amount_cents,
        author=payment.author,
        pole_id=entry.pole_id,
        region_codes=entry.region_codes,
        paid_at=now,
        **totals,
    )
    answer = {"payment_id": payment.payment_id, "entry_id": entry.entry_id, **totals}
    return Decision.of(state, [event], answer)


def cancel(entry: LedgerEntry, change_id: str, reason: str, now: datetime) -> LedgerDecision | None:
    """Cancel what the entry has not paid (taken off its latest years first); None when there
    is nothing (left) to cancel."""
    if entry.cancelled or entry.remaining_cents == 0:
        return None
    change = LedgerChange(
        id=change_id, kind="cancelled", at=now, amount_cents=entry.remaining_cents, reason=reason
    )
    by_year: dict[str, int] = {}
    left = entry.remaining_cents
    for item in sorted(entry.years, key=lambda y: -y.year):  # the latest years first
        by_year[str(item.year)] = min(left, item.amount_cents)
        left -= by_year[str(item.year)]
    state = entry.model_copy(
        update={
            "cancelled_cents": entry.cancelled_cents + entry.remaining_cents,
            "cancelled_by_year": by_year,
            "changes": [*entry.changes, change],
        }
    )
    return Decision.of(state, [], {"entry_id": entry.entry_id, "cancelled": True})
