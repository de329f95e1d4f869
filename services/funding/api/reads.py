"""Reads: every role sees the envelope, the lines, consumption and commitments (public money);
ledgers of the other financers are for the State, the CDC and operators, and a region sees only
its own ledger: another financer's ledger answers 404, as if it did not exist, never its data.
The budget officers' table (``/budget/lines``: AE and CP by year for every line) is for the
State, the CDC, the agencies, operators and integrators."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from services.funding.asof import LINE_TOPICS, commitment_steps, evolve_commitment, touches
from services.funding.domain.commitment import CommitmentState
from services.funding.domain.envelope import Envelope, EnvelopeState
from services.funding.domain.line import LineState
from services.funding.handlers.budget import Budget
from services.funding.store import FundingStore
from services.funding.views import BudgetViews, Dimension
from shared.asof import At, Change, TopicLog, history, require_state_at
from shared.auth import Principal, require_roles
from shared.clock import Clock
from shared.errors import NotFound, invalid
from shared.store import Document
from shared.topics import FUNDING_COMMITMENT

EVERY_ROLE = ("state", "cdc", "operator", "integrator", "pole:*", "region:*")
LEDGER_READERS = ("state", "cdc", "operator", "region:*")
BUDGET_READERS = ("state", "cdc", "operator", "integrator", "agency:*")
View = dict[str, Any]


def read_router(
    views: BudgetViews,
    budget: Budget,
    store: FundingStore,
    clock: Clock,
    authenticate: Callable[..., Principal],
    log: TopicLog,
) -> APIRouter:
    router = APIRouter(tags=["reads"])
    envelope_spec = views.envelope
    Reader = Annotated[Principal, Depends(require_roles(authenticate, *EVERY_ROLE))]
    BudgetReader = Annotated[Principal, Depends(require_roles(authenticate, *BUDGET_READERS))]
    LedgerReader = Annotated[Principal, Depends(require_roles(authenticate, *LEDGER_READERS))]

    def found(view: View | None, what: str) -> View:
        if view is None:
            raise NotFound(f"no {what}")
        return view

    async def current_envelope() -> EnvelopeState:
        state = await budget.envelope(envelope_spec.id)
        if state is None:
            raise NotFound(f"no envelope {envelope_spec.id} yet")
        return state

    @router.get(
        "/envelope",
        summary="The envelope's current version (years, amount, amendments), its lines and "
        "sub-lines with their figures",
    )
    async def envelope(_: Reader) -> View:
        state = await current_envelope()
        return {
            **(await views.envelope_view()),
            "years": state.years,
            "base": state.base.model_dump(mode="json"),
            "amendments": [a.model_dump(mode="json") for a in state.amendments],
        }

    @router.get(
        "/budget/lines",
        summary="Every line and sub-line: amount, yearly ceilings, AE and CP by year, what is left",
    )
    async def budget_lines(_: BudgetReader) -> View:
        state = await current_envelope()
        lines = await store.all_lines([spec.id for spec in envelope_spec.leaves])
        paid = await store.paid_by_line_and_year()
        return budget_table(envelope_spec, state, {line.line_id: line for line in lines}, paid)

    @router.get("/lines/{line_id}", summary="One line (or sub-line): amount, committed, paid")
    async def line(line_id: str, _: Reader) -> View:
        return found(await views.line(line_id), f"line {line_id}")

    @router.get(
        "/lines/{line_id}/balance",
        summary="A line's balance at an instant, rebuilt from the movements of money",
    )
    async def balance(
        line_id: str, _: Reader, at: Annotated[datetime | None, Query()] = None
    ) -> View:
        if at is not None and at.tzinfo is None:
            raise invalid(["at"], "the instant needs a timezone (e.g. 2010-01-01T00:00:00+01:00)")
        return found(await views.balance(line_id, at or clock.now()), f"line {line_id}")

    @router.get(
        "/lines/{line_id}/changes",
        response_model=list[Change],
        summary="Every event that moved the line's money (or its sub-lines') or named it, up to "
        "at if given, read from the topics, by time",
    )
    async def line_changes(line_id: str, _: Reader, at: At = None) -> Any:
        leaf_ids = envelope_spec.leaf_ids_under(line_id)
        if not leaf_ids:
            raise NotFound(f"no line {line_id}")
        return history(await log.scan(LINE_TOPICS, touches({line_id, *leaf_ids})), at)

    @router.get("/consumption/{dimension}", summary="Consumption by line, sub-line, year, ...")
    async def consumption(dimension: Dimension, _: Reader) -> list[View]:
        return await views.consumption(dimension)

    @router.get("/commitments", summary="Commitments, filtered by line, pôle or region")
    async def commitments(
        _: Reader,
        line_id: str | None = None,
        pole_id: str | None = None,
        region_code: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[View]:
        query: Document = {}
        if line_id is not None:
            query["state.line_id"] = line_id
        if pole_id is not None:
            query["state.pole_id"] = pole_id
        if region_code is not None:
            query["state.region_codes"] = region_code
        found_ = await store.find_commitments(query, limit)
        return [
            _commitment_view(item.model_dump(mode="json"), item.remaining_cents) for item in found_
        ]

    async def commitment_or_404(commitment_id: str) -> CommitmentState:
        item = await budget.commitment(commitment_id)
        if item is None:
            raise NotFound(f"no commitment {commitment_id}")
        return item

    @router.get("/commitments/{commitment_id}", summary="One commitment and its history")
    async def commitment(commitment_id: str, _: Reader, at: At = None) -> View:
        """The commitment now, or with ``at`` as it stood then, rebuilt from its events on
        funding.commitment: every field of the live view (its events carry them all)."""
        item = await commitment_or_404(commitment_id)
        if at is not None:
            steps = commitment_steps(await log.events(FUNDING_COMMITMENT, commitment_id))
            what = f"commitment {commitment_id}"
            item = require_state_at(steps, evolve_commitment, at, what)
        return _commitment_view(item.model_dump(mode="json"), item.remaining_cents)

    @router.get(
        "/commitments/{commitment_id}/changes",
        response_model=list[Change],
        summary="Every event of the commitment (refused, made, paid, de-committed), up to at if "
        "given, read from its topic, once each, in order, with who made it",
    )
    async def commitment_changes(commitment_id: str, _: Reader, at: At = None) -> Any:
        await commitment_or_404(commitment_id)
        return history(await log.events(FUNDING_COMMITMENT, commitment_id), at)

    @router.get("/ledgers", summary="Other financers' promises (a region sees its own only)")
    async def ledgers(principal: LedgerReader) -> list[View]:
        query: Document = {}
        if not principal.has("state", "cdc", "operator"):
            query["state.financer"] = {"$in": [f"region:{c}" for c in principal.region_codes]}
        return [entry.model_dump(mode="json") for entry in await store.ledger_entries(query)]

    @router.get("/ledgers/{financer}", summary="One financer's ledger: its promises and total")
    async def ledger(financer: str, principal: LedgerReader) -> View:
        allowed = principal.has("state", "cdc", "operator") or financer in {
            f"region:{code}" for code in principal.region_codes
        }
        entries = await store.ledger_entries({"state.financer": financer}) if allowed else []
        if not entries:
            raise NotFound(f"no ledger for {financer}")
        return {
            "financer": financer,
            "promised_cents": sum(entry.amount_cents for entry in entries),
            "entries": [entry.model_dump(mode="json") for entry in entries],
        }

    return router


def _commitment_view(state: View, remaining_cents: int) -> View:
    return {**state, "remaining_cents": remaining_cents}


def budget_table(
    envelope: Envelope,
    state: EnvelopeState,
    lines: dict[str, LineState],
    paid_by_line: dict[str, dict[str, int]],
) -> View:
    """The budget officers' table, from the line documents and the CP paid on each line by year:
    for every line and sub-line its amount, yearly ceilings, AE (committed) and CP (paid) by
    year, what is left to commit (in total and by year) and to pay; the envelope's totals."""

    def row(line_id: str, title: str, leaves: list[LineState]) -> View:
        ceilings = _add_up(line.yearly_ceilings for line in leaves if line.yearly_ceilings)
        committed = _add_up(line.committed_by_year for line in leaves)
        paid = _add_up(paid_by_line.get(line.line_id, {}) for line in leaves)
        amount = sum(line.amount_cents for line in leaves)
        committed_cents = sum(line.committed_cents for line in leaves)
        paid_cents = sum(paid.values())
        years = [str(year) for year in state.years]
        return {
            "line_id": line_id,
            "title": title,
            "amount_cents": amount,
            "yearly_ceilings": ceilings,
            "committed_cents": committed_cents,
            "paid_cents": paid_cents,
            "available_cents": amount - committed_cents,
            "to_pay_cents": committed_cents - paid_cents,
            "by_year": [
                {
                    "year": int(year),
                    "ceiling_cents": ceilings.get(year),
                    "committed_cents": committed.get(year, 0),
                    "paid_cents": paid.get(year, 0),
                    "available_cents": sum(line.available_in(int(year)) for line in leaves),
                }
                for year in years
            ],
        }

    table = []
    for spec in envelope.lines:
        leaves = [lines[i] for i in envelope.leaf_ids_under(spec.id) if i in lines]
        view = row(spec.id, spec.title, leaves)
        view["sub_lines"] = [
            row(sub.id, sub.title, [lines[sub.id]]) for sub in spec.sub_lines if sub.id in lines
        ]
        table.append(view)
    every = list(lines.values())
    return {
        "envelope_id": state.envelope_id,
        "years": state.years,
        "amendments": [a.amendment_id for a in state.amendments],
        "totals": {k: v for k, v in row(state.envelope_id, state.title, every).items()
                   if k not in ("line_id", "title")},
        "lines": table,
    }  # fmt: skip


def _add_up(by_year: Any) -> dict[str, int]:
    totals: dict[str, int] = {}
    for mapping in by_year:
        for year, cents in mapping.items():
            totals[year] = totals.get(year, 0) + cents
    return totals
