"""The envelope and its lines, read from a declarative file, so that another programme (or the
2012 extension) is data rather than code.

The file is checked when it is read: sub-lines add up to their line, lines to the envelope, yearly
ceilings name the envelope's years, every line id is unique. A file that breaks one of these rules
stops the service from starting.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.events.funding import YearAmount, total_cents

LINE_ID = r"^[a-z0-9-]+(\.[a-z0-9-]+)?$"
DEFAULT_ENVELOPE = Path(__file__).resolve().parent.parent / "envelopes" / "phase2-2009-2011.json"


class InvalidEnvelope(ValueError):
    """The envelope file breaks one of its rules."""


class LineSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=LINE_ID)
    title: str
    amount_cents: int = Field(ge=0)
    yearly_ceilings: list[YearAmount] = Field(default_factory=list)
    sub_lines: list[LineSpec] = Field(default_factory=list)


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    years: list[int] = Field(min_length=1)
    amount_cents: int = Field(ge=0)
    thresholds_percent: list[int] = Field(min_length=1)
    lines: list[LineSpec] = Field(min_length=1)
    selected_dossier_lines: dict[str, str] = Field(
        default_factory=dict, description="call kind -> the line a selected dossier commits on"
    )
    contract_state_financing_line: str

    @model_validator(mode="after")
    def check(self) -> Envelope:
        problems = self._problems()
        if problems:
            raise InvalidEnvelope(f"envelope {self.id}: " + "; ".join(problems))
        return self

    def _problems(self) -> list[str]:
        problems = []
        if sum(line.amount_cents for line in self.lines) != self.amount_cents:
            problems.append("the lines do not add up to the envelope")
        for line in self.lines:
            if line.sub_lines and sum(s.amount_cents for s in line.sub_lines) != line.amount_cents:
                problems.append(f"the sub-lines of {line.id} do not add up to it")
            if any(sub.sub_lines for sub in line.sub_lines):
                problems.append(f"{line.id}: sub-lines have no sub-lines of their own")
            if any(not sub.id.startswith(f"{line.id}.") for sub in line.sub_lines):
                problems.append(f"the sub-lines of {line.id} are named {line.id}.<name>")
        ids = [spec.id for spec in self.all_specs()]
        if len(set(ids)) != len(ids):
            problems.append("two lines share an id")
        for spec in self.leaves:
            if any(c.year not in self.years for c in spec.yearly_ceilings):
                problems.append(f"{spec.id}: a yearly ceiling names a year outside the envelope")
            if total_cents(spec.yearly_ceilings) and total_cents(spec.yearly_ceilings) < (
                spec.amount_cents
            ):
                problems.append(f"{spec.id}: its yearly ceilings cannot hold its amount")
        targets = [*self.selected_dossier_lines.values(), self.contract_state_financing_line]
        leaf_ids = {spec.id for spec in self.leaves}
        problems.extend(
            f"{t} is not a line commitments go to" for t in targets if t not in leaf_ids
        )
        if any(not 0 < p <= 100 for p in self.thresholds_percent):
            problems.append("thresholds are percentages between 1 and 100")
        return problems

    def all_specs(self) -> list[LineSpec]:
        return [spec for line in self.lines for spec in (line, *line.sub_lines)]

    @property
    def leaves(self) -> list[LineSpec]:
        """The lines that take commitments: a line without sub-lines, or a sub-line."""
        return [sub for line in self.lines for sub in (line.sub_lines or [line])]

    @cached_property
    def parent_of(self) -> dict[str, str | None]:
        parents: dict[str, str | None] = {}
        for line in self.lines:
            parents[line.id] = None
            for sub in line.sub_lines:
                parents[sub.id] = line.id
        return parents

    def leaf_ids_under(self, line_id: str) -> list[str]:
        """The leaves a line is made of (itself if it is a leaf); empty if the id is unknown."""
        for line in self.lines:
            if line.id == line_id:
                return [sub.id for sub in line.sub_lines] or [line.id]
            if any(sub.id == line_id for sub in line.sub_lines):
                return [line_id]
        return []


def load_envelope(path: Path) -> Envelope:
    """Read and check an envelope file; raises InvalidEnvelope (or pydantic's error) if wrong."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InvalidEnvelope(f"cannot read the envelope file {path}: {error}") from error
    try:
        return Envelope.model_validate(raw)
    except ValidationError as error:
        raise InvalidEnvelope(f"the envelope file {path} is not valid: {error}") from error
