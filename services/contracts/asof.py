"""Contracts and pôles as they stood at an instant, rebuilt from ``contracts.contract`` and
``contracts.pole`` (``shared.asof`` reads and folds; this module says how each event moves the
record). The service stores its records in their JSON form, so the live views show each instant
with the offset it was written with, as the events carry it: the as-of views do too.

A contract's as-of view carries only what its events carry, so it is a part of the live view
(``GET /contracts/{id}``), field for field equal to it at the present, but for its versions: each
version is shown without its terms (objectives, programmes, milestones, indicators: in no event),
with the financing the events give it (``None`` while the contract is a draft: the drafting and
editing events carry none; the opening, the signature and each amendment do). The live view's
``signature_overdue`` and ``reports_overdue`` are worked out from the clock at the read, not
told by events: they are not in the as-of view either.

A pôle's record exists before any event: the reference list (``shared.reference.poles``) gives
every pôle's 2008 situation, after the phase 1 evaluation of 18 June 2008, which the service
loads at its start; its label events (``contracts.pole``) move it from there. Its as-of view is
the whole live record, and a read before 18 June 2008 is a 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from services.contracts.domain.calendar import day_start
from services.contracts.domain.contract import (
    Evaluation,
    MilestoneDone,
    Report,
    Signature,
    Status,
)
from services.contracts.domain.pole import PHASE_1_EVALUATION, LabelStatus, PoleRecord
from services.contracts.domain.terms import Roadmap
from shared.asof import require_state_at, state_at
from shared.cloudevents import CloudEvent
from shared.errors import NotFound
from shared.events import contracts as events
from shared.events.base import parse_event_data
from shared.reference.poles import Pole

REFERENCE_AT = day_start(PHASE_1_EVALUATION)
"""The instant of the reference list's situation: a pôle's as-of record starts there."""


class VersionAsOf(BaseModel):
    """A version of the terms without the terms themselves (in no event)."""

    version: int
    period_end_year: int
    effective_at: datetime
    reason: str
    financing: list[events.YearlyCommitment] | None = None
    """Each party's money per year, once an event carried it (opened, signed, amended)."""


class ContractAsOf(BaseModel):
    contract_id: str
    pole_id: str
    pole_name: str
    region_codes: list[str]
    status: Status
    period_start_year: int
    signature_deadline: datetime
    parties: list[events.Party]
    roadmap: Roadmap | None = None
    versions: list[VersionAsOf]
    signatures: list[Signature] = []
    reports: list[Report] = []
    milestones_done: list[MilestoneDone] = []
    evaluation: Evaluation | None = None
    closed_at: datetime | None = None
    signature_overdue_at: datetime | None = None
    milestones_missed: list[str] = []


def evolve_contract(contract: ContractAsOf | None, event: CloudEvent) -> ContractAsOf:
    data = parse_event_data(event)
    if isinstance(data, events.ContractDrafted):
        first = VersionAsOf(
            version=data.version,
            period_end_year=data.period_end_year,
            effective_at=data.drafted_at,
            reason="drafted",
        )
        return ContractAsOf(
            **data.model_dump(include=set(ContractAsOf.model_fields)),
            status="drafted",
            versions=[first],
        )
    assert contract is not None, f"{event.type} before the contract was drafted"
    assert isinstance(data, events.ContractFacts | events.ContractSigned)
    facts = {name: getattr(data, name) for name in ("pole_name", "region_codes", "parties")}
    return contract.model_copy(update=facts | _changes(contract, data))


