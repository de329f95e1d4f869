"""The calls' and dossiers' documents: their repositories (each document an aggregate with its
outbox, saved through the kernel's ``Repository``) and the queries the service makes beside them.

``live_key`` is indexed unique: it names a dossier's call, carrier SIRET and platform name, so the
store itself refuses a second live dossier for them, with no check-then-insert race; a withdrawn
dossier gives its key up in the same save that withdraws it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.calls.domain.call import CallState
from services.calls.domain.dossier import DossierState
from shared.clock import Clock
from shared.repository import Aggregates, Repository
from shared.store import Document, GroupCommit, Outcomes, count_matching, ensure_indexes

SERVICE = "calls"
CALLS = "calls"
DOSSIERS = "dossiers"
RECEIPTS_GROUP = 64
"""At most this many submissions numbered by one statement."""
SUMMARY_ONLY = {"state.history": 0, "outbox": 0, "processed": 0, "outbox_lease_until": 0}


def call_repository(calls: Aggregates, clock: Clock) -> Repository[CallState]:
    return Repository(calls, CallState, service=SERVICE, clock=clock, what="call")


def dossier_repository(dossiers: Aggregates, clock: Clock) -> Repository[DossierState]:
    """A dossier keeps the list of its events (its history) in the save that emits them."""
    return Repository(
        dossiers, DossierState, service=SERVICE, clock=clock, what="dossier", history=True
    )


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    await ensure_indexes(db[CALLS], [("state.status", ASCENDING), ("state.deadline", ASCENDING)])
    await ensure_indexes(
        db[DOSSIERS],
        IndexModel("state.live_key", unique=True, name="one_live_dossier"),
        [("state.call_id", ASCENDING), ("state.status", ASCENDING)],
        "state.pole_ids",
        "state.region_codes",
    )


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


class CallsQueries(Protocol):
    """What the service asks of its store beside loading and saving one aggregate."""

    async def next_receipt_number(self, call_id: str) -> int:
        """The call's next receipt number; a number taken by a submission that then fails is
        skipped, never reused."""

    async def due_for_closing(self, now: datetime) -> list[str]:
        """The ids of the open calls whose deadline has passed."""

    async def all_calls(self) -> list[CallState]:
        """Every call, oldest first."""

    async def count_live(self, call_id: str) -> int:
        """The call's dossiers not withdrawn."""

    async def search(self, where: DossierFilter, limit: int, offset: int) -> list[DossierState]:
        """The dossiers ``where`` keeps, first submitted first, without their history."""

    async def figures(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """Per dossier: call, status, amounts requested and granted."""


class MongoQueries(CallsQueries):
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._calls = db[CALLS]
        self._dossiers = db[DOSSIERS]
        self._numbering = GroupCommit[str, int](self._number, RECEIPTS_GROUP)

    async def next_receipt_number(self, call_id: str) -> int:
        return await self._numbering.submit(call_id)

    async def _number(self, call_ids: list[str]) -> Outcomes:
        """Numbers for submissions that arrived together: one ``$inc`` by their count per call
        (a counter beside the call's state: saves of the state leave it alone), each submission
        taking one number of the range, in the order they asked."""
        issued: dict[str, int] = {}
        for call_id, count in Counter(call_ids).items():
            document = await self._calls.find_one_and_update(
                {"_id": call_id},
                {"$inc": {"receipts_issued": count}},
                return_document=ReturnDocument.AFTER,
            )
            issued[call_id] = -1 if document is None else int(document["receipts_issued"]) - count
        numbers: Outcomes = []
        for call_id in call_ids:
            if issued[call_id] < 0:
                numbers.append(LookupError(call_id))
                continue
            issued[call_id] += 1
            numbers.append(issued[call_id])
        return numbers

    async def due_for_closing(self, now: datetime) -> list[str]:
        found = self._calls.find(
            {"state.status": "open", "state.deadline": {"$lte": now}}, {"_id": 1}
        )
        return [document["_id"] async for document in found]

    async def all_calls(self) -> list[CallState]:
        found = self._calls.find({}, {"state": 1}).sort("state.opens_at", ASCENDING)
        return [CallState.model_validate(document["state"]) async for document in found]

    async def count_live(self, call_id: str) -> int:
        return await count_matching(
            self._dossiers, {"state.call_id": call_id, "state.status": {"$ne": "withdrawn"}}
        )

    async def search(self, where: DossierFilter, limit: int, offset: int) -> list[DossierState]:
        found = (
            self._dossiers.find(where.query(), SUMMARY_ONLY)
            .sort("state.submitted_at", ASCENDING)
            .skip(offset)
            .limit(limit)
        )
        return [DossierState.model_validate(document["state"]) async for document in found]

    async def figures(self, call_id: str | None = None) -> list[dict[str, Any]]:
        # Sums are made in Python: FerretDB's ``$sum`` does not read nested fields.
        query: Document = {} if call_id is None else {"state.call_id": call_id}
        projection = {
            "state.call_id": 1,
            "state.status": 1,
            "state.requested_total_cents": 1,
            "state.granted_total_cents": 1,
        }
        return [document["state"] async for document in self._dossiers.find(query, projection)]
