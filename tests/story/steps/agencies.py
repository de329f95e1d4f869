"""The agencies' own systems: the ANR and OSEO commit their lines on the pôles' projects with
their own tokens (``agency:anr``, ``agency:oseo``), and pay their own commitments."""

from __future__ import annotations

from tests.story.cast import Cast
from tests.story.platform import Platform, send
from tests.story.rd_plan import AgencyPlan
from tests.story.steps.budget import millions


async def commit(p: Platform, cast: Cast, year: int) -> str:
    plans = [a for a in cast.agencies if a.year == year]

    async def one(plan: AgencyPlan) -> None:
        token = p.tokens(f"agency:{plan.agency}")
        path = f"/agencies/{plan.agency}/commitments"
        made = await send(p.funding, "POST", path, token, plan.body(), f"commit-{plan.key}")
        cast.agency_commitment_ids[plan.key] = made["commitment_id"]

    await p.each(plans, one)
    parts = [
        f"{agency.upper()} {millions(sum(a.amount_cents for a in plans if a.agency == agency))}"
        for agency in cast.scale.agencies
    ]
    return f"the agencies commit {year}: " + ", ".join(parts)
