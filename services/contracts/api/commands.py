"""Commands on contracts: draft to close. Each route checks the role, then the handler and the
domain decide (whose contract, which state, which party)."""

# No ``from __future__ import annotations``: FastAPI must see the dependencies that the local
# ``Annotated`` aliases carry when it reads the route signatures.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from services.contracts.api.bodies import (
    AmendmentBody,
    DraftBody,
    EvaluationBody,
    IdempotencyKey,
    ReportBody,
    SendBackBody,
    SignatureBody,
    TermsBody,
)
from services.contracts.domain import execution, signatures
from services.contracts.domain.calendar import default_signature_deadline
from services.contracts.domain.terms import Roadmap
from services.contracts.handlers import Command, ContractHandlers, DraftRequest
from shared.auth import Principal, require_roles
from shared.decision import Answer

Authenticate = Callable[[Request], Principal]


def contract_commands(handlers: ContractHandlers, authenticate: Authenticate) -> APIRouter:
    router = APIRouter(prefix="/contracts", tags=["contract commands"])

    def as_command(*roles: str) -> Any:
        check = require_roles(authenticate, *roles)

        def command(
            principal: Annotated[Principal, Depends(check)], idempotency_key: IdempotencyKey = None
        ) -> Command:
            return Command.of(principal, idempotency_key)

        return Depends(command)

    Author = Annotated[Command, as_command("state", "pole:*")]
    Signer = Annotated[Command, as_command("state", "region:*", "pole:*")]
    Pole = Annotated[Command, as_command("pole:*")]
    State = Annotated[Command, as_command("state")]
    Correspondent = Annotated[Command, as_command("correspondent:*")]

    @router.post("", status_code=status.HTTP_201_CREATED, summary="Draft a pôle's contract")
    async def draft(body: DraftBody, command: Author) -> Answer:
        deadline = body.signature_deadline or default_signature_deadline(body.period_start_year)
        return await handlers.draft(
            command,
            DraftRequest(
                body.pole_id,
                body.period_start_year,
                body.period_end_year,
                deadline,
                body.parties,
                body.terms,
            ),
        )

    @router.put("/{contract_id}/terms", summary="Edit the draft's parties and terms")
    async def edit_terms(contract_id: str, body: TermsBody, command: Author) -> Answer:
        return await handlers.edit_terms(command, contract_id, body.parties, body.terms)

    @router.put("/{contract_id}/roadmap", summary="Annex the strategic roadmap")
    async def annex_roadmap(contract_id: str, body: Roadmap, command: Author) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: signatures.annex_roadmap(c, body, command.roles, now),
        )

    @router.post("/{contract_id}/open-for-signature", summary="Ask every party to sign")
    async def open_for_signature(contract_id: str, command: Author) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: signatures.open_for_signature(c, command.roles, now),
        )

    @router.post(
        "/{contract_id}/signatures",
        summary="Sign for one party",
        description="`state` signs for the State and records the paper signatures of "
        "departments and cities; `region:<code>` signs for that region; `pole:<id>` for "
        "its pôle. A party signs once (409 after).",
    )
    async def sign(contract_id: str, body: SignatureBody, command: Signer) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: signatures.sign(
                c, body.party_id, body.signatory_name, command.roles, now
            ),
        )

    @router.post("/{contract_id}/reports", summary="Report a year's indicator values (the pôle)")
    async def report(contract_id: str, body: ReportBody, command: Pole) -> Answer:
        values = [v.wire() for v in body.values]
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: execution.report_indicators(c, body.period, values, command.roles, now),
        )

    @router.post(
        "/{contract_id}/reports/{period}/validation",
        summary="Validate a report",
        description="Only the pôle's State correspondent (`correspondent:<pole id>`).",
    )
    async def validate(contract_id: str, period: int, command: Correspondent) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: execution.validate_report(c, period, command.roles, now),
        )

    @router.post(
        "/{contract_id}/reports/{period}/send-back",
        summary="Send a report back",
        description="Only the pôle's State correspondent (`correspondent:<pole id>`).",
    )
    async def send_back(
        contract_id: str, period: int, body: SendBackBody, command: Correspondent
    ) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: execution.send_back_report(c, period, body.reason, command.roles, now),
        )

    @router.post("/{contract_id}/milestones/{milestone_id}/done", summary="Mark a milestone done")
    async def complete(contract_id: str, milestone_id: str, command: Author) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: execution.complete_milestone(c, milestone_id, command.roles, now),
        )

    @router.post("/{contract_id}/amendments", summary="Amend the signed terms (a new version)")
    async def amend(contract_id: str, body: AmendmentBody, command: State) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: execution.amend(c, body.terms, body.period_end_year, body.reason, now),
        )

    @router.post("/{contract_id}/evaluation", summary="Rate the pôle's performance")
    async def evaluate(contract_id: str, body: EvaluationBody, command: State) -> Answer:
        return await handlers.change(
            command,
            contract_id,
            lambda c, now: execution.evaluate(c, body.rating, body.comments, now),
        )

    @router.post("/{contract_id}/close", summary="Close an evaluated contract")
    async def close(contract_id: str, command: State) -> Answer:
        return await handlers.change(command, contract_id, lambda c, now: execution.close(c, now))

    return router
