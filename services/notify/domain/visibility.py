"""Who may see an event: written once, applied to every subscription and never bent.

National actors (state, cdc) and the platform's own roles (operator, integrator) see everything.
A pôle, and the State correspondent who follows it (``correspondent:<pôle>``), sees the events
about that pôle (as lead or as partner); a region sees the events about its territory. A financer
(a region, a department, a city) sees the events that name it as a financer: its share of a
financing plan, its ledger. All of them also see the few public acts (calls opened or closed,
labels granted or withdrawn).
Events about nobody in particular, such as budget lines or another pôle's commitments, are not
theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NATIONAL_ROLES = frozenset({"state", "cdc", "operator", "integrator"})

PUBLIC_EVENT_TYPES = frozenset(
    {
        "calls.call.opened.v1",
        "calls.call.closed.v1",
        "contracts.pole.labelled.v1",
        "contracts.pole.renewed.v1",
        "contracts.pole.delabelled.v1",
    }
)


def may_see(roles: Iterable[str], event_type: str, data: Mapping[str, Any]) -> bool:
    """Whether a holder of ``roles`` may see an event of ``event_type`` carrying ``data``."""
    roles = frozenset(roles)
    if roles & NATIONAL_ROLES:
        return True
    if event_type in PUBLIC_EVENT_TYPES:
        return bool(roles)
    poles = _scoped(roles, "pole") | _scoped(roles, "correspondent")
    regions = _scoped(roles, "region")
    return (
        bool(poles & poles_of(data))
        or bool(regions & _strings(data.get("region_codes")))
        or bool(roles & financers_of(data))
    )


def poles_of(data: Mapping[str, Any]) -> frozenset[str]:
    """The pôles an event is about: its lead pôle and its partners."""
    lead = data.get("pole_id")
    partners = _strings(data.get("partner_pole_ids"))
    return partners | {lead} if isinstance(lead, str) else partners


def financers_of(data: Mapping[str, Any]) -> frozenset[str]:
    """The financers an event names (``region:82``, ``department:38``, ...): its ``financer``
    and every share of its plan (``plan`` on funding's events, ``financing_plan`` on calls')."""
    named = {data.get("financer")}
    for field in ("plan", "financing_plan"):
        shares = data.get(field)
        for share in shares if isinstance(shares, list) else []:
            if isinstance(share, Mapping):
                named.add(share.get("financer"))
    return frozenset(name for name in named if isinstance(name, str))


def _scoped(roles: frozenset[str], kind: str) -> frozenset[str]:
    prefix = f"{kind}:"
    return frozenset(role[len(prefix) :] for role in roles if role.startswith(prefix))


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()
