"""Decisions on money: commit, pay, de-commit, transfer; and what each implies for a second
document, completed once.

Each decision is one new version of one aggregate (the line for a commitment or a transfer, the
commitment for a payment or a de-commitment), saved with the events saying so; of two writers
that read the same version only one saves (``services.funding.journal``), the other decides again.

What a decision implies for another document is saved with it, as the entry's ``pending`` events,
and completed right after the save by idempotent steps (``follow_up``): the commitment document is
built (an insert with the commitment's id), the line gets a de-commitment back and the receiving
line a transfer (decisions on those lines with the de-commitment's or the transfer's id, which
their journal applies once), the commitments' query view is refreshed. Should the process die
between the two saves, ``sweep`` (at startup and periodically) completes what was left pending;
a repeat of the command completes it too. The service never reads its own topics back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta

from services.funding.domain import commitment as commitment_rules
from services.funding.domain import envelope as envelope_rules
from services.funding.domain import line as line_rules
from services.funding.domain.commitment import CommitmentState, Decommitment, Payment
from services.funding.domain.envelope import Amendment, Envelope, EnvelopeState, InvalidEnvelope
from services.funding.domain.line import LineState
from services.funding.journal import Chain, Journal, ModelT
from services.funding.metrics import BudgetMetrics
from services.funding.store import Books
from shared.decision import Answer, Decision
from shared.errors import Conflict, DomainError
from shared.events.base import EventData
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    CommitmentTerms,
    EnvelopeAmended,
    LineTransferred,
    PaymentRecorded,
)
from shared.repository import Decide

log = logging.getLogger(__name__)

CommitmentShown = Callable[[str], Awaitable[None]]
"""Told a commitment's id after it changed (the query view copies its newest version)."""


