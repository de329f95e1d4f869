"""What the queries and the commands answer: JSON views of calls and dossiers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.calls.domain.dossier import DossierState, Status
from services.calls.store import CallsQueries


class DossierSummary(BaseModel):
    """A command's answer: the receipt (number and server timestamp) and where the dossier is."""

    dossier_id: str
    call_id: str
    status: Status
    version: int
    receipt_number: str
    submitted_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, dossier: DossierState) -> DossierSummary:
        return cls.model_validate(dossier.model_dump(include=set(cls.model_fields)))


class HistoryEntry(BaseModel):
    event_id: str
    type: str
    time: datetime
    trace_id: str | None = None
    data: dict[str, Any]


def dossier_view(dossier: DossierState) -> dict[str, Any]:
    """The dossier as readers see it; its history has a route of its own. ``submission_trace_id``
    names the trace of its submission (None if it was not traced): the trace viewer shows what
    became of it in every service."""
    view = dossier.model_dump(mode="json", exclude={"history", "live_key"})
    view["submission_trace_id"] = next(
        (entry.get("trace_id") for entry in dossier.history[:1]), None
    )
    return view


class Statistics(BaseModel):
    call_id: str
    dossiers_by_status: dict[str, int]
    dossiers_live: int
    requested_total_cents: int
    granted_total_cents: int


async def statistics(queries: CallsQueries, call_id: str) -> Statistics:
    """Counts by status; amounts requested by the live dossiers and granted to the selected."""
    rows = await queries.figures(call_id)
    live = [row for row in rows if row["status"] != "withdrawn"]
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
    return Statistics(
        call_id=call_id,
        dossiers_by_status=by_status,
        dossiers_live=len(live),
        requested_total_cents=sum(row.get("requested_total_cents", 0) for row in live),
        granted_total_cents=sum(row.get("granted_total_cents", 0) for row in live),
    )
