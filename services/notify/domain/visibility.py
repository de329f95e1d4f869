"""Who may see an event: written once, applied to every subscription and never bent.

National actors (state, cdc) and the platform's own roles (operator, integrator) see everything.
A pôle sees the events about itself (as lead or as partner); a region sees the events about its
territory. Both also see the few public acts (calls opened or closed, labels granted or withdrawn).
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
    poles = _scoped(roles, "pole")
    regions = _scoped(roles, "region")
    return bool(poles & poles_of(data)) or bool(regions & _strings(data.get("region_codes")))


def poles_of(data: Mapping[str, Any]) -> frozenset[str]:
    """The pôles an event is about: its lead pôle and its partners."""
    lead = data.get("pole_id")
    partners = _strings(data.get("partner_pole_ids"))
    return partners | {lead} if isinstance(lead, str) else partners


def _scoped(roles: frozenset[str], kind: str) -> frozenset[str]:
    prefix = f"{kind}:"
    return frozenset(role[len(prefix) :] for role in roles if role.startswith(prefix))


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()
