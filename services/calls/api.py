"""The HTTP API (thin): authenticate, validate the body, build the command, run the shared handler.

Commands answer what the handler answers (a repeat with the same ``Idempotency-Key`` gets the
first answer); queries read the store and show a pôle or a region only what touches it. A
refusal (the kernel's ``DomainError``) propagates: the kernel answers it with its status, its
``detail`` and its ``reason``.

No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` dependency,
built inside the router factories, as an object rather than as a name to look up.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from services.calls import commands
from services.calls.asof import CallAsOf, evolve_call, evolve_dossier
from services.calls.domain import inputs
from services.calls.domain.access import READ_ALL, ensure_readable
from services.calls.domain.call import CallState
from services.calls.domain.dossier import DossierState, Status
from services.calls.handlers import CommandHandlers
from services.calls.store import DossierFilter
from services.calls.views import DossierSummary, HistoryEntry, Statistics, dossier_view, statistics
from shared.asof import At, Change, TopicLog, history, require_state_at
from shared.auth import Principal
from shared.errors import Forbidden
from shared.topics import CALLS_CALL, CALLS_DOSSIER

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, description="repeat-safe key"),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid bearer token"},
    403: {"description": "this role may not do that"},
    404: {"description": "not found, or not yours to see"},
    409: {"description": "the dossier's lifecycle or the call's window forbids it"},
    422: {"description": "invalid body: the field and the reason"},
}


def commands_router(
    handlers: CommandHandlers, authenticate: Callable[[Request], Principal]
) -> APIRouter:
    router = APIRouter(tags=["commands"], responses=ERRORS)
    Caller = Annotated[Principal, Depends(authenticate)]

    async def run(principal: Principal, key: str | None, command: commands.Command) -> JSONResponse:
        reply = await handlers.execute(principal, key, command)
        return JSONResponse(reply["body"], status_code=reply["status_code"])

    @router.post("/calls", status_code=201, response_model=CallState, summary="Open a call")
    async def post_call(body: inputs.CallSpec, caller: Caller, key: IdempotencyKey = None) -> Any:
        return await run(caller, key, commands.OpenCall(call=body))

    @router.post(
        "/calls/{call_id}/dossiers",
        status_code=201,
        response_model=DossierSummary,
        summary="Submit a preliminary dossier; the answer is the receipt",
    )
    async def post_dossier(
        call_id: str, body: inputs.DossierContent, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(caller, key, commands.SubmitDossier(call_id=call_id, content=body))

    @router.put("/dossiers/{dossier_id}", response_model=DossierSummary, summary="Replace it")
    async def put_dossier(
        dossier_id: str, body: inputs.DossierContent, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(caller, key, commands.ReplaceDossier(dossier_id=dossier_id, content=body))

    @router.post("/dossiers/{dossier_id}/withdrawal", response_model=DossierSummary)
    async def withdraw(dossier_id: str, caller: Caller, key: IdempotencyKey = None) -> Any:
        return await run(caller, key, commands.WithdrawDossier(dossier_id=dossier_id))

    @router.post("/dossiers/{dossier_id}/screening", response_model=DossierSummary)
    async def screen(
        dossier_id: str, body: inputs.Screening, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(caller, key, commands.ScreenDossier(dossier_id=dossier_id, screening=body))

    @router.post("/dossiers/{dossier_id}/preselection-votes", response_model=DossierSummary)
    async def vote(
        dossier_id: str, body: inputs.Vote, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(caller, key, commands.VoteOnPreselection(dossier_id=dossier_id, vote=body))

    @router.post("/dossiers/{dossier_id}/study", response_model=DossierSummary)
    async def commission(
        dossier_id: str, body: inputs.StudyOrder, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(caller, key, commands.CommissionStudy(dossier_id=dossier_id, study=body))

    @router.post("/dossiers/{dossier_id}/study/completion", response_model=DossierSummary)
    async def complete(
        dossier_id: str, body: inputs.StudyConclusions, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(
            caller, key, commands.CompleteStudy(dossier_id=dossier_id, conclusions=body)
        )

    @router.post(
        "/dossiers/{dossier_id}/evaluation",
        response_model=DossierSummary,
        summary="An expert's evaluation of an R&D project (state): score out of 20, opinion",
    )
    async def evaluate(
        dossier_id: str, body: inputs.Expertise, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(
            caller, key, commands.EvaluateDossier(dossier_id=dossier_id, expertise=body)
        )

    @router.post("/dossiers/{dossier_id}/decision", response_model=DossierSummary)
    async def decide(
        dossier_id: str, body: inputs.FinalDecision, caller: Caller, key: IdempotencyKey = None
    ) -> Any:
        return await run(caller, key, commands.DecideDossier(dossier_id=dossier_id, decision=body))

    return router


def queries_router(
    handlers: CommandHandlers, authenticate: Callable[[Request], Principal], log: TopicLog
) -> APIRouter:
    router = APIRouter(tags=["queries"], responses=ERRORS)
    Caller = Annotated[Principal, Depends(authenticate)]
    calls, dossiers, queries = handlers.calls, handlers.dossiers, handlers.queries

    async def call_or_404(call_id: str) -> CallState:
        return (await calls.require(call_id)).state

    async def readable_dossier(caller: Principal, dossier_id: str) -> DossierState:
        dossier = (await dossiers.require(dossier_id)).state
        ensure_readable(caller, dossier)
        return dossier

    @router.get("/calls", response_model=list[CallState], summary="Every call, oldest first")
    async def list_calls(_: Caller) -> Any:
        return [call.model_dump(mode="json") for call in await queries.all_calls()]

    @router.get("/calls/{call_id}", response_model=CallState | CallAsOf)
    async def get_call(call_id: str, _: Caller, at: At = None) -> Any:
        """The call now, or with ``at`` as it stood then: only the fields its events carry
        (no documents, eligibility rules nor opened_by)."""
        call = await call_or_404(call_id)
        if at is None:
            return call.model_dump(mode="json")
        events = await log.events(CALLS_CALL, call_id)
        return require_state_at(events, evolve_call, at, f"call {call_id}").model_dump(mode="json")

    @router.get("/calls/{call_id}/changes", response_model=list[Change])
    async def get_call_changes(call_id: str, _: Caller, at: At = None) -> Any:
        """Every event of the call (up to ``at``), read from its topic, once each, in order."""
        await call_or_404(call_id)
        return history(await log.events(CALLS_CALL, call_id), at)

    @router.get("/calls/{call_id}/dossiers", summary="A call's dossiers the caller may read")
    async def list_dossiers(
        call_id: str,
        caller: Caller,
        status: Status | None = None,
        pole: str | None = None,
        region: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        await call_or_404(call_id)
        where = DossierFilter(call_id, status, pole, region)
        if not caller.has(*READ_ALL):
            if not caller.pole_ids and not caller.region_codes:
                raise Forbidden("this role does not read dossiers")
            where = DossierFilter(
                call_id, status, pole, region, caller.pole_ids, caller.region_codes
            )
        return [dossier_view(d) for d in await queries.search(where, limit, offset)]

    @router.get("/calls/{call_id}/statistics", response_model=Statistics)
    async def call_statistics(call_id: str, caller: Caller) -> Statistics:
        if not caller.has(*READ_ALL):
            raise Forbidden("only state, cdc or operator read statistics")
        await call_or_404(call_id)
        return await statistics(queries, call_id)

    @router.get("/dossiers/{dossier_id}", summary="One dossier, its current version and decisions")
    async def get_dossier(dossier_id: str, caller: Caller, at: At = None) -> dict[str, Any]:
        """The dossier now, or with ``at`` as it stood then, rebuilt from its events: only the
        fields they carry (``services.calls.asof.DossierAsOf``: no content beyond its figures,
        no submitted_by, no screening, evaluation, decision or funding records)."""
        dossier = await readable_dossier(caller, dossier_id)
        if at is None:
            return dossier_view(dossier)
        events = await log.events(CALLS_DOSSIER, dossier_id)
        found = require_state_at(events, evolve_dossier, at, f"dossier {dossier_id}")
        return found.model_dump(mode="json")

    @router.get("/dossiers/{dossier_id}/changes", response_model=list[Change])
    async def get_dossier_changes(dossier_id: str, caller: Caller, at: At = None) -> Any:
        """Every event of the dossier (up to ``at``), read from its topic, once each, in order,
        with who made it (``/history`` is the copy the store keeps, readable at once)."""
        await readable_dossier(caller, dossier_id)
        return history(await log.events(CALLS_DOSSIER, dossier_id), at)

    @router.get("/dossiers/{dossier_id}/history", response_model=list[HistoryEntry])
    async def get_history(dossier_id: str, caller: Caller) -> Any:
        return (await readable_dossier(caller, dossier_id)).history

    return router