class Budget:
    def __init__(self, books: Books, metrics: BudgetMetrics, show: CommitmentShown) -> None:
        self.lines = books.lines
        self.envelopes = books.envelopes
        self.commitments = books.commitments
        self.metrics = metrics
        self.show = show

    async def commit(self, terms: CommitmentTerms) -> Answer:
        """Commit on the line, or refuse; the same terms decided again give the same answer."""
        decided = await self._decide(
            self.lines,
            terms.line_id,
            terms.commitment_id,
            lambda line, now: line_rules.decide_commitment(line, terms, now),
        )
        if decided.answer["outcome"] == "refused" and decided.events:
            self.metrics.refused.labels(terms.line_id).inc()
        return decided.answer

    async def commitment(self, commitment_id: str) -> CommitmentState | None:
        return await self.commitments.get(commitment_id)

    async def pay(
        self, commitment_id: str, payment: Payment, lines: Collection[str] | None = None
    ) -> Answer:
        """Pay on a commitment of one of ``lines`` (None: any line; 403 otherwise)."""
        return await self._change(commitment_id, payment.payment_id, payment, lines)

    async def decommit(
        self, commitment_id: str, request: Decommitment, lines: Collection[str] | None = None
    ) -> Answer:
        return await self._change(commitment_id, request.decommitment_id, request, lines)

    async def _change(
        self,
        commitment_id: str,
        change_id: str,
        request: Payment | Decommitment,
        lines: Collection[str] | None,
    ) -> Answer:
        """A payment or a de-commitment, decided on the commitment once (by its id)."""

        def decide(commitment: CommitmentState, now: datetime) -> Decision[CommitmentState]:
            commitment_rules.ensure_on(commitment, lines)
            if isinstance(request, Payment):
                return commitment_rules.record_payment(commitment, request, now)
            return commitment_rules.decommit(commitment, request, now)

        decided = await self._decide(self.commitments, commitment_id, change_id, decide)
        return decided.answer

    async def transfer(self, transfer: LineTransferred) -> Answer:
        """Take from the giving line (guarded: never below what it committed); the receiving
        line is credited by the decision's follow-up, its yearly ceilings with it."""
        receiver = await self.lines.require(transfer.to_line_id)
        has_ceilings = bool(receiver.state.yearly_ceilings)
        sent = await self._decide(
            self.lines,
            transfer.from_line_id,
            transfer.transfer_id,
            lambda line, _: line_rules.send_transfer(line, transfer, has_ceilings),
        )
        return sent.answer

    # the envelope

    async def envelope(self, envelope_id: str) -> EnvelopeState | None:
        return await self.envelopes.get(f"envelope:{envelope_id}")

    async def amend(self, envelope_id: str, amendment: Amendment) -> Answer:
        """Decide an amendment on the envelope, once by its id (the same amendment again gives
        the first answer; another one under a used id is a 409); every line is then amended
        by the decision's follow-up."""
        key = f"envelope:{envelope_id}"
        envelope = (await self.envelopes.require(key)).state
        if envelope.amendment(amendment.amendment_id) is not None and not applied_as_written(
            envelope, amendment
        ):
            raise Conflict(
                f"amendment {amendment.amendment_id} was applied with other terms",
                "duplicate-amendment",
            )
        lines = {}
        for line in envelope.base.lines:
            lines[line.line_id] = (await self.lines.require(line.line_id)).state
        decided = await self._decide(
            self.envelopes,
            key,
            amendment.amendment_id,
            lambda state, now: envelope_rules.amend(state, lines, amendment, now),
        )
        return decided.answer

    async def open_envelope(self, envelope: Envelope) -> None:
        """At startup: stop (``InvalidEnvelope``) if the file's base is not the one the service
        loaded first; load the lines the store lacks and the envelope's own document; apply each
        amendment of the file not applied yet, as an event (a refused one stops the service)."""
        key = envelope.aggregate_id
        loaded = await self.envelopes.get(key)
        changes = (
            [] if loaded is None else envelope_rules.base_changes(loaded.base, envelope.base())
        )
        await self.lines.chain.learn_newest([spec.id for spec in envelope.leaves])
        # Read together (a restart on a busy store waited for each read in turn), and only what
        # is missing is written: a restart finds everything there and writes nothing.
        stored = await asyncio.gather(*(self.lines.get(spec.id) for spec in envelope.leaves))
        for spec, line in zip(envelope.leaves, stored, strict=True):
            # also lines loaded before the envelope had its document
            if line is not None and line.initial_amount_cents != spec.amount_cents:
                changes.append(f"line {spec.id} was loaded with {line.initial_amount_cents}")
        if changes:
            raise InvalidEnvelope(
                f"the envelope file of {envelope.id} changes the envelope the service loaded "
                f"({'; '.join(changes)}); leave its base as it was and write the change as an "
                "amendment (the file's 'amendments', or POST /envelope/amendments)"
            )
        if None in stored:
            await load_lines(self.lines, envelope)
        if loaded is None:
            await self.envelopes.start(key, envelope_rules.new_envelope(envelope))
        for amendment in envelope.amendments:
            if loaded is not None and applied_as_written(loaded, amendment):
                continue  # its lines' part, if a crash left it, is the follow-ups sweep's
            try:
                answer = await self.amend(envelope.id, amendment)
            except DomainError as error:
                raise InvalidEnvelope(
                    f"the envelope file's amendment {amendment.amendment_id} cannot be applied: "
                    f"{error}"
                ) from error
            if loaded is None or loaded.amendment(amendment.amendment_id) is None:
                log.warning("envelope %s: amendment applied: %s", envelope.id, answer)

    # follow-ups

    async def follow_up(self, data: EventData) -> None:
        """Complete, once, what a saved event implies for another document."""
        match data:
            case CommitmentMade() as made:
                await self.commitments.start(
                    made.commitment_id, commitment_rules.commitment_from(made)
                )
                await self.show(made.commitment_id)
            case LineTransferred() as transfer:
                await self._decide(
                    self.lines,
                    transfer.to_line_id,
                    transfer.transfer_id,
                    lambda line, _: line_rules.receive_transfer(line, transfer),
                )
            case CommitmentDecommitted() as decommitted:
                await self._decide(
                    self.lines,
                    decommitted.line_id,
                    decommitted.decommitment_id,
                    lambda line, _: line_rules.apply_decommitment(line, decommitted),
                )
                await self.show(decommitted.commitment_id)
            case PaymentRecorded() as paid:
                await self.show(paid.commitment_id)
            case EnvelopeAmended() as amended:
                for left in amended.lines:
                    await self._decide(
                        self.lines,
                        left.line_id,
                        amended.amendment_id,
                        lambda line, _: line_rules.apply_amendment(line, amended),
                    )

    async def sweep(self, grace: timedelta = timedelta(0)) -> int:
        """Complete the follow-ups left pending (by a crash) in entries saved ``grace`` ago or
        earlier; how many entries it completed."""
        saved_before = datetime.now(UTC) - grace
        completed = 0
        for chain in (self.lines.chain, self.commitments.chain):  # the envelope shares the lines'
            for entry_id in await chain.unfinished(saved_before):
                await self._finish(chain, entry_id)
                completed += 1
        if completed:
            log.warning("completed the follow-ups of %d decisions left pending", completed)
        return completed

    async def _decide(
        self, journal: Journal[ModelT], aggregate_id: str, decision_id: str, decide: Decide[ModelT]
    ) -> Decision[ModelT]:
        decided = await journal.decide_once(aggregate_id, decision_id, decide)
        if decided.unfinished is not None:
            await self._finish(journal.chain, decided.unfinished)
        return decided.decision

    async def _finish(self, chain: Chain, entry_id: str) -> None:
        for data in await chain.pending_events(entry_id):
            await self.follow_up(data)
        await chain.done(entry_id)


def applied_as_written(envelope: EnvelopeState, amendment: Amendment) -> bool:
    """Whether the envelope has this amendment, with these terms."""
    earlier = envelope.amendment(amendment.amendment_id)
    return earlier is not None and earlier.model_dump(exclude={"amended_at"}) == (
        amendment.model_dump()
    )


async def load_lines(lines: Journal[LineState], envelope: Envelope) -> None:
    """Create the line documents the envelope names and the store lacks (idempotent)."""
    now = lines.repository.clock.now()
    for spec in envelope.leaves:
        state, loaded = line_rules.new_line(spec, envelope, now)
        if await lines.start(spec.id, state, [loaded]):
            log.info("line %s loaded with %d cents", spec.id, spec.amount_cents)
