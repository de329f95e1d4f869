"""A transfer tried before it is made: both lines rebuilt from the events their chains applied,
the transfer decided on them in memory by the functions that decide the real one
(``send_transfer``, ``receive_transfer``), and the commitments the lines have refused and nothing
has committed since decided again, before and after it. Pure: nothing is saved or published.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.funding.domain.line import (
    LineState,
    decide_commitment,
    receive_transfer,
    replayed,
    send_transfer,
)
from shared.decision import Answer
from shared.errors import DomainError
from shared.events.base import EventData
from shared.events.funding import (
    CommitmentMade,
    CommitmentRefused,
    CommitmentTerms,
    LineThresholdCrossed,
    LineTransferred,
)


def replay(initial: LineState, versions: Iterable[Sequence[EventData]]) -> LineState:
    """The line after the events each of its versions applied, in the order of its chain."""
    line = initial
    for events in versions:
        for data in events:
            line = replayed(line, data)
    return line


def pending_commitments(line_id: str, events: Iterable[EventData]) -> list[CommitmentRefused]:
    """The commitments the line refused that nothing committed on it since: neither the same
    commitment nor, for a dossier, another commitment of that dossier; in the order refused."""
    pending: dict[str, CommitmentRefused] = {}
    for data in events:
        if isinstance(data, CommitmentRefused) and data.line_id == line_id:
            pending[data.commitment_id] = data
        elif isinstance(data, CommitmentMade) and data.line_id == line_id:
            pending = {
                key: refused
                for key, refused in pending.items()
                if key != data.commitment_id
                and (refused.dossier_id is None or refused.dossier_id != data.dossier_id)
            }
    return list(pending.values())


@dataclass(frozen=True)
class Retried:
    """A refused commitment decided again on its line: the line's answers without the
    transfer (``before``) and with it (``after``)."""

    refused: CommitmentRefused
    before: Answer
    after: Answer


@dataclass(frozen=True)
class TransferTrial:
    sender: tuple[LineState, LineState]
    """The giving line before and after (the same when the transfer is refused)."""
    receiver: tuple[LineState, LineState]
    refusal: DomainError | None
    events: list[EventData]
    """The events the transfer would publish (none when refused)."""
    retried: list[Retried]

    def announced(self, line_id: str) -> list[int]:
        """The thresholds the transfer would announce crossed on ``line_id``."""
        return [
            data.threshold_percent
            for data in self.events
            if isinstance(data, LineThresholdCrossed) and data.line_id == line_id
        ]


def try_transfer(
    sender: LineState,
    receiver: LineState,
    transfer: LineTransferred,
    pending: Sequence[CommitmentRefused],
    now: datetime,
) -> TransferTrial:
    """Decide ``transfer`` on the two lines as the real command would; then decide the
    ``pending`` commitments again on their line, one after another in the order given (each one
    accepted takes its money before the next), once on the lines as they are and once as the
    transfer would leave them."""
    refusal: DomainError | None = None
    try:
        sent = send_transfer(sender, transfer, bool(receiver.yearly_ceilings))
    except DomainError as error:
        refusal = error
        after = {sender.line_id: sender, receiver.line_id: receiver}
        events: list[EventData] = []
    else:
        received = receive_transfer(receiver, transfer)
        after = {sender.line_id: sent.state, receiver.line_id: received.state}
        events = [*sent.events, *received.events]
    before = {sender.line_id: sender, receiver.line_id: receiver}
    answers_before = _decided_in_turn(before, pending, now)
    answers_after = _decided_in_turn(after, pending, now)
    return TransferTrial(
        sender=(sender, after[sender.line_id]),
        receiver=(receiver, after[receiver.line_id]),
        refusal=refusal,
        events=events,
        retried=[
            Retried(refused, first, then)
            for refused, first, then in zip(pending, answers_before, answers_after, strict=True)
        ],
    )


def _decided_in_turn(
    lines: dict[str, LineState], pending: Sequence[CommitmentRefused], now: datetime
) -> list[Answer]:
    lines = dict(lines)
    answers = []
    for refused in pending:
        terms = CommitmentTerms.model_validate(
            refused.model_dump(include=set(CommitmentTerms.model_fields))
        )
        decision = decide_commitment(lines[refused.line_id], terms, now)
        lines[refused.line_id] = decision.state
        answers.append(decision.answer)
    return answers
