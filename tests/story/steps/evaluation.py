"""The 2012 evaluation of phase 2: each pôle's contract rated très performant, performant or
moins performant (ratings published on 30 July 2012)."""

from __future__ import annotations

from collections import Counter

from tests.story.cast import Cast
from tests.story.contract_plan import ContractPlan
from tests.story.platform import Platform, send

COMMENT = "évaluation 2012 de la phase 2 (BearingPoint - Erdyn - Technopolis ITD)"


async def rate(p: Platform, cast: Cast) -> str:
    async def one(plan: ContractPlan) -> None:
        body = {"rating": plan.rating, "comments": COMMENT}
        path = f"/contracts/{plan.contract_id}/evaluation"
        await send(p.contracts, "POST", path, p.tokens("state"), body, path)

    await p.each(cast.contracts, one)
    ratings = Counter(plan.rating for plan in cast.contracts)
    return "ratings: " + ", ".join(f"{ratings[r]} {r}" for r in sorted(ratings, reverse=True))
