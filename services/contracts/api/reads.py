"""Reads for every role (``shared.visibility.EVERY_ROLE``: contracts are public-policy
documents): contracts by pôle, region and status; one contract; its history; its indicator
progress; the signature dashboard. See ``domain.visibility`` for who sees unvalidated indicator
reports. ``?at=`` and ``/changes`` read a contract as it stood then, and who changed it, from
its events on ``contracts.contract`` (``services.contracts.asof``), with the same rule."""

# No ``from __future__ import annotations``: FastAPI must see the dependencies that the local
# ``Annotated`` aliases carry when it reads the route signatures.
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.contracts.asof import contract_at
from services.contracts.domain.clocks import reports_overdue, signature_overdue
from services.contracts.domain.contract import Contract, Status
from services.contracts.domain.progress import progress
from services.contracts.domain.visibility import UNVALIDATED_EVENTS, sees_unvalidated_reports
from services.contracts.store import ContractQueries, ContractRepository
from shared import asof
from shared.asof import At, Change, TopicLog
from shared.auth import Principal, require_roles
from shared.clock import Clock
from shared.store import Document
from shared.topics import CONTRACTS_CONTRACT
from shared.visibility import EVERY_ROLE

View = dict[str, Any]


def summary(contract: Contract) -> View:
    return {
        "contract_id": contract.contract_id,
        "pole_id": contract.pole_id,
        "pole_name": contract.pole_name,
        "region_codes": contract.region_codes,
        "status": contract.status,
        "version": contract.current.version,
        "period_start_year": contract.period_start_year,
        "period_end_year": contract.period_end_year,
        "signature_deadline": contract.signature_deadline.isoformat(),
        "unsigned_party_ids": contract.unsigned_party_ids(),
        "rating": contract.evaluation.rating if contract.evaluation else None,
    }


def signature_row(contract: Contract, now_overdue: bool) -> View:
    signed = {s.party_id: s for s in contract.signatures}
    return {
        **summary(contract),
        "signature_overdue": now_overdue,
        "parties": [
            {
                "party_id": p.party_id,
                "kind": p.kind,
                "name": p.name,
                "signed": p.party_id in signed,
                **(
                    signed[p.party_id].model_dump(mode="json", exclude={"party_id"})
                    if p.party_id in signed
                    else {}
                ),
            }
            for p in contract.parties
        ],
    }


def history_entry(entry: Document) -> View:
    """One event of a contract's history as the history read shows it: ``id``, ``type``,
    ``time`` (ISO 8601) and ``data``. The repository keeps the id as ``event_id`` and the time
    as a date (documents saved before it kept ``id`` and the text)."""
    time = entry["time"]
    return {
        "id": entry.get("event_id", entry.get("id")),
        "type": entry["type"],
        "time": time.isoformat() if isinstance(time, datetime) else time,
        "data": entry["data"],
    }


def contract_reads(
    contracts: ContractRepository,
    queries: ContractQueries,
    clock: Clock,
    authenticate: Callable[[Request], Principal],
    log: TopicLog,
) -> APIRouter:
    router = APIRouter(tags=["contract reads"])
    Reader = Annotated[Principal, Depends(require_roles(authenticate, *EVERY_ROLE))]

    async def one(contract_id: str) -> Contract:
        return (await contracts.require(contract_id)).state

    @router.get("/contracts", summary="Contracts by pôle, region and status")
    async def find(
        _: Reader,
        pole_id: str | None = None,
        region: Annotated[str | None, Query(description="INSEE code")] = None,
        status: Status | None = None,
    ) -> list[View]:
        return [
            summary(c) for c in await queries.find(pole_id=pole_id, region=region, status=status)
        ]

    def readable(reader: Principal, contract: Contract, view: View) -> View:
        """The view without the reports not validated yet, unless the reader sees them."""
        if not sees_unvalidated_reports(reader.roles, contract):
            view["reports"] = [r for r in view["reports"] if r["status"] == "validated"]
        return view

    @router.get("/contracts/{contract_id}", summary="One contract, all its terms and versions")
    async def read(contract_id: str, reader: Reader, at: At = None) -> View:
        """The contract now, or with ``at`` as it stood then, rebuilt from its events: only the
        fields they carry (``services.contracts.asof.ContractAsOf``: its versions without their
        terms; no signature_overdue nor reports_overdue, which the clock gives at the read)."""
        contract = await one(contract_id)
        if at is not None:
            found = contract_at(await log.events(CONTRACTS_CONTRACT, contract_id), at, contract_id)
            return readable(reader, contract, found.model_dump(mode="json"))
        view = readable(reader, contract, contract.model_dump(mode="json"))
        now = clock.now()
        view["signature_overdue"] = signature_overdue(contract, now)
        view["reports_overdue"] = reports_overdue(contract, now)
        return view

    @router.get("/contracts/{contract_id}/changes", response_model=list[Change])
    async def changes(contract_id: str, reader: Reader, at: At = None) -> Any:
        """Every event of the contract (up to ``at``), read from its topic, once each, in order,
        with who made it (``/history`` is the copy the store keeps, readable at once); the
        reports not validated yet only for the roles that see them."""
        contract = await one(contract_id)
        found = asof.history(await log.events(CONTRACTS_CONTRACT, contract_id), at)
        if sees_unvalidated_reports(reader.roles, contract):
            return found
        return [change for change in found if change.type not in UNVALIDATED_EVENTS]

    @router.get("/contracts/{contract_id}/history", summary="Every event of the contract")
    async def history(contract_id: str, reader: Reader) -> View:
        found = await contracts.require(contract_id)
        contract = found.state
        events = [history_entry(e) for e in found.loaded.state.get("history", [])]
        if not sees_unvalidated_reports(reader.roles, contract):
            events = [e for e in events if e["type"] not in UNVALIDATED_EVENTS]
        return {"contract_id": contract_id, "events": events}

    @router.get("/contracts/{contract_id}/progress", summary="Indicators: actual against target")
    async def read_progress(
        contract_id: str, reader: Reader, version: Annotated[int | None, Query(ge=1)] = None
    ) -> View:
        contract = await one(contract_id)
        return progress(contract, version, sees_unvalidated_reports(reader.roles, contract))

    @router.get("/dashboards/signatures", summary="Who has signed what, and what is overdue")
    async def signatures(_: Reader, pole_id: str | None = None, region: str | None = None) -> View:
        now = clock.now()
        rows = [
            signature_row(c, signature_overdue(c, now))
            for c in await queries.find(pole_id=pole_id, region=region)
        ]
        return {
            "as_of": now.isoformat(),
            "totals": {
                "contracts": len(rows),
                "fully_signed": sum(not r["unsigned_party_ids"] for r in rows),
                "signature_overdue": sum(r["signature_overdue"] for r in rows),
            },
            "contracts": rows,
        }

    return router
