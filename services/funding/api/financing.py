"""The co-financing of selected dossiers and the other financers' ledgers, over HTTP.

Commands need an ``Idempotency-Key`` and the financer's own principal: ``cdc`` for the CDC,
``region:NN``, ``department:X``, ``city:X`` for a local authority, ``state`` for FEDER (managed by
the State in the region). Reads: the State, the CDC, operators and integrators see every
financing; a local authority sees the financings it has a share in.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, status
from pydantic import Field

from services.funding.api.bodies import Body, PaymentBody
from services.funding.api.commands import IdempotencyKey
from services.funding.domain import ids
from services.funding.domain.commitment import Payment
from services.funding.domain.financing import FinancingState
from services.funding.handlers.financing import Financings
from services.funding.views import BudgetViews
from shared.auth import Principal, require_roles
from shared.decision import Answer
from shared.errors import NotFound
from shared.events.funding import FINANCER, YearAmount

FINANCIAL_ROLES = ("state", "cdc", "region:*", "department:*", "city:*")
FINANCING_READERS = ("state", "cdc", "operator", "integrator", "region:*", "department:*", "city:*")
BUDGET_READERS = ("state", "cdc", "operator", "integrator", "region:*")
Financer = Annotated[str, Path(pattern=FINANCER, description="cdc, region:NN, feder, ...")]
View = dict[str, Any]


class FinancerCommitBody(Body):
    years: list[YearAmount] | None = Field(
        default=None, max_length=20, description="if given, the financer's share as planned"
    )


class RefusalBody(Body):
    reason: str = Field(min_length=1, max_length=1000, description="why the financer declines")


def financing_router(
    financings: Financings, views: BudgetViews, authenticate: Callable[..., Principal]
) -> APIRouter:
    router = APIRouter(tags=["co-financing"])
    Financial = Annotated[Principal, Depends(require_roles(authenticate, *FINANCIAL_ROLES))]
    Reader = Annotated[Principal, Depends(require_roles(authenticate, *FINANCING_READERS))]
    BudgetReader = Annotated[Principal, Depends(require_roles(authenticate, *BUDGET_READERS))]

    @router.post(
        "/financings/{dossier_id}/financers/{financer}/commitment",
        status_code=status.HTTP_201_CREATED,
        summary="A financer commits its share of a dossier's plan (recorded in its ledger)",
    )
    async def commit(
        dossier_id: str,
        financer: Financer,
        body: FinancerCommitBody,
        principal: Financial,
        key: IdempotencyKey,
    ) -> Answer:
        return await financings.commit(dossier_id, financer, principal, body.years, key)

    @router.post(
        "/financings/{dossier_id}/financers/{financer}/refusal",
        summary="A financer declines its share: the financing is refused, what was committed "
        "for it given back",
    )
    async def refuse(
        dossier_id: str,
        financer: Financer,
        body: RefusalBody,
        principal: Financial,
        key: IdempotencyKey,
    ) -> Answer:
        return await financings.decline(dossier_id, financer, principal, body.reason, key)

    @router.get("/financings/{dossier_id}", summary="A dossier's co-financing")
    async def financing(dossier_id: str, principal: Reader) -> View:
        found = await financings.get(dossier_id, principal)
        if found is None:
            raise NotFound(f"no financing {dossier_id}")
        return _view(found)

    @router.get("/financings", summary="Co-financings, by status")
    async def financings_list(
        principal: Reader, status: Literal["open", "completed", "refused"] | None = None
    ) -> list[View]:
        return [_view(item) for item in await financings.find(principal, status)]

    @router.post(
        "/ledgers/{financer}/entries/{entry_id}/payments",
        status_code=status.HTTP_201_CREATED,
        summary="A financer's payment (CP) on one of its ledger commitments",
    )
    async def pay(
        financer: Financer,
        entry_id: str,
        body: PaymentBody,
        principal: Financial,
        key: IdempotencyKey,
    ) -> Answer:
        payment_id = ids.from_command("ledger-payment", principal.subject, key)
        payment = Payment(payment_id, author=principal.subject, **body.model_dump())
        return await financings.ledgers.pay(financer, entry_id, principal, payment, key)

    @router.get(
        "/budget/financers",
        summary="Every financer's commitments (AE) and payments (CP) by year, and what is left",
    )
    async def financers(_: BudgetReader) -> list[View]:
        return await views.financers()

    return router


def _view(financing: FinancingState) -> View:
    return {**financing.model_dump(mode="json"), "total_cents": financing.total_cents}
