"""The queries the saga and the contract sources read, on the in-memory chains (component
tests): what ``services.funding.store.FundingStore`` answers from its views, read here from the
newest version of each aggregate."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from services.funding.domain.commitment import CommitmentState
from services.funding.domain.financing import FinancingState
from services.funding.domain.ledger import LedgerEntry
from shared.store import Document
from tests.support.memory import MemoryAggregates

if TYPE_CHECKING:
    from services.funding.tests.memory import MemoryChain


def newest(chain: MemoryChain) -> list[Document]:
    states: dict[str, tuple[int, Document]] = {}
    for entry in chain.entries.values():
        known = states.get(entry["aggregate_id"])
        if known is None or known[0] < entry["version"]:
            states[entry["aggregate_id"]] = (entry["version"], entry["state"])
    return [state for _, state in states.values()]


class MemoryReads:
    def __init__(
        self, commitments: MemoryChain, financings: MemoryChain, ledgers: MemoryAggregates
    ) -> None:
        self.commitment_chain = commitments
        self.financing_chain = financings
        self.ledgers = ledgers
        self.shown: list[str] = []

    def commitments(self) -> list[CommitmentState]:
        return [CommitmentState.model_validate(s) for s in newest(self.commitment_chain)]

    def entries(self) -> list[LedgerEntry]:
        return [LedgerEntry.model_validate(s) for s in self.ledgers.states()]

    async def show_financing(self, dossier_id: str) -> None:
        self.shown.append(dossier_id)

    async def financings(
        self, status: str | None = None, financers: Collection[str] | None = None
    ) -> list[FinancingState]:
        found = [FinancingState.model_validate(s) for s in newest(self.financing_chain)]
        return [
            item
            for item in found
            if (status is None or item.status == status)
            and (financers is None or set(financers) & set(item.financers))
        ]

    async def overlaps(
        self, identifiers: list[str], project_key: str, dossier_id: str
    ) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {}
        for commitment in self.commitments():
            if commitment.project_key == project_key and commitment.dossier_id != dossier_id:
                for member in commitment.members:
                    found.setdefault(member.identifier, set()).add(commitment.commitment_id)
        for financing in await self.financings():
            if financing.project_key == project_key and financing.dossier_id != dossier_id:
                for member in financing.members:
                    found.setdefault(member.identifier, set()).add(financing.dossier_id)
        return {key: sorted(found[key]) for key in identifiers if key in found}

    async def contract_years(self, contract_id: str) -> dict[str, set[int]]:
        years: dict[str, set[int]] = {"state": set()}
        for commitment in self.commitments():
            if commitment.contract_id == contract_id:
                years["state"].update(item.year for item in commitment.years)
        for entry in self.entries():
            if entry.contract_id == contract_id:
                years.setdefault(entry.financer, set()).update(item.year for item in entry.years)
        return years
