"""Who reads what: the kernel's rule (``shared.visibility``), the very one notify applies to
every subscription. Contracts are public-policy documents: every role reads every contract, its
history, progress and signatures. An indicator report not yet validated is the pôle's working
document: only the pôle itself, its State correspondent, the State, the pôle's regions and
operators see it (and the history events that carry it); everyone else sees validated values
only."""

from __future__ import annotations

from services.contracts.domain.contract import Contract
from shared.visibility import WORKING_DOCUMENT_EVENT_TYPES, sees_working_documents

UNVALIDATED_EVENTS = WORKING_DOCUMENT_EVENT_TYPES


def sees_unvalidated_reports(roles: frozenset[str], contract: Contract) -> bool:
    return sees_working_documents(roles, contract.pole_id, contract.region_codes)
