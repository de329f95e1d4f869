"""What the decisions of the other services mean for the money.

- a dossier selected: its co-financing opens (``services.funding.handlers.financing``): the
  State's share is committed on the line its call kind names, the other financers are asked;
- a study commissioned: the CDC's share goes to the CDC's ledger as a commitment for the year
  the study was commissioned (Europe/Paris);
- a contract signed: the State's financing (animation credits) is committed on the animation line
  as one commitment spanning the contract's years (all its years or none), and each other party's
  financing (region, department, city, FEDER, the CDC) is committed in its ledger;
- a contract amended: the years a financer had not committed for the contract (the 2012
  extension) are committed: the State's on the animation line, the others' in their ledgers.

Each source event commits at most once: the commitment's id is derived from the event's id and
the line remembers every commitment id it decided; ledger entries have deterministic ids.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from services.funding.domain import ids
from services.funding.domain.envelope import Envelope
from services.funding.domain.ledger import LedgerEntry, is_financer
from services.funding.handlers.budget import Budget
from services.funding.handlers.financing import Financings
from shared.clock import PARIS
from shared.cloudevents import CloudEvent
from shared.events.calls import DossierSelected, StudyCommissioned
from shared.events.contracts import ContractAmended, ContractSigned, YearlyCommitment
from shared.events.funding import (
    Beneficiary,
    CommitmentSource,
    CommitmentTerms,
    YearAmount,
    total_cents,
)

log = logging.getLogger(__name__)
LEDGER_PARTIES = frozenset({"region", "department", "city", "feder", "cdc"})
"""The contract parties whose financing goes to their own ledger."""


class ContractReads(Protocol):
    async def contract_years(self, contract_id: str) -> dict[str, set[int]]: ...


def party_kind(party_id: str) -> str:
    """A party's kind read from its id (``region:82`` -> region, ``feder``, ``state``, ...)."""
    return party_id.split(":", 1)[0]


class SourceEvents:
    def __init__(
        self, budget: Budget, financings: Financings, envelope: Envelope, reads: ContractReads
    ) -> None:
        self.budget = budget
        self.financings = financings
        self.ledgers = financings.ledgers
        self.envelope = envelope
        self.reads = reads

    async def dossier_selected(self, event: CloudEvent, data: DossierSelected) -> None:
        await self.financings.open(event, data)

    async def study_commissioned(self, event: CloudEvent, data: StudyCommissioned) -> None:
        if data.cdc_share_cents > 0:
            year = data.commissioned_at.astimezone(PARIS).year
            await self._record(
                event,
                financer="cdc",
                item=f"study:{data.study_id}",
                years=[YearAmount(year=year, amount_cents=data.cdc_share_cents)],
                pole_id=data.pole_id,
                partner_pole_ids=data.partner_pole_ids,
                region_codes=data.region_codes,
                call_id=data.call_id,
                dossier_id=data.dossier_id,
            )

    async def contract_signed(self, event: CloudEvent, data: ContractSigned) -> None:
        kinds = {party.party_id: party.kind for party in data.parties}
        await self._contract_money(event, data, kinds, data.financing)

    async def contract_amended(self, event: CloudEvent, data: ContractAmended) -> None:
        """Only the years a financer had not committed for the contract are new money."""
        committed = await self.reads.contract_years(data.contract_id)
        new = [
            item for item in data.financing if item.year not in committed.get(item.party_id, set())
        ]
        kinds = {item.party_id: party_kind(item.party_id) for item in new}
        await self._contract_money(event, data, kinds, new)

    async def _contract_money(
        self,
        event: CloudEvent,
        data: ContractSigned | ContractAmended,
        kinds: Mapping[str, str],
        financing: list[YearlyCommitment],
    ) -> None:
        state_years = _by_year(f for f in financing if kinds.get(f.party_id) == "state")
        if state_years:
            await self.budget.commit(
                CommitmentTerms(
                    commitment_id=ids.commitment_for_event(event.id),
                    line_id=self.envelope.contract_state_financing_line,
                    years=state_years,
                    beneficiary=Beneficiary(kind="pole", id=data.pole_id, name=data.pole_name),
                    pole_id=data.pole_id,
                    region_codes=data.region_codes,
                    contract_id=data.contract_id,
                    source=CommitmentSource(kind="event", event_id=event.id, event_type=event.type),
                )
            )
        for party_id in dict.fromkeys(f.party_id for f in financing):
            years = _by_year(f for f in financing if f.party_id == party_id)
            if kinds.get(party_id) not in LEDGER_PARTIES or not years:
                continue
            if not is_financer(party_id):
                log.warning("contract %s: party %s names no ledger", data.contract_id, party_id)
                continue
            await self._record(
                event,
                financer=party_id,
                item="contract",
                years=years,
                pole_id=data.pole_id,
                region_codes=data.region_codes,
                contract_id=data.contract_id,
            )

    async def _record(
        self, event: CloudEvent, *, financer: str, item: str, years: list[YearAmount], **facts: Any
    ) -> None:
        """Commit in a financer's ledger once per (financer, source event, item)."""
        await self.ledgers.record(
            LedgerEntry(
                entry_id=ids.ledger_entry(financer, event.id, item),
                financer=financer,
                item=item,
                years=years,
                amount_cents=total_cents(years),
                source_event_id=event.id,
                source_event_type=event.type,
                committed_at=self.ledgers.entries.clock.now(),
                **facts,
            )
        )


def _by_year(financing: Iterable[YearlyCommitment]) -> list[YearAmount]:
    """One amount per year (a party may be listed twice for a year), zero years left out."""
    totals: dict[int, int] = defaultdict(int)
    for item in financing:
        totals[item.year] += item.amount_cents
    return [YearAmount(year=y, amount_cents=a) for y, a in sorted(totals.items()) if a > 0]
