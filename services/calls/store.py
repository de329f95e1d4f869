"""The calls' and dossiers' documents (each an aggregate with its outbox) and their queries.

``live_key`` is indexed unique: it names a dossier's call, carrier SIRET and platform name, so the
store itself refuses a second live dossier for them, with no check-then-insert race; a withdrawn
dossier gives its key up in the same save that withdraws it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.calls.domain.call import CallState
from services.calls.domain.dossier import DossierState
from shared.store import AggregateStore, Document, Loaded

CALLS = "calls"
DOSSIERS = "dossiers"
SUMMARY_ONLY = {"state.history": 0, "outbox": 0, "processed": 0, "outbox_lease_until": 0}


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    await db[CALLS].create_index([("state.status", ASCENDING), ("state.deadline", ASCENDING)])
    dossiers = db[DOSSIERS]
    await dossiers.create_index("state.live_key", unique=True, name="one_live_dossier")
    await dossiers.create_index([("state.call_id", ASCENDING), ("state.status", ASCENDING)])
    await dossiers.create_index("state.pole_ids")
    await dossiers.create_index("state.region_codes")


class CallRepository:
    def __init__(self, db: AsyncDatabase[Document], store: AggregateStore) -> None:
        self.store = store
        self._collection = db[CALLS]

    async def get(self, call_id: str) -> tuple[Loaded, CallState] | None:
        loaded = await self.store.load(call_id)
        return None if loaded is None else (loaded, CallState.model_validate(loaded.state))

    async def next_receipt_number(self, call_id: str) -> int:
        """The call's next receipt number. A counter beside the call's state (saves of the state
        leave it alone); a number taken by a submission that then fails is skipped, never reused."""
        document = await self._collection.find_one_and_update(
            {"_id": call_id}, {"$inc": {"receipts_issued": 1}}, return_document=ReturnDocument.AFTER
        )
        if document is None:
            raise LookupError(call_id)
        return int(document["receipts_issued"])

    async def due_for_closing(self, now: datetime) -> list[str]:
        found = self._collection.find(
            {"state.status": "open", "state.deadline": {"$lte": now}}, {"_id": 1}
        )
        return [document["_id"] async for document in found]

    async def all(self) -> list[CallState]:
        found = self._collection.find({}, {"state": 1}).sort("state.opens_at", ASCENDING)
        return [CallState.model_validate(document["state"]) async for document in found]


@dataclass(frozen=True)
class DossierFilter:
    call_id: str
    status: str | None = None
    pole_id: str | None = None
    region_code: str | None = None
    visible_to_poles: frozenset[str] | None = None
    visible_to_regions: frozenset[str] | None = None
    """None: no restriction; a set: only dossiers touching one of these pôles or regions."""

    def query(self) -> Document:
        clauses: list[Document] = [{"state.call_id": self.call_id}]
        if self.status is not None:
            clauses.append({"state.status": self.status})
        if self.pole_id is not None:
            clauses.append({"state.pole_ids": self.pole_id})
        if self.region_code is not None:
            clauses.append({"state.region_codes": self.region_code})
        if self.visible_to_poles is not None or self.visible_to_regions is not None:
            clauses.append(
                {
                    "$or": [
                        {"state.pole_ids": {"$in": sorted(self.visible_to_poles or ())}},
                        {"state.region_codes": {"$in": sorted(self.visible_to_regions or ())}},
                    ]
                }
            )
        return {"$and": clauses}


class DossierRepository:
    def __init__(self, db: AsyncDatabase[Document], store: AggregateStore) -> None:
        self.store = store
        self._collection = db[DOSSIERS]

    async def get(self, dossier_id: str) -> tuple[Loaded, DossierState] | None:
        loaded = await self.store.load(dossier_id)
        return None if loaded is None else (loaded, DossierState.model_validate(loaded.state))

    async def count_live(self, call_id: str) -> int:
        return await self._collection.count_documents(
            {"state.call_id": call_id, "state.status": {"$ne": "withdrawn"}}
        )

    async def search(self, where: DossierFilter, limit: int, offset: int) -> list[DossierState]:
        found = (
            self._collection.find(where.query(), SUMMARY_ONLY)
            .sort("state.submitted_at", ASCENDING)
            .skip(offset)
            .limit(limit)
        )
        return [DossierState.model_validate(document["state"]) async for document in found]

    async def figures(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """Per dossier: call, status, amounts requested and granted (sums are made in Python:
        FerretDB's ``$sum`` does not read nested fields)."""
        query: Document = {} if call_id is None else {"state.call_id": call_id}
        projection = {
            "state.call_id": 1,
            "state.status": 1,
            "state.requested_total_cents": 1,
            "state.granted_total_cents": 1,
        }
        return [document["state"] async for document in self._collection.find(query, projection)]

    async def counts_by_call_and_status(self) -> Counter[tuple[str, str]]:
        return Counter((row["call_id"], row["status"]) for row in await self.figures())
