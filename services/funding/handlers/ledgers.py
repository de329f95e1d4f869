"""The other financers' ledgers: entries recorded once (deterministic ids), payments by the
financer's own principal, cancellations when a co-financing is refused."""

from __future__ import annotations

import contextlib
from datetime import datetime

from services.funding.domain import ids
from services.funding.domain import ledger as rules
from services.funding.domain.commitment import Payment
from services.funding.domain.ledger import LedgerEntry
from shared.auth import Principal
from shared.decision import Answer
from shared.errors import Forbidden, NotFound
from shared.repository import Repository, command_id
from shared.store import ConcurrencyConflict


class Ledgers:
    def __init__(self, entries: Repository[LedgerEntry]) -> None:
        self.entries = entries

    async def record(self, entry: LedgerEntry) -> None:
        """Record an entry with its event, once: an entry with this id is left as it is."""
        with contextlib.suppress(ConcurrencyConflict):  # recorded by an earlier delivery
            await self.entries.add(entry.entry_id, rules.record(entry), self.entries.clock.now())

    async def get(self, entry_id: str) -> LedgerEntry | None:
        found = await self.entries.get(entry_id)
        return None if found is None else found.state

    async def pay(
        self,
        financer: str,
        entry_id: str,
        principal: Principal,
        payment: Payment,
        key: str,
    ) -> Answer:
        """A payment by the financer's own principal (FEDER's by the State's)."""
        role = rules.financer_role(financer)
        if role is None or not principal.has(role):
            raise Forbidden(f"only {role or 'nobody'} pays on the ledger of {financer}")

        def decide(entry: LedgerEntry, now: datetime) -> rules.LedgerDecision:
            if entry.financer != financer:
                raise NotFound(f"no entry {entry_id} in the ledger of {financer}")
            return rules.record_payment(entry, payment, now)

        return await self.entries.change(entry_id, decide, command_id(principal.subject, key))

    async def cancel(self, entry_id: str, reason: str) -> None:
        """Cancel what an entry has not paid (once: a cancelled entry is left as it is)."""
        change_id = ids.derived_id("ledger-cancel", entry_id)
        await self.entries.apply(
            entry_id, lambda entry, now: rules.cancel(entry, change_id, reason, now)
        )
