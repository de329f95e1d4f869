"""Who reads what. Contracts are public-policy documents: every role reads every contract, its
history, progress and signatures. An indicator report not yet validated is the pôle's working
document: only the pôle itself, the State, the pôle's regions and operators see it (and the
history events that carry it); everyone else sees validated values only."""

from __future__ import annotations

from services.contracts.domain.contract import Contract

UNVALIDATED_EVENTS = frozenset(
    {
        "contracts.contract.indicator-reported.v1",
        "contracts.contract.report-sent-back.v1",
    }
)


def sees_unvalidated_reports(roles: frozenset[str], contract: Contract) -> bool:
    allowed = {"state", "operator", f"pole:{contract.pole_id}"}
    allowed |= {f"region:{code}" for code in contract.region_codes}
    return bool(roles & allowed)
