"""The State correspondents' view: for each pôle a ``correspondent:<pole id>`` role names, its
contracts, its overdue indicator reports and its money committed and paid (as funding reports
it on ``funding.commitment``)."""

# No ``from __future__ import annotations``: FastAPI must see the dependencies that the local
# ``Annotated`` aliases carry when it reads the route signatures.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.contracts.domain.clocks import reports_overdue
from services.contracts.domain.money import PoleMoney
from services.contracts.store import ContractQueries, MoneyRepository
from shared.auth import Principal, require_roles
from shared.clock import Clock


def correspondent_routes(
    contracts: ContractQueries,
    money: MoneyRepository,
    clock: Clock,
    authenticate: Callable[[Request], Principal],
) -> APIRouter:
    router = APIRouter(prefix="/correspondents", tags=["State correspondents"])
    Correspondent = Annotated[Principal, Depends(require_roles(authenticate, "correspondent:*"))]

    @router.get(
        "/me/poles",
        summary="My pôles: contracts, overdue reports, money committed and paid",
        description="For each pôle the caller is the State correspondent of "
        "(`correspondent:<pole id>`), in the order of their ids.",
    )
    async def mine(principal: Correspondent) -> list[dict[str, Any]]:
        now = clock.now()
        views = []
        for pole_id in sorted(principal.scoped("correspondent")):
            found = await money.get(pole_id)
            held = PoleMoney(pole_id=pole_id) if found is None else found.state
            of_pole = await contracts.find(pole_id=pole_id)
            views.append(
                {
                    "pole_id": pole_id,
                    "contracts": [
                        {
                            "contract_id": c.contract_id,
                            "status": c.status,
                            "version": c.current.version,
                        }
                        for c in of_pole
                    ],
                    "overdue_reports": [
                        {"contract_id": c.contract_id, "period": period}
                        for c in of_pole
                        for period in reports_overdue(c, now)
                    ],
                    "money": held.view(),
                }
            )
        return views

    return router
