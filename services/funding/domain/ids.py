"""Deterministic ids: the same source (an event, or a command's idempotency key) always names the
same commitment, payment, transfer or ledger entry, so that a repeat cannot make a second one."""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("5f1c3a52-9d0e-4d8e-9a1b-2c7f0e6b4a10")


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def commitment_for_event(event_id: str) -> str:
    return derived_id("commitment", "event", event_id)


def from_command(kind: str, subject: str, idempotency_key: str) -> str:
    """The id of what a command creates (``commitment``, ``payment``, ``decommitment``,
    ``transfer``), from its author and idempotency key."""
    return derived_id(kind, "command", subject, idempotency_key)


def ledger_entry(financer: str, source_event_id: str, item: str) -> str:
    return derived_id("ledger", financer, source_event_id, item)


def financing_state_commitment(dossier_id: str) -> str:
    """The State's commitment on its line for a dossier's co-financing."""
    return derived_id("commitment", "financing", dossier_id)


def financing_decommitment(dossier_id: str, year: int) -> str:
    """The de-commitment giving a refused financing's State money back, per year."""
    return derived_id("decommitment", "financing", dossier_id, str(year))


def financing_ledger_entry(financer: str, dossier_id: str) -> str:
    """A financer's ledger entry for its share of a dossier's co-financing."""
    return derived_id("ledger", financer, "financing", dossier_id)
