"""A budget line that takes commitments: the one aggregate every decision on its money goes through.

Deciding a commitment, giving money back, sending or receiving a transfer is one new version of
the line, saved with the event saying so (see ``services.funding.journal``). Two writers racing on
the line's last euros both read the same version; only one save wins, the other reads again and
decides again. The functions here decide; remembering which decisions a line has applied (so
that a source event commits once) is the journal's: each version records the decision it made.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.funding.domain.envelope import Envelope, LineSpec
from shared.decision import Answer, Decision
from shared.errors import Conflict, invalid
from shared.events.base import EventData
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentRefused,
    CommitmentTerms,
    EnvelopeAmended,
    LineLoaded,
    LineThresholdCrossed,
    LineTransferred,
    YearAmount,
    total_cents,
)


class LineState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    line_id: str
    parent_line_id: str | None
    envelope_id: str
    title: str
    years: list[int]
    thresholds_percent: list[int]
    initial_amount_cents: int
    amount_cents: int
    yearly_ceilings: dict[str, int] = Field(default_factory=dict, description="year -> cents")
    committed_cents: int = 0
    committed_by_year: dict[str, int] = Field(default_factory=dict)
    thresholds_crossed: list[int] = Field(default_factory=list)

    @property
    def available_cents(self) -> int:
        return self.amount_cents - self.committed_cents

    def available_in(self, year: int) -> int:
        """What the line can still commit for ``year``: a line with yearly ceilings commits
        nothing in a year it has no ceiling for."""
        if not self.yearly_ceilings:
            return self.available_cents
        ceiling = self.yearly_ceilings.get(str(year), 0)
        year_left = ceiling - self.committed_by_year.get(str(year), 0)
        return min(self.available_cents, year_left)


LineDecision = Decision[LineState]
"""A line after a decision, the events it makes and the answer for the caller."""


def new_line(spec: LineSpec, envelope: Envelope, now: datetime) -> tuple[LineState, LineLoaded]:
    state = LineState(
        line_id=spec.id,
        parent_line_id=envelope.parent_of[spec.id],
        envelope_id=envelope.id,
        title=spec.title,
        years=envelope.years,
        thresholds_percent=sorted(envelope.thresholds_percent),
        initial_amount_cents=spec.amount_cents,
        amount_cents=spec.amount_cents,
        yearly_ceilings={str(c.year): c.amount_cents for c in spec.yearly_ceilings},
    )
    loaded = LineLoaded(
        line_id=spec.id,
        parent_line_id=state.parent_line_id,
        envelope_id=envelope.id,
        amount_cents=spec.amount_cents,
        yearly_ceilings=spec.yearly_ceilings,
        loaded_at=now,
    )
    return state, loaded


def decide_commitment(line: LineState, terms: CommitmentTerms, now: datetime) -> LineDecision:
    """Commit ``terms`` if the line (and each year's ceiling) can take them all, else refuse."""
    asked = total_cents(terms.years)
    refusal = _refusal(line, terms)
    if refusal is not None:
        reason, available = refusal
        answer: Answer = {
            "outcome": "refused",
            "commitment_id": terms.commitment_id,
            "line_id": line.line_id,
            "reason": reason,
            "asked_cents": asked,
            "available_cents": available,
        }
        refused = CommitmentRefused(
            **terms.model_dump(),
            asked_cents=asked,
            available_cents=available,
            reason=reason,
            source_event_id=terms.source.event_id,
            refused_at=now,
        )
        return Decision.of(line, [refused], answer)
    answer = {
        "outcome": "committed",
        "commitment_id": terms.commitment_id,
        "line_id": line.line_id,
        "amount_cents": asked,
    }
    committed = _with_commitment(line, terms.years)
    made = CommitmentMade(
        **terms.model_dump(),
        amount_cents=asked,
        committed_at=now,
        line_amount_cents=committed.amount_cents,
        line_committed_cents=committed.committed_cents,
    )
    return _with_thresholds(Decision.of(committed, [made], answer), now)


def _with_commitment(line: LineState, years: list[YearAmount]) -> LineState:
    by_year = dict(line.committed_by_year)
    for item in years:
        by_year[str(item.year)] = by_year.get(str(item.year), 0) + item.amount_cents
    return line.model_copy(
        update={
            "committed_cents": line.committed_cents + total_cents(years),
            "committed_by_year": by_year,
        }
    )


def _refusal(line: LineState, terms: CommitmentTerms) -> tuple[str, int] | None:
    """Why the line cannot take ``terms`` (the reason and what it has available), or None."""
    if any(item.year not in line.years for item in terms.years):
        return "year-outside-envelope", 0
    asked = total_cents(terms.years)
    if asked > line.available_cents:
        return "over-line", line.available_cents
    for item in terms.years:
        if item.amount_cents > line.available_in(item.year):
            return "over-yearly-ceiling", line.available_in(item.year)
    return None


def apply_decommitment(line: LineState, decommitted: CommitmentDecommitted) -> LineDecision:
    """Give back to the line what a commitment no longer needs (decided on the commitment)."""
    year = str(decommitted.year)
    answer: Answer = {"outcome": "decommitted", "amount_cents": decommitted.amount_cents}
    state = line.model_copy(
        update={
            "committed_cents": line.committed_cents - decommitted.amount_cents,
            "committed_by_year": {
                **line.committed_by_year,
                year: line.committed_by_year.get(year, 0) - decommitted.amount_cents,
            },
        }
    )
    return Decision.of(state, [], answer)


def send_transfer(
    line: LineState, transfer: LineTransferred, receiver_has_ceilings: bool = False
) -> LineDecision:
    """The giving side: the line never goes below what it has committed, in total (409
    ``over-line``) nor in a year (409 ``over-yearly-ceiling``: its ceiling for that year would
    fall under that year's commitments). When either line has yearly ceilings the transfer says
    which years' ceilings move (``years``, adding up to the amount, in the line's years): 422
    otherwise. The giving line's ceilings go down by them, the receiving line's go up."""
    moved = {item.year: item.amount_cents for item in transfer.years}
    if (line.yearly_ceilings or receiver_has_ceilings) and not transfer.years:
        raise invalid(["years"], "a transfer to or from a line with yearly ceilings says "
                      "which years' ceilings move with the amount")  # fmt: skip
    if transfer.years and (
        total_cents(transfer.years) != transfer.amount_cents or len(moved) != len(transfer.years)
    ):
        raise invalid(["years"], "each year once, adding up to the amount")
    if any(year not in line.years for year in moved):
        raise invalid(["years"], f"a transfer moves ceilings of the envelope's years {line.years}")
    if transfer.amount_cents > line.available_cents:
        raise Conflict(
            f"line {line.line_id} has {line.available_cents} cents not committed; "
            f"it cannot give {transfer.amount_cents}",
            "over-line",
        )
    if line.yearly_ceilings:
        for year, cents in sorted(moved.items()):
            left = line.yearly_ceilings.get(str(year), 0) - line.committed_by_year.get(str(year), 0)
            if cents > left:
                raise Conflict(
                    f"line {line.line_id} has {left} cents of its {year} ceiling not committed; "
                    f"it cannot give {cents}",
                    "over-yearly-ceiling",
                )
    answer: Answer = {"outcome": "transferred", **transfer.model_dump(mode="json")}
    state = _sent(line, transfer)
    return _with_thresholds(Decision.of(state, [transfer], answer), transfer.transferred_at)


def _sent(line: LineState, transfer: LineTransferred) -> LineState:
    """The giving line after the transfer: its amount down, and its yearly ceilings (if it has
    any) by the years the transfer moved."""
    ceilings = dict(line.yearly_ceilings)
    if ceilings:
        for item in transfer.years:
            ceilings[str(item.year)] = ceilings.get(str(item.year), 0) - item.amount_cents
    return line.model_copy(
        update={
            "amount_cents": line.amount_cents - transfer.amount_cents,
            "yearly_ceilings": ceilings,
        }
    )


def receive_transfer(line: LineState, transfer: LineTransferred) -> LineDecision:
    """The receiving side: its amount goes up, and its yearly ceilings (if it has any) by the
    years the transfer moved."""
    ceilings = dict(line.yearly_ceilings)
    if ceilings:
        for item in transfer.years:
            ceilings[str(item.year)] = ceilings.get(str(item.year), 0) + item.amount_cents
    answer: Answer = {"outcome": "received", "amount_cents": transfer.amount_cents}
    state = line.model_copy(
        update={
            "amount_cents": line.amount_cents + transfer.amount_cents,
            "yearly_ceilings": ceilings,
        }
    )
    return Decision.of(state, [], answer)


def apply_amendment(line: LineState, amended: EnvelopeAmended) -> LineDecision:
    """The line as an envelope amendment leaves it: the envelope's new years, and its amount and
    yearly ceilings if the amendment lists it (``services.funding.domain.envelope.amend`` has
    checked them against the line's commitments)."""
    update: dict[str, object] = {"years": amended.years}
    for left in amended.lines:
        if left.line_id == line.line_id:
            update["amount_cents"] = left.amount_cents
            update["yearly_ceilings"] = {str(c.year): c.amount_cents for c in left.yearly_ceilings}
    answer: Answer = {"outcome": "amended", "amendment_id": amended.amendment_id}
    state = line.model_copy(update=update)
    return _with_thresholds(Decision.of(state, [], answer), amended.amended_at)


def _with_thresholds(change: LineDecision, now: datetime) -> LineDecision:
    """Add one event per threshold newly reached; each threshold is announced once in a life."""
    line = change.state
    reached = [
        percent
        for percent in line.thresholds_percent
        if percent not in line.thresholds_crossed
        and line.committed_cents > 0
        and line.committed_cents * 100 >= percent * line.amount_cents
    ]
    if not reached:
        return change
    events = [
        LineThresholdCrossed(
            line_id=line.line_id,
            threshold_percent=percent,
            amount_cents=line.amount_cents,
            committed_cents=line.committed_cents,
            crossed_at=now,
        )
        for percent in reached
    ]
    state = line.model_copy(update={"thresholds_crossed": [*line.thresholds_crossed, *reached]})
    return Decision.of(state, [*change.events, *events], change.answer)


def replayed(line: LineState, data: EventData) -> LineState:
    """The line after one event its chain applied: one of its own (a commitment made, a
    transfer given, a threshold announced; a refusal changes nothing), or the decision of
    another aggregate one of its versions followed (a transfer received, a de-commitment, an
    envelope amendment). Folded over its versions in order from ``new_line``, it gives the line
    as its newest version holds it, by the same functions that decided it."""
    match data:
        case CommitmentMade() if data.line_id == line.line_id:
            return _with_commitment(line, data.years)
        case LineTransferred() if data.from_line_id == line.line_id:
            return _sent(line, data)
        case LineTransferred() if data.to_line_id == line.line_id:
            return receive_transfer(line, data).state
        case CommitmentDecommitted() if data.line_id == line.line_id:
            return apply_decommitment(line, data).state
        case EnvelopeAmended():
            return apply_amendment(line, data).state
        case LineThresholdCrossed() if data.line_id == line.line_id:
            if data.threshold_percent in line.thresholds_crossed:
                return line
            crossed = [*line.thresholds_crossed, data.threshold_percent]
            return line.model_copy(update={"thresholds_crossed": crossed})
        case _:
            return line
