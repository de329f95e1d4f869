"""The 1,500 M€ envelope (funding loads it from its file) and the State's payments."""

from __future__ import annotations

from typing import Any

from tests.story.cast import Cast
from tests.story.platform import Platform, eventually, send


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


def instalments(commitment: dict[str, Any], year: int) -> int:
    """What the State pays in ``year`` on a commitment: animation credits in their year; a
    platform's grant 40% in its decision year and the rest the year after."""
    committed: dict[int, int] = {
        int(item["year"]): int(item["amount_cents"]) for item in commitment["years"]
    }
    if commitment["line_id"] == "animation":
        return committed.get(year, 0)
    first = {y: cents * 40 // 100 for y, cents in committed.items()}
    if year in first:
        return first[year]
    return committed.get(year - 1, 0) - first.get(year - 1, 0)


async def commitments_made(p: Platform, cast: Cast, year: int) -> list[dict[str, Any]]:
    """The State's commitments once funding has made all those the story's events call for by
    ``year``: one per signed contract and one per selected dossier."""
    wanted = {
        "animation": sum(1 for c in cast.contracts if c.start_year <= year),
        "intervention.platforms": sum(
            1 for d in cast.dossiers if d.selection_year and d.selection_year <= year
        ),
    }

    async def made() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = []
        for line_id, count in wanted.items():
            query = f"/commitments?line_id={line_id}&limit=1000"
            on_line = await send(p.funding, "GET", query, p.tokens("state"))
            if len(on_line) < count:
                return None
            found += on_line
        return found

    return await eventually(made, f"funding's commitments for {year}", seconds=1800)


async def pay(p: Platform, cast: Cast, year: int) -> str:
    state = p.tokens("state")
    due = [(c, instalments(c, year)) for c in await commitments_made(p, cast, year)]
    due = sorted(((c, cents) for c, cents in due if cents > 0), key=lambda d: d[0]["commitment_id"])

    async def one(item: tuple[dict[str, Any], int]) -> None:
        commitment, cents = item
        body = {"year": year, "amount_cents": cents, "reference": f"crédits de paiement {year}"}
        cid = commitment["commitment_id"]
        path = f"/commitments/{cid}/payments"
        await send(p.funding, "POST", path, state, body, f"pay-{cid}-{year}")

    await p.each(due, one)
    return f"the State pays {millions(sum(c for _, c in due))} on {len(due)} commitments for {year}"
