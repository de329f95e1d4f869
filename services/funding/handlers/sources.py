"""What the decisions of the other services mean for the money.

- a dossier selected: the State's grant is committed on the line its call kind names in the
  envelope file (the innovation-platforms call -> ``intervention.platforms``) for the decision's
  year; a CDC investment goes to the CDC's ledger;
- a study commissioned: the CDC's share goes to its ledger;
- a contract signed: the State's financing (animation credits) is committed on the animation line
  as one commitment spanning the contract's years (all its years or none), and each local
  authority's financing is recorded in its ledger.

Each source event commits at most once: the commitment's id is derived from the event's id and
the line remembers every commitment id it decided; ledger entries have deterministic ids.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from services.funding.domain import ids
from services.funding.domain.envelope import Envelope
from services.funding.handlers.budget import Budget
from shared.cloudevents import CloudEvent
from shared.decision import Decision
from shared.events.calls import DossierFacts, DossierSelected, StudyCommissioned
from shared.events.contracts import ContractSigned, YearlyCommitment
from shared.events.funding import (
    Beneficiary,
    CommitmentSource,
    CommitmentTerms,
    PromiseRecorded,
    YearAmount,
    total_cents,
)
from shared.repository import Repository
from shared.store import ConcurrencyConflict

log = logging.getLogger(__name__)
LOCAL_AUTHORITIES = frozenset({"region", "department", "city"})


class SourceEvents:
    def __init__(
        self, budget: Budget, ledgers: Repository[PromiseRecorded], envelope: Envelope
    ) -> None:
        self.budget = budget
        self.ledgers = ledgers
        self.envelope = envelope

    async def dossier_selected(self, event: CloudEvent, data: DossierSelected) -> None:
        line_id = self.envelope.selected_dossier_lines.get(data.call_kind)
        if line_id is None:
            log.info("call kind %s commits on no line; nothing to commit", data.call_kind)
        elif data.state_grant_cents > 0:
            years = [YearAmount(year=data.decision_year, amount_cents=data.state_grant_cents)]
            await self.budget.commit(
                CommitmentTerms(
                    commitment_id=ids.commitment_for_event(event.id),
                    line_id=line_id,
                    years=years,
                    beneficiary=Beneficiary(
                        kind="platform" if data.call_kind == "innovation-platforms" else "project",
                        id=data.dossier_id,
                        name=data.platform_name,
                    ),
                    pole_id=data.pole_id,
                    partner_pole_ids=data.partner_pole_ids,
                    region_codes=data.region_codes,
                    call_id=data.call_id,
                    dossier_id=data.dossier_id,
                    source=_source(event),
                )
            )
        if data.cdc_investment_cents > 0:
            await self._promise_to_dossier(event, data, "investment", data.cdc_investment_cents)

    async def study_commissioned(self, event: CloudEvent, data: StudyCommissioned) -> None:
        if data.cdc_share_cents > 0:
            item = f"study:{data.study_id}"
            await self._promise_to_dossier(event, data, item, data.cdc_share_cents)

    async def contract_signed(self, event: CloudEvent, data: ContractSigned) -> None:
        kinds = {party.party_id: party.kind for party in data.parties}
        state_years = _by_year(f for f in data.financing if kinds.get(f.party_id) == "state")
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
                    source=_source(event),
                )
            )
        for party in data.parties:
            years = _by_year(f for f in data.financing if f.party_id == party.party_id)
            if party.kind in LOCAL_AUTHORITIES and years:
                await self._promise(
                    event,
                    financer=party.party_id,
                    financer_kind=party.kind,
                    item="contract",
                    amount_cents=total_cents(years),
                    years=years,
                    pole_id=data.pole_id,
                    region_codes=data.region_codes,
                    contract_id=data.contract_id,
                )

    async def _promise_to_dossier(
        self, event: CloudEvent, data: DossierFacts, item: str, amount_cents: int
    ) -> None:
        await self._promise(
            event,
            financer="cdc",
            financer_kind="cdc",
            item=item,
            amount_cents=amount_cents,
            pole_id=data.pole_id,
            partner_pole_ids=data.partner_pole_ids,
            region_codes=data.region_codes,
            call_id=data.call_id,
            dossier_id=data.dossier_id,
        )

    async def _promise(self, event: CloudEvent, **facts: Any) -> None:
        """Record a promise once per (financer, source event, item)."""
        now = self.ledgers.clock.now()
        entry_id = ids.ledger_entry(facts["financer"], event.id, facts["item"])
        promise = PromiseRecorded(
            entry_id=entry_id,
            source_event_id=event.id,
            source_event_type=event.type,
            recorded_at=now,
            **facts,
        )
        with contextlib.suppress(ConcurrencyConflict):  # recorded by an earlier delivery
            await self.ledgers.add(entry_id, Decision.of(promise, [promise]), now)


def _source(event: CloudEvent) -> CommitmentSource:
    return CommitmentSource(kind="event", event_id=event.id, event_type=event.type)


def _by_year(financing: Iterable[YearlyCommitment]) -> list[YearAmount]:
    """One amount per year (a party may be listed twice for a year), zero years left out."""
    totals: dict[int, int] = defaultdict(int)
    for item in financing:
        totals[item.year] += item.amount_cents
    return [YearAmount(year=y, amount_cents=a) for y, a in sorted(totals.items()) if a > 0]
