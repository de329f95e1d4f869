"""Reads: every role sees the envelope, the lines, consumption and commitments (public money);
ledgers of the other financers are for the State, the CDC and operators, and a region sees only
its own ledger: another financer's ledger answers 404, as if it did not exist, never its data."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from services.funding.handlers.budget import Budget
from services.funding.store import FundingStore
from services.funding.views import BudgetViews, Dimension
from shared.auth import Principal, require_roles
from shared.clock import Clock
from shared.errors import NotFound, invalid
from shared.store import Document

EVERY_ROLE = ("state", "cdc", "operator", "integrator", "pole:*", "region:*")
LEDGER_READERS = ("state", "cdc", "operator", "region:*")
View = dict[str, Any]


def read_router(
    views: BudgetViews,
    budget: Budget,
    store: FundingStore,
    clock: Clock,
    authenticate: Callable[..., Principal],
) -> APIRouter:
    router = APIRouter(tags=["reads"])
    Reader = Annotated[Principal, Depends(require_roles(authenticate, *EVERY_ROLE))]
    LedgerReader = Annotated[Principal, Depends(require_roles(authenticate, *LEDGER_READERS))]

    def found(view: View | None, what: str) -> View:
        if view is None:
            raise NotFound(f"no {what}")
        return view

    @router.get("/envelope", summary="The envelope, its lines and sub-lines, with their figures")
    async def envelope(_: Reader) -> View:
        return await views.envelope_view()

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

    @router.get("/commitments/{commitment_id}", summary="One commitment and its history")
    async def commitment(commitment_id: str, _: Reader) -> View:
        item = await budget.commitment(commitment_id)
        if item is None:
            raise NotFound(f"no commitment {commitment_id}")
        return _commitment_view(item.model_dump(mode="json"), item.remaining_cents)

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
