"""The 1,500 M€ envelope (funding loads it from its file) and the State's payments."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.story.cast import Cast
from tests.story.platform import Platform, eventually, send
from tests.story.steps.financing import financer_role


def millions(cents: int) -> str:
    return f"{cents / 100_000_000:,.1f} M€"


async def show_envelope(p: Platform, _: Cast) -> str:
    envelope = await send(p.funding, "GET", "/envelope", p.tokens("state"))
    parts = []
    for line in envelope["lines"]:
        subs = ", ".join(
            f"{sub['line_id'].split('.')[-1]} {millions(sub['amount_cents'])}"
            for sub in line.get("sub_lines", [])
        )
        own = f"{line['line_id']} {millions(line['amount_cents'])}"
        parts.append(f"{own} ({subs})" if subs else own)
    return f"the envelope of {millions(envelope['amount_cents'])}: " + "; ".join(parts)


AMENDMENT = {
    "amendment_id": "ciadt-2010-05-11",
    "decided_on": "2010-05-11",
    "reference": "CIADT du 11 mai 2010",
    "years": [2009, 2010, 2011, 2012],
    "lines": [
        {"line_id": "animation", "amount_cents": 6_500_000_000},
        {
            "line_id": "intervention.platforms",
            "amount_cents": 9_000_000_000,
            "yearly_ceilings": [
                {"year": 2009, "amount_cents": 3_500_000_000},
                {"year": 2010, "amount_cents": 3_500_000_000},
                {"year": 2011, "amount_cents": 2_000_000_000},
            ],
        },
    ],
}
"""Phase 2 extended to 2012: every line gains 2012; the pôles' 2012 animation credits (15 M€,
simulated: no source gives them) come from the platforms line, whose 2011 ceiling goes down."""


async def amend_envelope(p: Platform, _: Cast) -> str:
    await send(p.funding, "POST", "/envelope/amendments", p.tokens("state"), AMENDMENT, "ciadt")
    envelope = await send(p.funding, "GET", "/envelope", p.tokens("state"))
    years = ", ".join(str(y) for y in envelope["years"])
    return f"{AMENDMENT['reference']}: the envelope runs {years}; animation +15 M€ for 2012"


PAID_PERCENT = {"animation": 100, "contract": 100}
"""CP paid in a year on its AE of that year: the pôles' animation credits in full, projects
60% (the rest is paid after the story; simulated)."""
PROJECTS_PAID_PERCENT = 60


def due(years: list[dict[str, Any]], year: int, percent: int) -> int:
    committed = sum(int(item["amount_cents"]) for item in years if int(item["year"]) == year)
    return committed * percent // 100


def wanted_commitments(cast: Cast, year: int) -> dict[str, int]:
    """How many commitments funding has made on the State's lines once it has applied what the
    story did by ``year``: one per signed contract and per amended one, one per selected
    platform the line took (the one over the ceiling it did not), one per R&D project."""
    return {
        "animation": sum(1 for c in cast.contracts if c.start_year <= year)
        + (len(cast.contracts_2009) if year >= 2010 else 0),
        "intervention.platforms": sum(
            1
            for d in cast.dossiers
            if d.selection_year and d.selection_year <= year and not d.oversized_cents
        ),
        "intervention.rd": sum(1 for pr in cast.projects if pr.decision_year <= year),
    }


async def commitments_made(p: Platform, cast: Cast, year: int) -> list[dict[str, Any]]:
    """The State's commitments once funding has made all those the story's events call for by
    ``year``."""
    wanted = wanted_commitments(cast, year)

    async def made() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = []
        for line_id, count in wanted.items():
            query = f"/commitments?line_id={line_id}&limit=1000"
            on_line = await send(p.funding, "GET", query, p.tokens("state"))
            if len(on_line) < count:
                return None
            found += on_line
        return found

    # Every 3 s: each check lists a line's commitments, a whole-collection read on the store.
    return await eventually(made, f"funding's commitments for {year}", seconds=1800, every=3)


async def _pay_each(
    p: Platform, items: list[tuple[str, str, int]], role: Callable[[str], str], year: int
) -> None:
    """(path, owner, cents): one payment each, by the owner's role."""

    async def one(item: tuple[str, str, int]) -> None:
        path, owner, cents = item
        body = {"year": year, "amount_cents": cents, "reference": f"crédits de paiement {year}"}
        await send(p.funding, "POST", path, p.tokens(role(owner)), body, f"pay-{path}-{year}")

    await p.each(sorted(items), one)


async def pay(p: Platform, cast: Cast, year: int) -> str:
    """Every financer pays its year's CP: the State on its lines, the agencies on theirs, the
    CDC, the regions and FEDER (through the State) on their ledger entries."""
    refused = {cast.dossier_ids.get(d.rank) for d in cast.refused_platforms()}
    state_due = []
    for c in await commitments_made(p, cast, year):
        if c.get("dossier_id") in refused:
            continue
        cents = due(c["years"], year, PAID_PERCENT.get(c["line_id"], PROJECTS_PAID_PERCENT))
        if cents > 0:
            state_due.append((f"/commitments/{c['commitment_id']}/payments", "state", cents))
    await _pay_each(p, state_due, lambda owner: owner, year)
    agencies_due = [
        (
            f"/commitments/{cast.agency_commitment_ids[a.key]}/payments",
            a.agency,
            a.amount_cents * PROJECTS_PAID_PERCENT // 100,
        )
        for a in cast.agencies
        if a.year == year
    ]
    await _pay_each(p, agencies_due, lambda agency: f"agency:{agency}", year)
    ledger_due = []
    for entry in await ledger_entries(p):
        if entry["financer"] == "private" or entry.get("cancelled_cents"):
            continue
        cents = due(entry["years"], year, PAID_PERCENT.get(entry["item"], PROJECTS_PAID_PERCENT))
        if cents > 0:
            path = f"/ledgers/{entry['financer']}/entries/{quote(entry['entry_id'])}/payments"
            ledger_due.append((path, entry["financer"], cents))
    await _pay_each(p, ledger_due, financer_role, year)
    paid = [sum(c for *_, c in items) for items in (state_due, agencies_due, ledger_due)]
    return (
        f"{year} payments: the State {millions(paid[0])} on {len(state_due)} commitments, "
        f"the agencies {millions(paid[1])}, the other financers {millions(paid[2])} "
        f"on {len(ledger_due)} ledger entries"
    )


async def ledger_entries(p: Platform) -> list[dict[str, Any]]:
    """The other financers' entries once funding has recorded what the story's events call
    for: read until two reads a few seconds apart agree."""
    previous: list[dict[str, Any]] | None = None
    while True:
        entries: list[dict[str, Any]] = await send(p.funding, "GET", "/ledgers", p.tokens("state"))
        if previous is not None and len(entries) == len(previous):
            return entries
        previous = entries
        await asyncio.sleep(2)
