"""The envelope and its lines, read from a declarative file, so that another programme (or the
2012 extension) is data rather than code.

The file is checked when it is read: sub-lines add up to their line, lines to the envelope, yearly
ceilings name the envelope's years, every line id is unique. A file that breaks one of these rules
stops the service from starting.

The file's BASE (years, amount, lines) is what the service loaded first and never changes: a
later version of the envelope is an amendment (dated, with its decision), written in the file's
``amendments`` or posted to ``/envelope/amendments``, and applied as an event
(``funding.line.envelope-amended.v1``) that extends the lines' years and yearly ceilings and may
change their amounts. ``EnvelopeState`` is the envelope as its amendments left it; ``amend``
decides an amendment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

from shared.decision import Decision
from shared.errors import Conflict, Invalid, Problem, invalid
from shared.events.funding import EnvelopeAmended, LineAmendment, YearAmount, total_cents

if TYPE_CHECKING:
    from services.funding.domain.line import LineState

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


class LineChange(BaseModel):
    """What an amendment changes on one line (a line that takes commitments): its amount, its
    yearly ceilings (the whole new list), or both; what it leaves out stays as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: str = Field(pattern=LINE_ID)
    amount_cents: int | None = Field(default=None, ge=0, le=10**15)
    yearly_ceilings: list[YearAmount] | None = Field(default=None, max_length=20)


class Amendment(BaseModel):
    """A dated decision that changes the envelope: its years, and the lines it names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amendment_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
    decided_on: date
    reference: str = Field(min_length=1, max_length=300, description="the decision")
    years: list[int] = Field(min_length=1, max_length=20)
    lines: list[LineChange] = Field(default_factory=list, max_length=100)

    @field_serializer("decided_on")
    def iso_date(self, decided_on: date) -> str:
        """Dumped as an ISO date (BSON holds instants, not dates)."""
        return decided_on.isoformat()


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
    agency_lines: dict[str, str] = Field(
        default_factory=dict, description="agency (anr, oseo) -> the line its own system commits"
    )
    amendments: list[Amendment] = Field(
        default_factory=list, description="applied in this order at startup, each once"
    )

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
        targets = [
            *self.selected_dossier_lines.values(),
            self.contract_state_financing_line,
            *self.agency_lines.values(),
        ]
        leaf_ids = {spec.id for spec in self.leaves}
        problems.extend(
            f"{t} is not a line commitments go to" for t in targets if t not in leaf_ids
        )
        if any(not 0 < p <= 100 for p in self.thresholds_percent):
            problems.append("thresholds are percentages between 1 and 100")
        amendment_ids = [amendment.amendment_id for amendment in self.amendments]
        if len(set(amendment_ids)) != len(amendment_ids):
            problems.append("two amendments share an id")
        return problems

    @property
    def aggregate_id(self) -> str:
        """The id of the envelope's own document (beside its lines, never a line's id)."""
        return f"envelope:{self.id}"

    def base(self) -> EnvelopeBase:
        return EnvelopeBase(
            years=self.years,
            amount_cents=self.amount_cents,
            lines=[
                LineAmendment(
                    line_id=spec.id,
                    amount_cents=spec.amount_cents,
                    yearly_ceilings=spec.yearly_ceilings,
                )
                for spec in self.leaves
            ],
        )

    def state_lines(self) -> frozenset[str]:
        """The lines the State commits and pays on: every line but the agencies'."""
        return frozenset(spec.id for spec in self.leaves) - set(self.agency_lines.values())

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


class EnvelopeBase(BaseModel):
    """The envelope as its file first gave it: years, amount, each line's amount and ceilings."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    years: list[int]
    amount_cents: int
    lines: list[LineAmendment]


class AppliedAmendment(Amendment):
    model_config = ConfigDict(frozen=True, extra="ignore")

    amended_at: datetime


class EnvelopeState(BaseModel):
    """The envelope's current version: its base, its years and amount, its amendments."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    envelope_id: str
    title: str
    base: EnvelopeBase
    years: list[int]
    amount_cents: int
    amendments: list[AppliedAmendment] = Field(default_factory=list)

    def amendment(self, amendment_id: str) -> AppliedAmendment | None:
        return next((a for a in self.amendments if a.amendment_id == amendment_id), None)


def new_envelope(envelope: Envelope) -> EnvelopeState:
    return EnvelopeState(
        envelope_id=envelope.id,
        title=envelope.title,
        base=envelope.base(),
        years=envelope.years,
        amount_cents=envelope.amount_cents,
    )


