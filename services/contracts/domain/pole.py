"""A pôle's label over time, and whether it may receive a contract.

At startup the reference list gives the 2008 situation: the 58 pôles confirmed for 2009-2011 may
have a contract; the 13 group-3 pôles keep the label until end-2009 but get no contract
(``reconfiguring``); the six ecotech pôles are ``candidate``s. On 1 January 2010 00:00 (Paris)
the label of each group-3 pôle still ``reconfiguring`` lapses (``lapsed``: a clock event,
``PoleLabelLapsed``, raised once by the pôle clock). The State then records the label decisions
of 11 May 2010 (labelled, renewed, delabelled); each takes effect at the start of its day
(Europe/Paris) and is published on ``contracts.pole``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.contracts.domain.calendar import day_start, year_start
from shared.decision import Decision
from shared.errors import Conflict
from shared.events.contracts import PoleDelabelled, PoleLabelLapsed, PoleLabelled, PoleRenewed
from shared.reference.poles import GROUP_3_2008, Pole

LabelStatus = Literal["labelled", "reconfiguring", "lapsed", "candidate", "delabelled"]
LabelDecision = Literal["labelled", "renewed", "delabelled"]

PHASE_1_EVALUATION = date(2008, 6, 18)
GROUP_3_LABEL_UNTIL = year_start(2010)


class LabelChange(BaseModel):
    status: LabelStatus
    effective_at: datetime
    reference: str


class PoleRecord(BaseModel):
    pole_id: str
    name: str
    region_codes: list[str]
    theme: str
    category: str
    ecotech: bool
    status: LabelStatus
    contracts_from: datetime | None = Field(description="when it may first receive a contract")
    label_until: datetime | None = None
    history: list[LabelChange]

    @classmethod
    def from_reference(cls, pole: Pole) -> PoleRecord:
        labelled = LabelChange(
            status="labelled",
            effective_at=year_start(pole.labelled_year),
            reference=f"labelled in {pole.labelled_year}",
        )
        facts = {
            "pole_id": pole.id,
            "name": pole.name,
            "region_codes": list(pole.region_codes),
            "theme": pole.theme,
            "category": pole.category,
            "ecotech": pole.ecotech,
        }
        if pole.ecotech:
            return cls(
                **facts,
                status="candidate",
                contracts_from=None,
                history=[
                    LabelChange(
                        status="candidate",
                        effective_at=year_start(2009),
                        reference="applicant to the 2009 eco-technology call",
                    )
                ],
            )
        if pole.id in GROUP_3_2008:
            return cls(
                **facts,
                status="reconfiguring",
                contracts_from=None,
                label_until=GROUP_3_LABEL_UNTIL,
                history=[
                    labelled,
                    LabelChange(
                        status="reconfiguring",
                        effective_at=day_start(PHASE_1_EVALUATION),
                        reference="phase 1 evaluation: label kept only until end-2009",
                    ),
                ],
            )
        return cls(
            **facts, status="labelled", contracts_from=labelled.effective_at, history=[labelled]
        )

    def may_contract_at(self, now: datetime) -> bool:
        return (
            self.contracts_from is not None
            and self.contracts_from <= now
            and (self.label_until is None or now < self.label_until)
        )

    def require_contract_allowed(self, now: datetime) -> None:
        if not self.may_contract_at(now):
            when = f" (from {self.contracts_from.isoformat()})" if self.contracts_from else ""
            raise Conflict(
                f"{self.pole_id} may not receive a contract now: its label is {self.status}{when}"
            )

    def decide(
        self, decision: LabelDecision, decided_on: date, reference: str
    ) -> Decision[PoleRecord]:
        """The pôle's new label, the event that tells it, and the command's answer."""
        allowed_from: dict[LabelDecision, tuple[LabelStatus, ...]] = {
            "labelled": ("candidate",),
            "renewed": ("reconfiguring", "lapsed"),
            "delabelled": ("labelled", "reconfiguring", "lapsed"),
        }
        if self.status not in allowed_from[decision]:
            raise Conflict(f"{self.pole_id} is {self.status}: it cannot be {decision}")
        effective_at = day_start(decided_on)
        self.relabel(
            "delabelled" if decision == "delabelled" else "labelled", effective_at, reference
        )
        event = {"labelled": PoleLabelled, "renewed": PoleRenewed, "delabelled": PoleDelabelled}
        told = event[decision](**self._facts(decided_on, effective_at, reference))
        answer = {"pole_id": self.pole_id, "status": self.status, "events": [told.type_name]}
        return Decision.of(self, [told], answer)

    def lapse_due(self, now: datetime) -> bool:
        return (
            self.status == "reconfiguring"
            and self.label_until is not None
            and now >= self.label_until
        )

    def lapse(self, now: datetime) -> Decision[PoleRecord] | None:
        """A group-3 pôle not renewed by the end of its label: ``lapsed`` from ``label_until``
        (1 January 2010 00:00, Paris), told once by ``PoleLabelLapsed``; None when not due (or
        already told: the status changes in the same save)."""
        if not self.lapse_due(now):
            return None
        assert self.label_until is not None
        effective_at = self.label_until
        reference = "label kept until end-2009 by the phase 1 evaluation; not renewed by then"
        self.relabel("lapsed", effective_at, reference)
        told = PoleLabelLapsed(**self._facts(PHASE_1_EVALUATION, effective_at, reference))
        return Decision.of(self, [told])

    def relabel(self, status: LabelStatus, effective_at: datetime, reference: str) -> None:
        """The label from ``effective_at`` on, and a line of its history: a pôle labelled (or
        renewed) may receive a contract from then on, a delabelled one no more; a lapsed label
        changes neither date. The decisions above and the as-of fold of their events
        (``services.contracts.asof``) both move the label here."""
        if status == "labelled":
            self.contracts_from, self.label_until = effective_at, None
        elif status == "delabelled":
            self.contracts_from, self.label_until = None, effective_at
        self.status = status
        self.history.append(
            LabelChange(status=status, effective_at=effective_at, reference=reference)
        )

    def _facts(self, decided_on: date, effective_at: datetime, reference: str) -> dict[str, Any]:
        return {
            "pole_id": self.pole_id,
            "pole_name": self.name,
            "region_codes": self.region_codes,
            "decided_on": decided_on,
            "effective_at": effective_at,
            "reference": reference,
        }
