"""The CIADT of 11 May 2010: six eco-technology pôles labelled, seven group-3 pôles renewed,
six delabelled; the renewed and the new pôles then sign contracts for 2010-2012."""

from __future__ import annotations

from datetime import date

from tests.story.cast import Cast
from tests.story.platform import Platform, send
from tests.story.steps import contracts

CIADT = date(2010, 5, 11)
REFERENCE = "CIADT du 11 mai 2010"


async def decide(p: Platform, cast: Cast) -> str:
    scale = cast.scale
    decisions = [
        *((pole_id, "labelled") for pole_id in scale.labelled_2010),
        *((pole_id, "renewed") for pole_id in scale.renewed_2010),
        *((pole_id, "delabelled") for pole_id in scale.delabelled_2010),
    ]

    async def one(decision: tuple[str, str]) -> None:
        pole_id, outcome = decision
        body = {"decision": outcome, "decided_on": CIADT.isoformat(), "reference": REFERENCE}
        path = f"/poles/{pole_id}/label-decisions"
        await send(p.contracts, "POST", path, p.tokens("state"), body, f"ciadt-{pole_id}")

    await p.each(decisions, one)
    return (
        f"{REFERENCE}: {len(scale.labelled_2010)} eco-technology pôles labelled, "
        f"{len(scale.renewed_2010)} renewed, {len(scale.delabelled_2010)} delabelled"
    )


async def draft_2010(p: Platform, cast: Cast) -> str:
    return await contracts.draft(p, cast.contracts_2010)


async def sign_2010(p: Platform, cast: Cast) -> str:
    return await contracts.sign(p, cast.contracts_2010, "june-2010")