def base_changes(loaded: EnvelopeBase, file: EnvelopeBase) -> list[str]:
    """How the file's base differs from the base the service loaded first (empty if it does
    not): the service refuses to start on such a file, the change must be an amendment."""
    changes = []
    if loaded.years != file.years:
        changes.append(f"years {loaded.years} became {file.years}")
    if loaded.amount_cents != file.amount_cents:
        changes.append(f"amount {loaded.amount_cents} became {file.amount_cents}")
    before = {line.line_id: line for line in loaded.lines}
    after = {line.line_id: line for line in file.lines}
    for line_id in sorted(before.keys() | after.keys()):
        if before.get(line_id) != after.get(line_id):
            changes.append(f"line {line_id} changed")
    return changes


def amend(
    envelope: EnvelopeState,
    lines: Mapping[str, LineState],
    amendment: Amendment,
    now: datetime,
) -> Decision[EnvelopeState]:
    """Decide an amendment against the lines as they are: 422 if it is malformed (years twice or
    unsorted, a line that takes no commitments or named twice, a ceiling outside the years,
    ceilings that cannot hold the amount), 409 if it takes a line below what it has committed,
    in total or in a year (a year it drops, or a yearly ceiling under that year's commitments).
    The event lists every line as the amendment leaves it (all take the new years)."""
    _check_shape(amendment, lines)
    changes = {change.line_id: change for change in amendment.lines}
    left: list[LineAmendment] = []
    for line_id, line in lines.items():
        change = changes.get(line_id)
        amount = line.amount_cents
        ceilings = [
            YearAmount(year=int(y), amount_cents=c) for y, c in line.yearly_ceilings.items()
        ]
        if change is not None:
            amount = amount if change.amount_cents is None else change.amount_cents
            ceilings = ceilings if change.yearly_ceilings is None else change.yearly_ceilings
        _check_line(line, amount, ceilings, amendment.years)
        left.append(LineAmendment(line_id=line_id, amount_cents=amount, yearly_ceilings=ceilings))
    total = sum(line.amount_cents for line in left)
    amended = EnvelopeAmended(
        envelope_id=envelope.envelope_id,
        amendment_id=amendment.amendment_id,
        decided_on=amendment.decided_on,
        reference=amendment.reference,
        years=amendment.years,
        amount_cents=total,
        lines=left,
        amended_at=now,
    )
    state = envelope.model_copy(
        update={
            "years": amendment.years,
            "amount_cents": total,
            "amendments": [
                *envelope.amendments,
                AppliedAmendment(**amendment.model_dump(), amended_at=now),
            ],
        }
    )
    answer = {
        "outcome": "amended",
        "amendment_id": amendment.amendment_id,
        "years": amendment.years,
        "amount_cents": total,
    }
    return Decision.of(state, [amended], answer)


def _check_shape(amendment: Amendment, lines: Mapping[str, LineState]) -> None:
    problems: list[Problem] = []
    if amendment.years != sorted(set(amendment.years)):
        problems.append(Problem(("years",), "years are sorted and each appears once"))
    seen: set[str] = set()
    for index, change in enumerate(amendment.lines):
        where = ("lines", index, "line_id")
        if change.line_id not in lines:
            known = ", ".join(sorted(lines))
            problems.append(Problem(where, f"{change.line_id!r} is not a line that takes "
                                    f"commitments ({known})"))  # fmt: skip
        if change.line_id in seen:
            problems.append(Problem(where, "a line is named once"))
        seen.add(change.line_id)
        ceilings = change.yearly_ceilings or []
        if len({c.year for c in ceilings}) != len(ceilings):
            problems.append(Problem(("lines", index, "yearly_ceilings"), "each year once"))
    if problems:
        raise Invalid(problems)


def _check_line(line: LineState, amount: int, ceilings: list[YearAmount], years: list[int]) -> None:
    if any(c.year not in years for c in ceilings):
        raise invalid(["lines"], f"{line.line_id}: a yearly ceiling names a year outside {years}")
    if ceilings and total_cents(ceilings) < amount:
        raise invalid(["lines"], f"{line.line_id}: its yearly ceilings cannot hold its amount "
                      f"({total_cents(ceilings)} < {amount})")  # fmt: skip
    if amount < line.committed_cents:
        raise Conflict(
            f"line {line.line_id} has committed {line.committed_cents} cents; the amendment "
            f"cannot take it to {amount}",
            "below-committed",
        )
    by_year = {c.year: c.amount_cents for c in ceilings}
    for year, committed in sorted(line.committed_by_year.items()):
        if committed <= 0:
            continue
        if int(year) not in years:
            raise Conflict(
                f"line {line.line_id} has committed {committed} cents in {year}; the amendment "
                "cannot drop that year",
                "below-committed",
            )
        if ceilings and by_year.get(int(year), 0) < committed:
            raise Conflict(
                f"line {line.line_id} has committed {committed} cents in {year}; the amendment "
                f"cannot set that year's ceiling to {by_year.get(int(year), 0)}",
                "below-committed",
            )
