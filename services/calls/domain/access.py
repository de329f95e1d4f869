"""Who may do what. Both command paths (HTTP and Kafka) call these with the same principal.

- ``state`` and ``cdc`` open calls and decide (screening, pre-selection votes, final decision;
  the CDC alone commissions and completes studies);
- a pôle submits as lead for itself; the lead pôle alone replaces or withdraws its dossier;
  a partner pôle reads it; any other pôle gets 404;
- ``operator``, ``state`` and ``cdc`` read every dossier; ``region:<code>`` reads the dossiers
  that touch its region.
"""

from __future__ import annotations

from services.calls.domain.dossier import DossierState
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.events.calls import Voter

READ_ALL = ("operator", "state", "cdc")


def can_read(principal: Principal, dossier: DossierState) -> bool:
    return (
        principal.has(*READ_ALL)
        or bool(principal.pole_ids & set(dossier.pole_ids))
        or bool(principal.region_codes & set(dossier.region_codes))
    )


def ensure_readable(principal: Principal, dossier: DossierState) -> None:
    if not can_read(principal, dossier):
        raise NotFound("dossier not found")


def ensure_lead(principal: Principal, dossier: DossierState) -> None:
    """Only the lead pôle changes its dossier; others who may read it get 403, the rest 404."""
    ensure_readable(principal, dossier)
    if dossier.content.lead_pole_id not in principal.pole_ids:
        raise Forbidden("only the lead pôle changes its dossier")


def ensure_submitter(principal: Principal, lead_pole_id: str) -> None:
    if not principal.pole_ids:
        raise Forbidden("only a pôle submits a dossier")
    if lead_pole_id not in principal.pole_ids:
        raise Forbidden("a pôle submits a dossier only as its lead pôle")


def ensure_any(principal: Principal, *roles: str) -> None:
    if not principal.has(*roles):
        raise Forbidden(f"only {' or '.join(roles)} may do that")


def voter_of(principal: Principal) -> Voter:
    """The joint decider a principal speaks for; one token speaks for one of them."""
    if principal.has("state") and principal.has("cdc"):
        raise Forbidden("a token speaks for the State or for the CDC, not both")
    if principal.has("state"):
        return "state"
    if principal.has("cdc"):
        return "cdc"
    raise Forbidden("only state or cdc may do that")
