"""The reference list of pôles and the State's label decisions (CIADT of 11 May 2010); a pôle as
it stood at an instant, and its label changes, from ``contracts.pole`` (``?at=``, ``/changes``)."""

# No ``from __future__ import annotations``: FastAPI must see the dependencies that the local
# ``Annotated`` aliases carry when it reads the route signatures.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.contracts.api.bodies import IdempotencyKey, LabelDecisionBody
from services.contracts.asof import pole_at
from services.contracts.domain.pole import LabelStatus
from services.contracts.handlers import Command, ContractHandlers
from services.contracts.store import PoleQueries
from shared.asof import At, Change, TopicLog, history
from shared.auth import Principal, require_roles
from shared.decision import Answer
from shared.reference.poles import poles_by_id
from shared.topics import CONTRACTS_POLE
from shared.visibility import EVERY_ROLE


def pole_routes(
    handlers: ContractHandlers,
    poles: PoleQueries,
    authenticate: Callable[[Request], Principal],
    log: TopicLog,
) -> APIRouter:
    router = APIRouter(prefix="/poles", tags=["pôles"])
    Reader = Annotated[Principal, Depends(require_roles(authenticate, *EVERY_ROLE))]
    State = Annotated[Principal, Depends(require_roles(authenticate, "state"))]

    @router.get("", summary="The pôles, with their label status")
    async def find(
        _: Reader, status: LabelStatus | None = None, region: str | None = None
    ) -> list[dict[str, Any]]:
        return [p.model_dump(mode="json") for p in await poles.find(status=status, region=region)]

    @router.get("/{pole_id}", summary="One pôle and its label history")
    async def read(pole_id: str, _: Reader, at: At = None) -> dict[str, Any]:
        """The pôle now, or with ``at`` as it stood then: the reference list's record of 2008
        moved by its label events (``services.contracts.asof``; 404 before 18 June 2008)."""
        pole = (await handlers.poles.require(pole_id)).state
        if at is None:
            return pole.model_dump(mode="json")
        log_events = await log.events(CONTRACTS_POLE, pole_id)
        return pole_at(log_events, at, poles_by_id()[pole_id]).model_dump(mode="json")

    @router.get("/{pole_id}/changes", response_model=list[Change])
    async def changes(pole_id: str, _: Reader, at: At = None) -> Any:
        """Every label event of the pôle (up to ``at``), read from its topic, once each, in
        order (the reference list's record before them is no event)."""
        await handlers.poles.require(pole_id)
        return history(await log.events(CONTRACTS_POLE, pole_id), at)

    @router.post(
        "/{pole_id}/label-decisions",
        summary="Record a label decision",
        description="labelled (a candidate: the ecotech pôles), renewed (a group-3 pôle "
        "of 2008) or delabelled; effective from the start of `decided_on` (Paris).",
    )
    async def decide(
        pole_id: str,
        body: LabelDecisionBody,
        principal: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Answer:
        return await handlers.decide_label(
            Command.of(principal, idempotency_key),
            pole_id,
            body.decision,
            body.decided_on,
            body.reference,
        )

    return router