def _changes(
    contract: ContractAsOf, data: events.ContractFacts | events.ContractSigned
) -> dict[str, object]:
    """What the event changes besides the facts every contract event carries."""
    match data:
        case events.ContractTermsEdited():
            return {"versions": _current(contract, effective_at=data.edited_at)}
        case events.RoadmapAnnexed():
            roadmap = Roadmap.model_validate(data.model_dump(include=set(Roadmap.model_fields)))
            return {"status": "roadmap-annexed", "roadmap": roadmap}
        case events.OpenedForSignature():
            return {
                "status": "open-for-signature",
                "signature_deadline": data.signature_deadline,
                "versions": _current(contract, financing=data.financing),
            }
        case events.PartySigned():
            signature = Signature.model_validate(
                data.model_dump(include=set(Signature.model_fields))
            )
            return {"signatures": [*contract.signatures, signature]}
        case events.ContractSigned():
            return {"status": "signed", "versions": _current(contract, financing=data.financing)}
        case events.ContractActivated():
            return {"status": "active"}
        case events.IndicatorReported():
            report = Report(period=data.period, values=data.values, reported_at=data.reported_at)
            others = [r for r in contract.reports if r.period != data.period]
            return {"reports": [*others, report]}
        case events.ReportValidated():
            return {"reports": _decided(contract, data.period, "validated", data.validated_at)}
        case events.ReportSentBack():
            decided = _decided(contract, data.period, "sent-back", data.sent_back_at, data.reason)
            return {"reports": decided}
        case events.MilestoneCompleted():
            done = MilestoneDone(milestone_id=data.milestone_id, completed_at=data.completed_at)
            return {"milestones_done": [*contract.milestones_done, done]}
        case events.ContractAmended():
            version = VersionAsOf(
                version=data.version,
                period_end_year=data.period_end_year,
                effective_at=data.amended_at,
                reason=data.reason,
                financing=data.financing,
            )
            return {"versions": [*contract.versions, version]}
        case events.ContractEvaluated():
            evaluation = Evaluation(
                rating=data.rating, comments=data.comments, evaluated_at=data.evaluated_at
            )
            return {"status": "evaluated", "evaluation": evaluation}
        case events.ContractClosed():
            return {"status": "closed", "closed_at": data.closed_at}
        case events.SignatureOverdue():
            return {"signature_overdue_at": data.detected_at}
        case events.MilestoneMissed():
            return {"milestones_missed": [*contract.milestones_missed, data.milestone_id]}
    return {}  # a report overdue: told, but the live view works it out from the clock


def _current(contract: ContractAsOf, **update: object) -> list[VersionAsOf]:
    """The versions, the current one changed."""
    return [*contract.versions[:-1], contract.versions[-1].model_copy(update=update)]


def _decided(
    contract: ContractAsOf,
    period: int,
    status: str,
    decided_at: datetime,
    reason: str | None = None,
) -> list[Report]:
    """The reports, the one of ``period`` validated or sent back."""
    update = {"status": status, "decided_at": decided_at, "reason": reason}
    return [
        report.model_copy(update=update) if report.period == period else report
        for report in contract.reports
    ]


LABEL_OF: dict[type[events.PoleLabelDecision], LabelStatus] = {
    events.PoleLabelled: "labelled",
    events.PoleRenewed: "labelled",
    events.PoleDelabelled: "delabelled",
    events.PoleLabelLapsed: "lapsed",
}
"""The label each pôle event gives."""


def evolve_pole(pole: PoleRecord | None, event: CloudEvent) -> PoleRecord:
    assert pole is not None, "a pôle's record starts from the reference list"
    data = parse_event_data(event)
    assert isinstance(data, events.PoleLabelDecision)
    changed = pole.model_copy(deep=True)
    changed.relabel(LABEL_OF[type(data)], data.effective_at, data.reference)
    return changed


def contract_at(log: Sequence[CloudEvent], at: datetime, contract_id: str) -> ContractAsOf:
    """The contract as it stood at ``at`` (404 before its draft)."""
    return require_state_at(log, evolve_contract, at, f"contract {contract_id}")


def pole_at(log: Sequence[CloudEvent], at: datetime, pole: Pole) -> PoleRecord:
    """The pôle as it stood at ``at`` (404 before the reference list)."""
    if at < REFERENCE_AT:
        raise NotFound(
            f"pôle {pole.id}'s record starts with the reference list of "
            f"{PHASE_1_EVALUATION.isoformat()}: nothing to show at {at.isoformat()}"
        )
    found = state_at(log, evolve_pole, at, start=PoleRecord.from_reference(pole))
    assert found is not None
    return found
