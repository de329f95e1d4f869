"""Performance contracts: each pôle drafts its contract with its roadmap, the parties sign (most
before 30 June 2009, the Rhône-Alpes region on 6 July), the pôle reports its indicators every
January (some late); phase 2 is extended to 2012 by amendment."""

from __future__ import annotations

from collections.abc import Callable

from tests.story.cast import Cast
from tests.story.contract_plan import EXTENSION_REASON, ContractPlan, Signing
from tests.story.platform import Json, Platform, eventually, send


async def _draft_one(p: Platform, plan: ContractPlan) -> None:
    pole = p.tokens(f"pole:{plan.pole.id}")
    draft = {
        "pole_id": plan.pole.id,
        "period_start_year": plan.start_year,
        "period_end_year": plan.end_year,
        "signature_deadline": plan.signature_deadline.isoformat(),
        "parties": plan.parties(),
        "terms": plan.terms(),
    }
    await send(p.contracts, "POST", "/contracts", pole, draft, f"draft-{plan.contract_id}")
    path = f"/contracts/{plan.contract_id}"
    await send(p.contracts, "PUT", f"{path}/roadmap", pole, plan.roadmap(), f"roadmap-{path}")
    await send(p.contracts, "POST", f"{path}/open-for-signature", pole, None, f"open-{path}")


async def draft(p: Platform, plans: list[ContractPlan]) -> str:
    await p.each(plans, lambda plan: _draft_one(p, plan))
    return f"{len(plans)} pôles draft their contracts, annex their roadmaps, ask for signatures"


async def sign(p: Platform, plans: list[ContractPlan], moment: Signing) -> str:
    async def one(plan: ContractPlan) -> int:
        signers = plan.signers(moment)
        for party_id in signers:
            body = {"party_id": party_id, "signatory_name": f"signataire pour {party_id}"}
            path = f"/contracts/{plan.contract_id}/signatures"
            await send(
                p.contracts, "POST", path, p.tokens(party_id), body, f"sign-{path}-{party_id}"
            )
        return len(signers)

    counts = await p.each(plans, one)
    touched = sum(1 for count in counts if count)
    return f"{sum(counts)} signatures on {touched} contracts"


async def wait_for_events(
    p: Platform, plans: list[ContractPlan], event_type: str, about: Callable[[Json], bool]
) -> int:
    """Wait until the contracts service's clock has raised ``event_type`` on each of ``plans``
    (read in each contract's history)."""

    async def raised(plan: ContractPlan) -> bool:
        path = f"/contracts/{plan.contract_id}/history"
        history = await send(p.contracts, "GET", path, p.tokens("state"))
        return any(e["type"] == event_type and about(e["data"]) for e in history["events"])

    async def all_raised() -> bool:
        return all(await p.each(plans, raised))

    await eventually(all_raised, f"{event_type} on {len(plans)} contracts")
    return len(plans)


async def signature_overdue(p: Platform, cast: Cast) -> str:
    late = [c for c in cast.contracts_2009 if c.signing == "rhone-alpes"]
    overdue = "contracts.contract.signature-overdue.v1"
    count = await wait_for_events(p, late, overdue, lambda data: True)
    return f"30 June has passed: {count} contracts still lack a signature (signature overdue)"


def _active_in(cast: Cast, year: int) -> list[ContractPlan]:
    return [c for c in cast.contracts if c.start_year <= year]


async def _report(p: Platform, plans: list[ContractPlan], period: int) -> None:
    async def one(plan: ContractPlan) -> None:
        body = {"period": period, "values": plan.report_values(period)}
        path = f"/contracts/{plan.contract_id}/reports"
        await send(
            p.contracts, "POST", path, p.tokens(f"pole:{plan.pole.id}"), body, f"{path}/{period}"
        )

    await p.each(plans, one)


async def _validate(p: Platform, plans: list[ContractPlan], period: int) -> None:
    """Each pôle's State correspondent, and no one else, validates its report."""

    async def one(plan: ContractPlan) -> None:
        path = f"/contracts/{plan.contract_id}/reports/{period}/validation"
        await send(p.contracts, "POST", path, p.tokens(f"correspondent:{plan.pole.id}"), None, path)

    await p.each(plans, one)


async def report(p: Platform, cast: Cast, period: int, late: bool) -> str:
    plans = [c for c in _active_in(cast, period) if (period in c.late_reports) == late]
    await _report(p, plans, period)
    await _validate(p, plans, period)
    when = "late" if late else "by 31 January"
    return (
        f"{len(plans)} pôles report their {period} indicators {when}; their correspondents validate"
    )


async def report_overdue(p: Platform, cast: Cast, period: int) -> str:
    late = [c for c in _active_in(cast, period) if period in c.late_reports]
    overdue = "contracts.contract.report-overdue.v1"
    count = await wait_for_events(p, late, overdue, lambda data: data["period"] == period)
    return f"31 January has passed: {count} reports for {period} are overdue"


async def extend_to_2012(p: Platform, cast: Cast) -> str:
    async def one(plan: ContractPlan) -> None:
        body = {"reason": EXTENSION_REASON, "period_end_year": 2012, "terms": plan.terms(2012)}
        path = f"/contracts/{plan.contract_id}/amendments"
        await send(p.contracts, "POST", path, p.tokens("state"), body, path)

    await p.each(cast.contracts_2009, one)
    return f"{len(cast.contracts_2009)} contracts amended: phase 2 runs to 2012"
