"""Calls and dossiers as they stood at an instant, rebuilt from ``calls.call`` and
``calls.dossier`` (``shared.asof`` reads and folds; this module says how each event moves the
record).

The as-of views carry only what the events carry, so they are a part of the live views
(``GET /calls/{id}``, ``GET /dossiers/{id}``), field for field equal to them at the present:
a call's documents and eligibility rules, who opened it; a dossier's content beyond its figures,
who submitted it, its screening, evaluation and decision records and its funding answer are in no
event, so not in the as-of view (its status, votes, study and plan say what was decided).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from services.calls.domain.dossier import Status, StudyRecord, VoteRecord
from services.calls.domain.inputs import StudyConclusions
from shared.asof import in_utc
from shared.cloudevents import CloudEvent
from shared.events import calls as events
from shared.events.base import parse_event_data
from shared.events.funding import PlanShare


class CallAsOf(events.CallOpened):
    """What the call's opening said, and whether it was closed since."""

    status: Literal["open", "closed"] = "open"
    closed_at: datetime | None = None


class DossierAsOf(BaseModel):
    dossier_id: str
    call_id: str
    call_kind: str
    status: Status
    version: int
    receipt_number: str
    pole_ids: list[str]
    region_codes: list[str]
    requested_total_cents: int
    granted_total_cents: int = 0
    submitted_at: datetime
    updated_at: datetime
    votes: dict[events.Voter, VoteRecord] = {}
    study: StudyRecord | None = None
    financing_plan: list[PlanShare] = []


def evolve_call(call: CallAsOf | None, event: CloudEvent) -> CallAsOf:
    data = parse_event_data(event)
    if isinstance(data, events.CallOpened):
        return CallAsOf.model_validate(in_utc(data.model_dump()))
    assert call is not None, f"{event.type} before the call was opened"
    if isinstance(data, events.CallClosed):
        return call.model_copy(update={"status": "closed", "closed_at": data.closed_at})
    return call


def evolve_dossier(dossier: DossierAsOf | None, event: CloudEvent) -> DossierAsOf:
    data = parse_event_data(event)
    if isinstance(data, events.DossierSubmitted):
        return DossierAsOf(
            **data.model_dump(include=set(DossierAsOf.model_fields)),
            status="submitted",
            pole_ids=[data.pole_id, *data.partner_pole_ids],
            updated_at=event.time,
        )
    assert dossier is not None, f"{event.type} before the dossier was submitted"
    assert isinstance(data, events.DossierFacts)
    facts = {
        "pole_ids": [data.pole_id, *data.partner_pole_ids],
        "region_codes": data.region_codes,
        "updated_at": event.time,
    }
    return dossier.model_copy(update=facts | _changes(dossier, data))


def _changes(dossier: DossierAsOf, data: events.DossierFacts) -> dict[str, object]:
    """What the event changes besides the facts every dossier event carries."""
    match data:
        case events.DossierReplaced():
            return {"version": data.version, "requested_total_cents": data.requested_total_cents}
        case events.PreselectionVoted():
            vote = VoteRecord(decision=data.decision, reasons=data.reasons, voted_at=data.voted_at)
            return {"votes": {**dossier.votes, data.voter: vote}}
        case events.StudyCommissioned():
            study = StudyRecord(
                study_id=data.study_id,
                cost_cents=data.cost_cents,
                cdc_share_cents=data.cdc_share_cents,
                commissioned_at=data.commissioned_at,
            )
            return {"status": "study-commissioned", "study": study}
        case events.StudyCompleted():
            assert dossier.study is not None, "a study completed before it was commissioned"
            conclusions = StudyConclusions.model_validate(
                data.model_dump(include=set(StudyConclusions.model_fields))
            )
            study = dossier.study.model_copy(
                update={"conclusions": conclusions, "completed_at": data.completed_at}
            )
            return {"status": "study-completed", "study": study}
        case events.DossierSelected():
            granted = data.state_grant_cents + data.cdc_investment_cents
            return {
                "status": "selected",
                "granted_total_cents": granted,
                "financing_plan": data.financing_plan,
            }
        case events.DossierFundingRefused():
            return {"status": "funding-refused", "granted_total_cents": 0}
    return {"status": STATUS_OF[type(data)]} if type(data) in STATUS_OF else {}


STATUS_OF: dict[type[events.DossierFacts], Status] = {
    events.DossierWithdrawn: "withdrawn",
    events.DossierFoundEligible: "eligible",
    events.DossierFoundIneligible: "ineligible",
    events.DossierPreselected: "preselected",
    events.DossierNotPreselected: "not-preselected",
    events.DossierEvaluated: "evaluated",
    events.DossierNotSelected: "not-selected",
    events.DossierFunded: "funded",
}
"""The events that change nothing but the status."""
