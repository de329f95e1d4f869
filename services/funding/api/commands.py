"""The commands on money: the State's (commit, de-commit, pay, transfer, amend the envelope) and
the agencies' (ANR and OSEO commit and pay on their own lines, through their own systems).

Every command needs an ``Idempotency-Key``: the id of what it creates is derived from the token's
subject and the key, so a repeat gives the first answer and changes nothing.

Who may act on which line: the State commits, pays and de-commits on every line but the
agencies'; an agency (role ``agency:<anr|oseo>``) on its own line only (the envelope file's
``agency_lines``); anyone else is answered 403.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, status
from fastapi.responses import JSONResponse

from services.funding.api.bodies import (
    AgencyCommitBody,
    AmendmentBody,
    CommitBody,
    DecommitBody,
    PaymentBody,
    TransferBody,
)
from services.funding.domain import ids
from services.funding.domain.commitment import Decommitment, Payment
from services.funding.domain.envelope import Envelope
from services.funding.handlers.budget import Budget
from services.funding.handlers.trial import TransferTrials
from shared.auth import Principal, require_roles
from shared.clock import Clock
from shared.decision import Answer
from shared.errors import Forbidden, NotFound, invalid
from shared.events.funding import CommitmentSource, CommitmentTerms, LineTransferred
from shared.reference.poles import poles_by_id

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def command_router(
    budget: Budget,
    trials: TransferTrials,
    envelope: Envelope,
    clock: Clock,
    authenticate: Callable[..., Principal],
) -> APIRouter:
    router = APIRouter(tags=["commands"])
    State = Annotated[Principal, Depends(require_roles(authenticate, "state"))]
    Agency = Annotated[Principal, Depends(require_roles(authenticate, "agency:*"))]
    Payer = Annotated[Principal, Depends(require_roles(authenticate, "state", "agency:*"))]
    leaf_ids = {spec.id for spec in envelope.leaves}
    state_lines = envelope.state_lines()

    def lines_of(principal: Principal) -> frozenset[str]:
        """The lines ``principal`` commits and pays on."""
        agencies = principal.scoped("agency")
        own = {line for agency, line in envelope.agency_lines.items() if agency in agencies}
        return frozenset(own | (state_lines if principal.has("state") else set()))

    async def commit_terms(
        line_id: str, body: CommitBody, principal: Principal, key: str, source: CommitmentSource
    ) -> JSONResponse:
        """Commit ``body`` on the line; 201 with the commitment, or 409 with the refusal."""
        region_codes = body.region_codes
        if body.pole_id is not None:
            pole = poles_by_id().get(body.pole_id)
            if pole is None:
                raise invalid(["pole_id"], f"no pôle {body.pole_id!r} in the reference list")
            region_codes = region_codes if region_codes is not None else list(pole.region_codes)
        terms = CommitmentTerms(
            commitment_id=ids.from_command("commitment", principal.subject, key),
            line_id=line_id,
            years=body.years,
            beneficiary=body.beneficiary,
            pole_id=body.pole_id,
            partner_pole_ids=body.partner_pole_ids,
            region_codes=region_codes or [],
            call_id=body.call_id,
            dossier_id=body.dossier_id,
            contract_id=body.contract_id,
            project_key=body.project_key,
            members=body.members,
            source=source,
        )
        answer = await budget.commit(terms)
        if answer["outcome"] == "refused":
            detail = (
                f"line {answer['line_id']} refused the commitment ({answer['reason']}): "
                f"{answer['asked_cents']} cents asked, {answer['available_cents']} available"
            )
            return JSONResponse({"detail": detail, **answer}, status_code=status.HTTP_409_CONFLICT)
        return JSONResponse(answer, status_code=status.HTTP_201_CREATED)

    def leaf(line_id: str, field: str) -> str:
        if line_id not in leaf_ids:
            raise invalid(
                [field], f"{line_id!r} is not a line that takes commitments: {sorted(leaf_ids)}"
            )
        return line_id

    @router.post(
        "/lines/{line_id}/commitments",
        status_code=status.HTTP_201_CREATED,
        summary="Commit on a line (autorisation d'engagement); 409 if the line cannot take it",
        responses={409: {"description": "refused: the line (or a year's ceiling) is short"}},
    )
    async def commit(
        line_id: str, body: CommitBody, principal: State, key: IdempotencyKey
    ) -> JSONResponse:
        if not envelope.leaf_ids_under(line_id):
            raise NotFound(f"no line {line_id}")
        leaf(line_id, "line_id")
        if line_id not in state_lines:
            raise Forbidden(f"line {line_id} is committed by its agency's own system")
        source = CommitmentSource(kind="manual", author=principal.subject, reason=body.reason)
        return await commit_terms(line_id, body, principal, key, source)

    @router.post(
        "/agencies/{agency}/commitments",
        status_code=status.HTTP_201_CREATED,
        summary="An agency (ANR, OSEO) commits on its own line; 409 if the line cannot take it",
        responses={409: {"description": "refused: the line (or a year's ceiling) is short"}},
    )
    async def agency_commit(
        agency: str, body: AgencyCommitBody, principal: Agency, key: IdempotencyKey
    ) -> JSONResponse:
        line_id = envelope.agency_lines.get(agency)
        if line_id is None:
            raise NotFound(f"no agency {agency}: {sorted(envelope.agency_lines)}")
        if agency not in principal.scoped("agency"):
            raise Forbidden(f"only agency:{agency} commits on {line_id}")
        source = CommitmentSource(kind="agency", author=principal.subject, reason=body.reason)
        return await commit_terms(line_id, body, principal, key, source)

    @router.post(
        "/commitments/{commitment_id}/payments",
        status_code=status.HTTP_201_CREATED,
        summary="Record a payment (crédit de paiement); never above what the commitment has left",
    )
    async def pay(
        commitment_id: str, body: PaymentBody, principal: Payer, key: IdempotencyKey
    ) -> Answer:
        payment_id = ids.from_command("payment", principal.subject, key)
        payment = Payment(payment_id, author=principal.subject, **body.model_dump())
        return await budget.pay(commitment_id, payment, lines_of(principal))

    @router.post(
        "/commitments/{commitment_id}/decommitments",
        status_code=status.HTTP_201_CREATED,
        summary="Give back part of a year's commitment to its line (never what is paid)",
    )
    async def decommit(
        commitment_id: str, body: DecommitBody, principal: Payer, key: IdempotencyKey
    ) -> Answer:
        decommitment_id = ids.from_command("decommitment", principal.subject, key)
        request = Decommitment(decommitment_id, author=principal.subject, **body.model_dump())
        return await budget.decommit(commitment_id, request, lines_of(principal))

    @router.post(
        "/transfers",
        status_code=status.HTTP_201_CREATED,
        summary="Move money between two lines; the giving line never goes below its commitments",
    )
    async def transfer(body: TransferBody, principal: State, key: IdempotencyKey) -> Answer:
        moved = transfer_of(body, principal, ids.from_command("transfer", principal.subject, key))
        return await budget.transfer(moved)

    @router.post(
        "/transfers/dry-run",
        summary="Try a transfer: both lines before and after it, whether it would be refused, "
        "and the commitments the lines refused that would then pass; changes nothing",
    )
    async def try_transfer(body: TransferBody, principal: State) -> Answer:
        """The body of ``POST /transfers``; no ``Idempotency-Key`` (nothing is made). 200 with:
        ``outcome`` (``transferable`` or ``refused``) and ``refusal`` (null, or the real
        command's ``status``, ``reason`` and ``detail``: the same domain function decides);
        ``transfer``; ``lines``: the giving (``side`` ``from``) then the receiving line, each
        ``before`` and ``after`` (``amount_cents``, ``committed_cents``, ``paid_cents``,
        ``available_cents``, ``yearly_ceilings``, ``by_year`` [{year, ceiling_cents,
        committed_cents, available_cents}], ``committed_percent``, ``thresholds`` [{percent,
        reached, announced}]) and ``thresholds_announced`` (those the transfer would announce
        crossed); ``pending_commitments``.

        Pending commitments: funding keeps no commitment waiting (a financing's State share is
        committed or refused when the financing opens; an agency's or the State's commitment is
        answered at once). What a budget officer moves money for is what the lines refused: so
        the pending commitments are those either line refused (``funding.commitment.refused.v1``:
        a co-financing's State share, an agency's project, ...) that nothing committed on it
        since (not the same commitment, nor another for the same dossier), in the order refused.
        Each is decided again on its line, one after another (an accepted one takes its money
        before the next), without the transfer (``before``) and with it (``after``): its
        ``outcome`` (``committed`` or ``refused``), ``reason`` and ``available_cents``. Nothing
        is committed: a pending commitment passes only when its author asks again.

        Computed on a replay of each line's chain (``services.funding.handlers.trial``)."""
        moved = transfer_of(body, principal, "dry-run")
        return await trials.try_transfer(moved)

    def transfer_of(body: TransferBody, principal: Principal, transfer_id: str) -> LineTransferred:
        leaf(body.from_line_id, "from_line_id")
        leaf(body.to_line_id, "to_line_id")
        if body.from_line_id == body.to_line_id:
            raise invalid(["to_line_id"], "a transfer goes to another line")
        return LineTransferred(
            transfer_id=transfer_id,
            line_id=body.from_line_id,
            from_line_id=body.from_line_id,
            to_line_id=body.to_line_id,
            amount_cents=body.amount_cents,
            reason=body.reason,
            author=principal.subject,
            transferred_at=clock.now(),
            years=body.years,
        )

    @router.post(
        "/envelope/amendments",
        status_code=status.HTTP_201_CREATED,
        summary="Amend the envelope (a dated decision): its years, lines' amounts and ceilings",
        responses={409: {"description": "it would take a line below what it has committed"}},
    )
    async def amend(body: AmendmentBody, _: State, key: IdempotencyKey) -> Answer:
        return await budget.amend(envelope.id, body)

    return router
