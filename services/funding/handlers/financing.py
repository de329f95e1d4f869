"""The co-financing saga of selected dossiers, each step once across redeliveries and crashes.

- A dossier selected (``open``): the plan is checked against what the dossier requested, the
  State's share committed on the line its call kind names (``Budget.commit``, the commitment's id
  derived from the dossier, so a redelivery gets the line's first answer), the consortium checked
  for overlaps, and the financing saved as version 1 of its chain (id = dossier id). A crash
  before that save means the event comes again (offsets are committed after handling), and each
  step answers as the first time.
- Financers answer by command (``commit``, ``decline``), the clock flags the late ones
  (``check_overdue``); each is one new version of the financing, decided once by its id.
- Every financing event is saved as a pending follow-up of its version (``services.funding
  .journal``): a financer's commitment is recorded in its ledger, a refusal gives the State's
  commitment back to its line (a de-commitment per year, ids derived from the dossier) and
  cancels the ledger entries recorded for it, and the financings' query view is refreshed. The
  handler completes them right after the save; ``sweep`` completes what a crash left pending.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Protocol

from prometheus_client import CollectorRegistry, Gauge

from services.funding.domain import financing as rules
from services.funding.domain import ids
from services.funding.domain.commitment import Decommitment
from services.funding.domain.envelope import Envelope
from services.funding.domain.financing import FinancingState, Share
from services.funding.domain.ledger import LedgerEntry, financer_role
from services.funding.handlers.budget import Budget
from services.funding.handlers.ledgers import Ledgers
from services.funding.journal import Journal
from shared.auth import Principal
from shared.cloudevents import CloudEvent
from shared.decision import Answer, Decision
from shared.errors import Forbidden, Unavailable
from shared.events.calls import DossierSelected
from shared.events.funding import (
    Beneficiary,
    CommitmentSource,
    CommitmentTerms,
    FinancerCommitted,
    FinancingRefused,
    YearAmount,
)
from shared.repository import Decide, command_id

log = logging.getLogger(__name__)

SEES_EVERY_FINANCING = ("state", "cdc", "operator", "integrator")
OWN_FINANCERS = ("region", "department", "city")
AUTHOR = "funding"


class FinancingReads(Protocol):
    """The queries the saga reads (the store's views; in component tests, memory)."""

    async def show_financing(self, dossier_id: str) -> None: ...

    async def financings(
        self, status: str | None = None, financers: Collection[str] | None = None
    ) -> list[FinancingState]: ...

    async def overlaps(
        self, identifiers: list[str], project_key: str, dossier_id: str
    ) -> dict[str, list[str]]: ...


def financers_of(principal: Principal) -> frozenset[str] | None:
    """The financers whose financings a principal reads: None for every one."""
    if principal.has(*SEES_EVERY_FINANCING):
        return None
    return frozenset(f"{kind}:{code}" for kind in OWN_FINANCERS for code in principal.scoped(kind))


class Financings:
    def __init__(
        self,
        journal: Journal[FinancingState],
        budget: Budget,
        ledgers: Ledgers,
        envelope: Envelope,
        reads: FinancingReads,
        financer_days: float,
        registry: CollectorRegistry,
    ) -> None:
        self.journal = journal
        self.budget = budget
        self.ledgers = ledgers
        self.envelope = envelope
        self.reads = reads
        self.financer_days = financer_days
        self.overdue_gauge = Gauge(
            "poles_funding_financings_overdue",
            "Open co-financings with a financer that has not answered by the due date",
            registry=registry,
        )

    # the saga's start

    async def open(self, event: CloudEvent, data: DossierSelected) -> None:
        exists = await self.journal.get(data.dossier_id) is not None
        if not exists and not await self._start(event, data):
            return
        await self._finish(f"{data.dossier_id}:1")

    async def _start(self, event: CloudEvent, data: DossierSelected) -> bool:
        plan = rules.plan_of(data)
        if not plan:
            log.info("dossier %s selected with nothing to finance", data.dossier_id)
            return False
        state_share = rules.state_share(plan)
        line_answer: Answer | None = None
        if state_share is not None and not rules.over_request(plan, data.requested_total_cents):
            line_id = self.envelope.selected_dossier_lines.get(data.call_kind)
            if line_id is None:
                log.error("call kind %s commits on no line; no financing", data.call_kind)
                return False
            line_answer = await self.budget.commit(
                _state_terms(event, data, line_id, state_share.years)
            )
        overlaps = {}
        if data.consortium and data.project_key:
            identifiers = [member.identifier for member in data.consortium]
            overlaps = await self.reads.overlaps(identifiers, data.project_key, data.dossier_id)
        decision = rules.open_financing(
            data,
            plan,
            line_answer=line_answer,
            overlaps=overlaps,
            source_event_id=event.id,
            now=self.journal.repository.clock.now(),
            financer_days=self.financer_days,
        )
        await self.journal.start(data.dossier_id, decision.state, decision.events)
        return True

    # financers' answers

    async def commit(
        self,
        dossier_id: str,
        financer: str,
        principal: Principal,
        years: list[YearAmount] | None,
        key: str,
    ) -> Answer:
        _speaks_for(principal, financer)
        return await self._decide(
            dossier_id,
            _decision_id(principal, key),
            lambda financing, now: rules.commit_share(financing, financer, years, now),
        )

    async def decline(
        self, dossier_id: str, financer: str, principal: Principal, reason: str, key: str
    ) -> Answer:
        _speaks_for(principal, financer)
        return await self._decide(
            dossier_id,
            _decision_id(principal, key),
            lambda financing, now: rules.decline_share(financing, financer, reason, now),
        )

    # reads

    async def get(self, dossier_id: str, principal: Principal) -> FinancingState | None:
        financing = await self.journal.get(dossier_id)
        own = financers_of(principal)
        if financing is None or (own is not None and not own & set(financing.financers)):
            return None
        return financing

    async def find(self, principal: Principal, status: str | None) -> list[FinancingState]:
        own = financers_of(principal)
        if own is not None and not own:
            return []
        return await self.reads.financings(status, own)

    # the clock

    async def check_overdue(self) -> int:
        """Flag the financers past due (once each); set and return the gauge's value."""
        now = self.journal.repository.clock.now()
        for financing in await self.reads.financings("open"):
            late = sorted(s.financer for s in financing.overdue(now) if s.overdue_at is None)
            if late:
                await self._decide(
                    financing.dossier_id,
                    "overdue:" + ",".join(late),
                    lambda f, at: rules.flag_overdue(f, at) or Decision.of(f),
                )
        overdue = [
            financing
            for financing in await self.reads.financings("open")
            if any(share.overdue_at is not None for share in financing.overdue(now))
        ]
        self.overdue_gauge.set(len(overdue))
        return len(overdue)

    # follow-ups

    async def sweep(self, grace: timedelta = timedelta(0)) -> int:
        """Complete the follow-ups left pending in versions saved ``grace`` ago or earlier."""
        unfinished = await self.journal.chain.unfinished(datetime.now(UTC) - grace)
        for entry_id in unfinished:
            await self._finish(entry_id)
        if unfinished:
            log.warning("completed the follow-ups of %d financing steps", len(unfinished))
        return len(unfinished)

    async def follow_up(self, data: FinancerCommitted | FinancingRefused) -> None:
        financing = await self.journal.get(data.dossier_id)
        assert financing is not None, f"financing {data.dossier_id} lost"
        if isinstance(data, FinancerCommitted):
            if data.financer != "state":
                await self.ledgers.record(_ledger_entry(financing, financing.share(data.financer)))
            return
        for share in financing.shares:
            if share.status != "committed":
                continue
            if share.financer == "state":
                await self._give_back(financing, share, data.detail)
            else:
                await self.ledgers.record(_ledger_entry(financing, share))
                await self.ledgers.cancel(share.commitment_id or "", data.detail)

    async def _give_back(self, financing: FinancingState, share: Share, reason: str) -> None:
        """De-commit, year by year, what the State's commitment has not paid."""
        commitment_id = share.commitment_id or ""
        commitment = await self.budget.commitment(commitment_id)
        if commitment is None:  # its line's follow-up has not built it yet: try again later
            raise Unavailable(f"commitment {commitment_id} is not built yet")
        left = commitment.remaining_cents
        for item in sorted(commitment.years, key=lambda y: -y.year):
            year_left = item.amount_cents - commitment.decommitted_by_year.get(str(item.year), 0)
            amount = min(year_left, left)
            if amount <= 0:
                continue
            left -= amount
            request = Decommitment(
                ids.financing_decommitment(financing.dossier_id, item.year),
                item.year,
                amount,
                author=AUTHOR,
                reason=reason,
            )
            await self.budget.decommit(commitment_id, request)

    async def _decide(
        self, dossier_id: str, decision_id: str, decide: Decide[FinancingState]
    ) -> Answer:
        decided = await self.journal.decide_once(dossier_id, decision_id, decide)
        if decided.unfinished is not None:
            await self._finish(decided.unfinished)
        return decided.answer

    async def _finish(self, entry_id: str) -> None:
        pending = await self.journal.chain.pending_events(entry_id)
        if not pending:
            return
        for data in pending:
            if isinstance(data, FinancerCommitted | FinancingRefused):
                await self.follow_up(data)
        await self.reads.show_financing(entry_id.rsplit(":", 1)[0])
        await self.journal.chain.done(entry_id)


def _speaks_for(principal: Principal, financer: str) -> None:
    role = financer_role(financer)
    if role is not None and not principal.has(role):
        raise Forbidden(f"only {role} answers for {financer}")


def _decision_id(principal: Principal, key: str) -> str:
    decision_id = command_id(principal.subject, key)
    assert decision_id is not None
    return decision_id


def _state_terms(
    event: CloudEvent, data: DossierSelected, line_id: str, years: list[YearAmount]
) -> CommitmentTerms:
    return CommitmentTerms(
        commitment_id=ids.financing_state_commitment(data.dossier_id),
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
        source=CommitmentSource(kind="event", event_id=event.id, event_type=event.type),
        project_key=data.project_key,
        members=data.consortium,
    )


def _ledger_entry(financing: FinancingState, share: Share) -> LedgerEntry:
    return LedgerEntry(
        entry_id=share.commitment_id
        or ids.financing_ledger_entry(share.financer, financing.dossier_id),
        financer=share.financer,
        item="dossier",
        years=share.years,
        amount_cents=share.amount_cents,
        pole_id=financing.pole_id,
        partner_pole_ids=financing.partner_pole_ids,
        region_codes=financing.region_codes,
        call_id=financing.call_id,
        dossier_id=financing.dossier_id,
        source_event_id=financing.source_event_id,
        source_event_type=DossierSelected.type_name,
        committed_at=share.answered_at or financing.opened_at,
    )
