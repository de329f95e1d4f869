"""Who may see what: one rule per kind of information, used by notify (which event a
subscription's owner receives) and by the owners' read APIs (what a reader is shown) alike.

Kinds of information, and who sees them:

- **A pôle's working document**: an indicator report not yet validated
  (``contracts.contract.indicator-reported.v1``, ``contracts.contract.report-sent-back.v1``).
  The pôle that wrote it, its State correspondent (``correspondent:<pôle>``, who validates it or
  sends it back), the State, the pôle's regions and the platform's operators. Not the CDC, not
  integrators, not other pôles or their correspondents, not other regions, not departments,
  cities or agencies: until its correspondent validates it, a report is a draft between the pôle
  and the State, and a figure sent back must not travel as if it were a result.
- **Public acts**: calls opened or closed, labels granted, renewed or withdrawn, and every other
  fact about a performance contract (its terms, signatures, validated reports, milestones,
  amendments, evaluation, overdue notices). Contracts are public-policy documents: every role
  reads them (contracts' read APIs), so every role may be told of them (notify). A subscriber who
  wants one pôle's only narrows its subscription with ``filters`` (``{"pole_id": "..."}``).
- **Everything else** (dossiers, projects, money): national actors (state, cdc) and the
  platform's own roles (operator, integrator) see all of it; a pôle, and its State
  correspondent, sees what is about that pôle (as lead or as partner); a region sees what is
  about its territory; a financer (a region, a department, a city) sees what names it as a
  financer (its share of a financing plan, its ledger). Facts about nobody in particular, such
  as budget lines or another pôle's commitments, are not theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NATIONAL_ROLES = frozenset({"state", "cdc", "operator", "integrator"})

EVERY_ROLE = (
    "state",
    "cdc",
    "operator",
    "integrator",
    "region:*",
    "department:*",
    "city:*",
    "pole:*",
    "correspondent:*",
    "agency:*",
)
"""Every role kind, as ``shared.auth.require_roles`` reads patterns: who reads public acts."""

WORKING_DOCUMENT_EVENT_TYPES = frozenset(
    {
        "contracts.contract.indicator-reported.v1",
        "contracts.contract.report-sent-back.v1",
    }
)

PUBLIC_EVENT_TYPES = frozenset(
    {
        "calls.call.opened.v1",
        "calls.call.closed.v1",
        "contracts.pole.labelled.v1",
        "contracts.pole.renewed.v1",
        "contracts.pole.delabelled.v1",
    }
)
PUBLIC_EVENT_PREFIXES = ("contracts.contract.",)
"""Every contract event that is not a working document is a public act."""


def sees_working_documents(roles: Iterable[str], pole_id: str, region_codes: Iterable[str]) -> bool:
    """Whether ``roles`` see the working documents (unvalidated reports) of ``pole_id``, whose
    territory is ``region_codes``."""
    allowed = {"state", "operator", f"pole:{pole_id}", f"correspondent:{pole_id}"}
    allowed |= {f"region:{code}" for code in region_codes}
    return not allowed.isdisjoint(roles)


def is_public(event_type: str) -> bool:
    return event_type in PUBLIC_EVENT_TYPES or (
        event_type.startswith(PUBLIC_EVENT_PREFIXES)
        and event_type not in WORKING_DOCUMENT_EVENT_TYPES
    )


def may_see(roles: Iterable[str], event_type: str, data: Mapping[str, Any]) -> bool:
    """Whether a holder of ``roles`` may see an event of ``event_type`` carrying ``data``."""
    roles = frozenset(roles)
    if event_type in WORKING_DOCUMENT_EVENT_TYPES:
        pole_id = data.get("pole_id")
        regions = _strings(data.get("region_codes"))
        return isinstance(pole_id, str) and sees_working_documents(roles, pole_id, regions)
    if roles & NATIONAL_ROLES:
        return True
    if is_public(event_type):
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
