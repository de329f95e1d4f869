"""Default subscriptions: the people an event concerns receive it without asking.

A dossier's contact receives its receipt, every decision on it and whether its financing was
arranged or refused; a contract's parties receive the signature request, the unsigned parties
the signature reminders, the pôle the report reminders. Each is derived from the event's own
data, so nothing is stored to make it so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DOSSIER_CONTACT_TYPES = frozenset(
    {
        "calls.dossier.submitted.v1",
        "calls.dossier.found-eligible.v1",
        "calls.dossier.found-ineligible.v1",
        "calls.dossier.preselected.v1",
        "calls.dossier.not-preselected.v1",
        "calls.dossier.selected.v1",
        "calls.dossier.not-selected.v1",
        "calls.dossier.funded.v1",
        "calls.dossier.funding-refused.v1",
    }
)
SIGNATURE_REQUEST = "contracts.contract.opened-for-signature.v1"
SIGNATURE_OVERDUE = "contracts.contract.signature-overdue.v1"
REPORT_OVERDUE = "contracts.contract.report-overdue.v1"


def default_recipients(event_type: str, data: Mapping[str, Any]) -> list[str]:
    """The e-mail addresses that receive this event by default, without duplicates."""
    if event_type in DOSSIER_CONTACT_TYPES:
        contact = data.get("contact_email")
        found: list[str | None] = [contact] if isinstance(contact, str) else []
    elif event_type == SIGNATURE_REQUEST:
        found = [_email(party) for party in _parties(data)]
    elif event_type == SIGNATURE_OVERDUE:
        unsigned = set(_list(data.get("unsigned_party_ids")))
        found = [_email(party) for party in _parties(data) if party.get("party_id") in unsigned]
    elif event_type == REPORT_OVERDUE:
        found = [_email(party) for party in _parties(data) if party.get("kind") == "pole"]
    else:
        found = []
    return list(dict.fromkeys(address for address in found if address))


def default_target_id(address: str) -> str:
    """Stands for a subscription id in a default delivery's id."""
    return f"default:{address.lower()}"


def _parties(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [party for party in _list(data.get("parties")) if isinstance(party, Mapping)]


def _email(party: Mapping[str, Any]) -> str | None:
    address = party.get("contact_email")
    return address if isinstance(address, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
