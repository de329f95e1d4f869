"""A transfer's dry run (``POST /transfers/dry-run``): the two lines replayed from their chains,
the transfer decided on them in memory (``services.funding.domain.transfer_trial``), and the
answer a budget officer reads. It only reads: three queries, no save, no event, no idempotency
record.

The replay: each line's versions in order (``Chain.versions``), each with the events it saved
(its commitments made or refused, the transfers it gave, the thresholds it announced) and, for
a version that followed another aggregate's decision (a transfer received, an envelope
amendment, a de-commitment), that decision's event, found by the version's decision id among
the line chain's entries (``Chain.decided``) and the versions of the line's commitments; those
also give the CP paid on the line (``services.funding.domain.money``'s fold).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from services.funding.domain.envelope import Envelope
from services.funding.domain.line import LineState, new_line
from services.funding.domain.money import balance_at, money_movements
from services.funding.domain.transfer_trial import (
    Retried,
    pending_commitments,
    replay,
    try_transfer,
)
from services.funding.journal import Chain, event_data
from services.funding.store import Books
from shared.decision import Answer
from shared.errors import NotFound, answer_of
from shared.events.base import EventData
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentRefused,
    EnvelopeAmended,
    LineLoaded,
    LineTransferred,
)
from shared.store import Document

OWN_DECISIONS = (LineLoaded, CommitmentMade, CommitmentRefused, LineTransferred)
"""Events by which a line's version records a decision taken on the line itself."""


class TransferTrials:
    def __init__(self, books: Books, envelope: Envelope) -> None:
        self.line_chain: Chain = books.lines.chain
        self.commitment_chain: Chain = books.commitments.chain
        self.specs = {spec.id: spec for spec in envelope.leaves}
        self.envelope = envelope

    async def try_transfer(self, transfer: LineTransferred) -> Answer:
        """What ``transfer`` would do, as the real transfer would decide it now."""
        line_ids = (transfer.from_line_id, transfer.to_line_id)
        versions = await self.line_chain.versions(line_ids)
        for line_id in line_ids:
            if not any(entry["aggregate_id"] == line_id for entry in versions):
                raise NotFound(f"no line {line_id}")
        own = [(entry, [event_data(e) for e in entry.get("events", [])]) for entry in versions]
        followed = {
            entry["decision_id"]
            for entry, events in own
            if entry.get("decision_id") and not any(isinstance(e, OWN_DECISIONS) for e in events)
        }
        made = {
            e.commitment_id for _, events in own for e in events if isinstance(e, CommitmentMade)
        }
        others = await self.line_chain.decided(followed)
        commitments = await self.commitment_chain.versions(made) if made else []
        decisions = _decisions([*others, *commitments])
        steps: dict[str, list[list[EventData]]] = defaultdict(list)
        for entry, events in own:
            lead = [_followed(decisions, entry)] if entry.get("decision_id") in followed else []
            steps[entry["aggregate_id"]].append([*lead, *events])
        lines = {line_id: self._replayed(line_id, steps[line_id]) for line_id in line_ids}
        movements = [
            m
            for entry in commitments
            for e in entry.get("events", [])
            for m in money_movements(event_data(e))
        ]
        paid = {
            line_id: balance_at(movements, [line_id], transfer.transferred_at).paid_cents
            for line_id in line_ids
        }
        pending = [
            refused
            for line_id in line_ids
            for refused in pending_commitments(line_id, (e for s in steps[line_id] for e in s))
        ]
        trial = try_transfer(
            lines[transfer.from_line_id],
            lines[transfer.to_line_id],
            transfer,
            pending,
            transfer.transferred_at,
        )
        refusal = None if trial.refusal is None else answer_of(trial.refusal)
        return {
            "outcome": "refused" if refusal else "transferable",
            "refusal": None
            if refusal is None
            else {
                "status": refusal.status_code,
                "reason": refusal.reason,
                "detail": refusal.detail,
            },
            "transfer": transfer.model_dump(
                mode="json", include={"from_line_id", "to_line_id", "amount_cents", "years"}
            ),
            "lines": [
                {
                    "line_id": before.line_id,
                    "side": side,
                    "before": figures(before, paid[before.line_id]),
                    "after": figures(after, paid[before.line_id]),
                    "thresholds_announced": trial.announced(before.line_id),
                }
                for side, (before, after) in (("from", trial.sender), ("to", trial.receiver))
            ],
            "pending_commitments": [_retried(item) for item in trial.retried],
        }

    def _replayed(self, line_id: str, versions: list[list[EventData]]) -> LineState:
        spec = self.specs.get(line_id)
        if spec is None:
            raise NotFound(f"no line {line_id} in the envelope")
        loaded = next(e for e in versions[0] if isinstance(e, LineLoaded))
        initial, _ = new_line(spec, self.envelope, loaded.loaded_at)
        return replay(initial, versions)


def figures(line: LineState, paid_cents: int) -> Answer:
    """A line's money as a budget officer reads it: amount, committed (AE), paid (CP), what is
    left, each year's ceiling and what is left of it, and its thresholds (a threshold is
    reached when the committed share of the amount is at or above it; each is announced once
    in the line's life, ``funding.line.threshold-crossed.v1``)."""
    committed_percent = (
        0.0 if line.amount_cents == 0 else 100 * line.committed_cents / line.amount_cents
    )
    return {
        "amount_cents": line.amount_cents,
        "committed_cents": line.committed_cents,
        "paid_cents": paid_cents,
        "available_cents": line.available_cents,
        "yearly_ceilings": line.yearly_ceilings,
        "by_year": [
            {
                "year": year,
                "ceiling_cents": line.yearly_ceilings.get(str(year)),
                "committed_cents": line.committed_by_year.get(str(year), 0),
                "available_cents": line.available_in(year),
            }
            for year in line.years
        ],
        "committed_percent": round(committed_percent, 2),
        "thresholds": [
            {
                "percent": percent,
                "reached": line.committed_cents > 0
                and line.committed_cents * 100 >= percent * line.amount_cents,
                "announced": percent in line.thresholds_crossed,
            }
            for percent in line.thresholds_percent
        ],
    }


def _decisions(entries: Iterable[Document]) -> dict[str, EventData]:
    """The decisions other aggregates took that a line's version may have followed, by id."""
    found: dict[str, EventData] = {}
    for entry in entries:
        for stored in entry.get("events", []):
            data = event_data(stored)
            match data:
                case LineTransferred():
                    found[data.transfer_id] = data
                case EnvelopeAmended():
                    found[data.amendment_id] = data
                case CommitmentDecommitted():
                    found[data.decommitment_id] = data
    return found


def _followed(decisions: dict[str, EventData], entry: Document) -> EventData:
    found = decisions.get(entry["decision_id"])
    if found is None:
        raise LookupError(f"{entry['_id']} followed {entry['decision_id']}, kept nowhere")
    return found


def _retried(item: Retried) -> Answer:
    refused = item.refused
    return {
        "commitment_id": refused.commitment_id,
        "line_id": refused.line_id,
        "dossier_id": refused.dossier_id,
        "beneficiary": refused.beneficiary.model_dump(mode="json"),
        "years": [y.model_dump(mode="json") for y in refused.years],
        "asked_cents": refused.asked_cents,
        "refused_at": refused.refused_at.isoformat(),
        "refused_for": refused.reason,
        "before": _outcome(item.before),
        "after": _outcome(item.after),
    }


def _outcome(answer: Answer) -> Answer:
    keep = ("outcome", "reason", "available_cents")
    return {key: answer[key] for key in keep if key in answer}
