"""Ledger entries of the other financers: the commitment's event, payments and their rules,
cancellation (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.funding.domain import ledger
from services.funding.domain.commitment import Payment
from services.funding.domain.ledger import LedgerEntry
from services.funding.tests.support import M_EUR, NOW
from shared.errors import Conflict
from shared.events.funding import LedgerCommitted, LedgerPaid, YearAmount


def entry(**changes: object) -> LedgerEntry:
    base = LedgerEntry(
        entry_id="e-1",
        financer="region:82",
        item="contract",
        years=[YearAmount(year=year, amount_cents=M_EUR) for year in (2009, 2010)],
        amount_cents=2 * M_EUR,
        pole_id="minalogic",
        region_codes=["82"],
        contract_id="CP-minalogic",
        committed_at=NOW,
    )
    return base.model_copy(update=changes)


def pay(year: int, cents: int, payment_id: str = "p-1") -> Payment:
    return Payment(payment_id, year, cents, author="rhone-alpes", reference="mandat 12")


def test_an_entry_is_recorded_with_its_commitment_event() -> None:
    decision = ledger.record(entry())
    [event] = decision.events
    assert isinstance(event, LedgerCommitted)
    assert (event.entry_id, event.financer, event.amount_cents) == ("e-1", "region:82", 2 * M_EUR)
    assert (event.contract_id, event.committed_at) == ("CP-minalogic", NOW)


def test_a_payment_is_recorded_by_year_with_what_is_left() -> None:
    decision = ledger.record_payment(entry(), pay(2009, M_EUR // 2), NOW)
    [event] = decision.events
    assert isinstance(event, LedgerPaid)
    assert (event.paid_total_cents, event.remaining_cents) == (M_EUR // 2, 3 * M_EUR // 2)
    assert decision.state.paid_by_year == {"2009": M_EUR // 2}
    assert decision.answer["remaining_cents"] == 3 * M_EUR // 2


@pytest.mark.parametrize(
    ("state", "payment", "now", "reason"),
    [
        (entry(), pay(2009, 2 * M_EUR + 1), NOW, "over-commitment"),
        (entry(), pay(2011, 1), datetime(2011, 3, 1, tzinfo=UTC), "payment-outside-years"),
        (entry(), pay(2009, 1), NOW - timedelta(seconds=1), "payment-before-commitment"),
        (entry(), pay(2010, 1), NOW, "payment-in-future-year"),
        (entry(cancelled_cents=2 * M_EUR), pay(2009, 1), NOW, "entry-cancelled"),
    ],
)
def test_a_payment_breaking_a_rule_is_refused(
    state: LedgerEntry, payment: Payment, now: datetime, reason: str
) -> None:
    with pytest.raises(Conflict) as refused:
        ledger.record_payment(state, payment, now)
    assert refused.value.reason == reason


def test_a_past_year_may_still_be_paid() -> None:
    decision = ledger.record_payment(entry(), pay(2009, M_EUR), datetime(2010, 1, 15, tzinfo=UTC))
    assert decision.state.paid_cents == M_EUR


def test_cancelling_takes_what_is_not_paid_off_the_latest_years_once() -> None:
    paid = ledger.record_payment(entry(), pay(2009, M_EUR // 4), NOW).state
    decision = ledger.cancel(paid, "c-1", "financing refused", NOW)
    assert decision is not None
    state = decision.state
    assert (state.cancelled_cents, state.remaining_cents) == (7 * M_EUR // 4, 0)
    assert state.cancelled_by_year == {"2010": M_EUR, "2009": 3 * M_EUR // 4}
    assert state.committed_by_year() == {"2009": M_EUR // 4, "2010": 0}
    assert decision.events == ()
    assert ledger.cancel(state, "c-1", "again", NOW) is None


@pytest.mark.parametrize(
    ("financer", "role"),
    [
        ("cdc", "cdc"),
        ("region:82", "region:82"),
        ("department:38", "department:38"),
        ("city:grenoble", "city:grenoble"),
        ("feder", "state"),
        ("state", None),
        ("private", None),
    ],
)
def test_each_financer_pays_through_its_own_role(financer: str, role: str | None) -> None:
    assert ledger.financer_role(financer) == role


def test_older_promises_read_as_entries() -> None:
    promise = {
        "entry_id": "old",
        "financer": "cdc",
        "financer_kind": "cdc",
        "item": "investment",
        "amount_cents": M_EUR,
        "pole_id": "minalogic",
        "region_codes": ["82"],
        "source_event_id": "e",
        "source_event_type": "calls.dossier.selected.v1",
        "recorded_at": NOW,
    }
    old = LedgerEntry.model_validate(promise)
    assert (old.committed_at, old.remaining_cents, old.years) == (NOW, M_EUR, [])
