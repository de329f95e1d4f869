"""Which pôles may lead or join a dossier: the pôles labelled at the instant of the submission,
as the label decisions published by contracts (``contracts.pole``) say.

Calls keeps its own view of each pôle's label (``PoleLabel``: the changes with their effective
instants), starting from the reference list's 2008 situation: the pôles labelled before 2009
are labelled (the group-3 pôles too, until their label lapses), the six ecotech pôles are not.
Each decision of contracts then adds one change: labelled or renewed (labelled from its
effective instant), delabelled or lapsed (not labelled from it). Changes are ordered by their
effective instants, so the order in which the events arrive does not matter.

The domain stays pure: the handlers load a ``PoleLabels`` snapshot of the pôles a command names
(``services.calls.labels``) and pass it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from shared.clock import PARIS
from shared.decision import Decision
from shared.events.contracts import (
    PoleDelabelled,
    PoleLabelDecision,
    PoleLabelLapsed,
    PoleLabelled,
    PoleRenewed,
)
from shared.reference.poles import Pole, poles_by_id

LABEL_GIVEN: tuple[type[PoleLabelDecision], ...] = (PoleLabelled, PoleRenewed)
LABEL_TAKEN: tuple[type[PoleLabelDecision], ...] = (PoleDelabelled, PoleLabelLapsed)
FIRST_PHASE_2_YEAR = 2009


class LabelChange(BaseModel):
    labelled: bool
    effective_at: datetime
    because: str = ""
    """the event type (or the reference list) that made the change"""


class PoleLabel(BaseModel):
    """Calls' view of one pôle's label: its changes, in the order of their effective instants."""

    pole_id: str
    changes: list[LabelChange] = []

    @classmethod
    def initial(cls, pole_id: str) -> PoleLabel:
        """The reference list's 2008 situation (no change at all for an unknown pôle)."""
        pole = poles_by_id().get(pole_id)
        if pole is None or pole.ecotech or pole.labelled_year >= FIRST_PHASE_2_YEAR:
            return cls(pole_id=pole_id)
        since = datetime(pole.labelled_year, 1, 1, tzinfo=PARIS)
        change = LabelChange(labelled=True, effective_at=since, because="reference list")
        return cls(pole_id=pole_id, changes=[change])

    def labelled_at(self, instant: datetime) -> bool:
        """The last change in effect at ``instant`` says; no change in effect: not labelled."""
        in_effect = [c for c in self.changes if c.effective_at <= instant]
        return bool(in_effect) and in_effect[-1].labelled


def follow(label: PoleLabel, decision: PoleLabelDecision) -> Decision[PoleLabel]:
    """The view with one more label decision of contracts (no event: calls only listens)."""
    if not isinstance(decision, LABEL_GIVEN + LABEL_TAKEN):
        raise ValueError(f"not a label decision: {decision.type_name}")
    change = LabelChange(
        labelled=isinstance(decision, LABEL_GIVEN),
        effective_at=decision.effective_at,
        because=decision.type_name,
    )
    changes = sorted([*label.changes, change], key=lambda c: c.effective_at)
    return Decision.of(label.model_copy(update={"changes": changes}))


@dataclass(frozen=True)
class PoleLabels:
    """A snapshot of calls' view of some pôles' labels; a pôle it does not hold is in its 2008
    situation."""

    known: Mapping[str, PoleLabel] = field(default_factory=dict)

    def label(self, pole_id: str) -> PoleLabel:
        return self.known.get(pole_id) or PoleLabel.initial(pole_id)

    def labelled_pole(self, pole_id: str, instant: datetime) -> Pole | None:
        """The pôle if it holds the label at ``instant``, else None (unknown pôles too)."""
        pole = poles_by_id().get(pole_id)
        if pole is None or not self.label(pole_id).labelled_at(instant):
            return None
        return pole


def region_codes_of(poles: list[Pole]) -> list[str]:
    """The regions of the pôles, each once, in the order met (the lead pôle's seat first)."""
    codes: list[str] = []
    for pole in poles:
        codes.extend(code for code in pole.region_codes if code not in codes)
    return codes
