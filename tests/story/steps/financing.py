"""Funding's co-financing, answered by each financer through its own system: the CDC and each
region with their own tokens, FEDER through the State that manages it in the region. The State's
share is committed by funding itself on its line when the dossier is selected."""

from __future__ import annotations

from typing import Any

from tests.story.platform import Json, Platform, eventually, send


def financer_role(financer: str) -> str:
    """The role that answers for ``financer``: FEDER is managed by the State."""
    return "state" if financer == "feder" else financer


async def financing(p: Platform, dossier_id: str) -> Json | None:
    answer = await send(
        p.funding, "GET", f"/financings/{dossier_id}", p.tokens("state"), expect=(200, 404)
    )
    return answer if answer and answer.get("dossier_id") == dossier_id else None


async def opened(p: Platform, dossier_id: str) -> Json:
    """The dossier's financing once funding has opened it (or ended it at once)."""
    return await eventually(
        lambda: financing(p, dossier_id), f"funding's financing of {dossier_id}", seconds=600
    )


async def answer(
    p: Platform, dossier_id: str, financers: list[str], declined_by: str | None = None
) -> str:
    """Each financer commits its share, or ``declined_by`` withdraws; the financing's status."""
    found = await opened(p, dossier_id)
    if found.get("status") != "open":
        return str(found.get("status"))
    for financer in financers:
        base = f"/financings/{dossier_id}/financers/{financer}"
        token = p.tokens(financer_role(financer))
        key = f"{financer}-{dossier_id}"
        if financer == declined_by:
            body: dict[str, Any] = {"reason": "la région retire sa participation au plan"}
            await send(p.funding, "POST", f"{base}/refusal", token, body, f"decline-{key}")
            return "refused"
        await send(p.funding, "POST", f"{base}/commitment", token, {}, f"commit-{key}")
    return "completed"
