"""The funding service's documents.

- ``line_journal``: the versions of each budget line (``services.funding.journal``), each with
  the decision it applied and its events;
- ``commitment_journal``: the versions of each commitment (payments, de-commitments);
- ``commitments``: the newest version of each commitment, for queries (kept up to date by the
  follow-ups of each commitment's save);
- ``ledgers``: other financers' ledger entries (commitments and their payments), _id from
  (financer, source) (``services.funding.domain.ledger``; older promises read as entries);
- ``financing_journal``: the versions of each dossier's co-financing, ``financings`` the newest
  version of each, for queries (``services.funding.handlers.financing``).

Every event is wrapped for the outbox by the kernel's ``Repository`` (source ``/poles/funding``),
keyed so that one commitment's (or line's, or financer's) events share a partition and stay in
order. Movements of money are not stored apart: they are folded from the events the journals keep.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.funding.domain.commitment import CommitmentState
from services.funding.domain.envelope import EnvelopeState
from services.funding.domain.financing import FinancingState
from services.funding.domain.ledger import LedgerEntry
from services.funding.domain.line import LineState
from services.funding.domain.money import Movement, money_movements
from services.funding.journal import Chain, Journal, JournalStore, ModelT
from shared.clock import Clock
from shared.events.base import EventData
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    EnvelopeAmended,
    FinancerCommitted,
    FinancerOverdue,
    FinancingCompleted,
    FinancingOpened,
    FinancingRefused,
    LineTransferred,
    OverlapFlagged,
    PaymentRecorded,
)
from shared.repository import Aggregates, Repository
from shared.store import AggregateStore, Document, EventsQueued, ensure_indexes
from shared.topics import FUNDING_COMMITMENT, FUNDING_FINANCING, FUNDING_LEDGER

SERVICE = "funding"
LINE_JOURNAL = "line_journal"
COMMITMENT_JOURNAL = "commitment_journal"
COMMITMENTS = "commitments"
LEDGERS = "ledgers"
FINANCING_JOURNAL = "financing_journal"
FINANCINGS = "financings"
OUTBOX_COLLECTIONS = (LINE_JOURNAL, COMMITMENT_JOURNAL, LEDGERS, FINANCING_JOURNAL)
VIEW_ATTEMPTS = 10

LINE_FOLLOW_UPS = (CommitmentMade, LineTransferred, EnvelopeAmended)
"""A line's (or the envelope's) decisions that another document follows: the commitment is
built, the receiving line credited, every line amended (``Budget.follow_up``)."""
COMMITMENT_FOLLOW_UPS = (CommitmentDecommitted, PaymentRecorded)
"""A commitment's decisions that other documents follow: the line gets a de-commitment back or
counts a payment, the query view shows the new version."""
FINANCING_FOLLOW_UPS = (
    FinancingOpened,
    FinancerCommitted,
    FinancingCompleted,
    FinancingRefused,
    FinancerOverdue,
    OverlapFlagged,
)
"""Every event of a financing: a financer's commitment goes to its ledger, a refusal gives back
what was committed, and each version's follow-ups end by refreshing the query view."""


def key_of(data: EventData) -> str:
    """The Kafka key of a funding event: its commitment, its financer, else its line."""
    fields = data.model_dump()
    if data.topic == FUNDING_COMMITMENT:
        return str(fields["commitment_id"])
    if data.topic == FUNDING_LEDGER:
        return str(fields["financer"])
    if data.topic == FUNDING_FINANCING:
        return str(fields["dossier_id"])
    if isinstance(data, EnvelopeAmended):
        return data.envelope_id
    return str(fields["line_id"])


class Books:
    """The aggregates the handlers decide on: lines and commitments (chains of versions) and the
    other financers' ledger entries. Built on the store, or on in-memory parts in tests."""

    def __init__(
        self,
        line_chain: Chain,
        commitment_chain: Chain,
        ledger_entries: Aggregates,
        financing_chain: Chain,
        clock: Clock,
        attempts: int = 20,
    ) -> None:
        def journal(chain: Chain, model: type[ModelT], what: str) -> Journal[ModelT]:
            return Journal(
                chain, model, service=SERVICE, clock=clock, what=what, key_of=key_of,
                attempts=attempts,
            )  # fmt: skip

        self.lines = journal(line_chain, LineState, "line")
        self.envelopes = journal(line_chain, EnvelopeState, "envelope")
        self.commitments = journal(commitment_chain, CommitmentState, "commitment")
        self.financings = journal(financing_chain, FinancingState, "financing")
        self.ledgers = Repository(
            ledger_entries,
            LedgerEntry,
            service=SERVICE,
            clock=clock,
            what="ledger entry",
            key_of=key_of,
        )


class FundingStore:
    def __init__(
        self, db: AsyncDatabase[Document], on_events: EventsQueued, clock: Clock, attempts: int
    ) -> None:
        self.line_chain = JournalStore(db[LINE_JOURNAL], on_events, LINE_FOLLOW_UPS)
        self.commitment_chain = JournalStore(
            db[COMMITMENT_JOURNAL], on_events, COMMITMENT_FOLLOW_UPS
        )
        self.ledgers = AggregateStore(db[LEDGERS], on_events)
        self.commitment_view = db[COMMITMENTS]
        self.financing_chain = JournalStore(db[FINANCING_JOURNAL], on_events, FINANCING_FOLLOW_UPS)
        self.financing_view = db[FINANCINGS]
        self.books = Books(
            self.line_chain,
            self.commitment_chain,
            self.ledgers,
            self.financing_chain,
            clock,
            attempts,
        )

    async def create_indexes(self) -> None:
        await self.line_chain.create_indexes()
        await self.commitment_chain.create_indexes()
        await ensure_indexes(
            self.commitment_view,
            "state.line_id",
            "state.pole_id",
            "state.region_codes",
            "state.members.identifier",
        )
        await ensure_indexes(self.ledgers.collection, "state.financer", "state.contract_id")
        await self.financing_chain.create_indexes()
        await ensure_indexes(
            self.financing_view, "state.status", "state.financers", "state.project_key"
        )

    async def all_lines(self, line_ids: Sequence[str]) -> list[LineState]:
        await self.books.lines.chain.learn_newest(line_ids)
        found = [await self.books.lines.get(line_id) for line_id in line_ids]
        return [line for line in found if line is not None]

    # commitments

    async def refresh_commitment_view(self, commitment_id: str) -> None:
        await refresh_view(self.commitment_chain, self.commitment_view, commitment_id)

    async def find_commitments(self, query: Document, limit: int = 0) -> list[CommitmentState]:
        cursor = self.commitment_view.find(query, {"state": 1}).sort("state.committed_at")
        documents = await cursor.to_list(limit or None)
        return [CommitmentState.model_validate(document["state"]) for document in documents]

    async def paid_by_line_and_year(self) -> dict[str, dict[str, int]]:
        """The CP paid on each line, by year, from the commitments' view (payments are decided on
        their commitment; the line's own document is left to commitments, so that paying never
        contends with committing)."""
        paid: dict[str, dict[str, int]] = {}
        projection = {"state.line_id": 1, "state.paid_by_year": 1}
        async for document in self.commitment_view.find({}, projection):
            line = paid.setdefault(document["state"]["line_id"], {})
            for year, cents in document["state"].get("paid_by_year", {}).items():
                line[year] = line.get(year, 0) + int(cents)
        return paid

    async def paid_by_line(self) -> dict[str, int]:
        rows = await self.commitment_view.aggregate(
            [{"$group": {"_id": "$state.line_id", "paid": {"$sum": "$state.paid_cents"}}}]
        )
        return {row["_id"]: int(row["paid"]) async for row in rows}

    # ledgers

    async def ledger_entries(self, query: Document) -> list[LedgerEntry]:
        cursor = self.ledgers.collection.find(query, {"state": 1}).sort("state.committed_at")
        return [LedgerEntry.model_validate(doc["state"]) for doc in await cursor.to_list(None)]

    async def contract_years(self, contract_id: str) -> dict[str, set[int]]:
        """The years each financer has committed for a contract: the State on its lines, the
        others in their ledgers."""
        years: dict[str, set[int]] = {"state": set()}
        for commitment in await self.find_commitments({"state.contract_id": contract_id}):
            years["state"].update(item.year for item in commitment.years)
        for entry in await self.ledger_entries({"state.contract_id": contract_id}):
            years.setdefault(entry.financer, set()).update(item.year for item in entry.years)
        return years

    # financings

    async def show_financing(self, dossier_id: str) -> None:
        await refresh_view(self.financing_chain, self.financing_view, dossier_id)

    async def financings(
        self, status: str | None = None, financers: Collection[str] | None = None
    ) -> list[FinancingState]:
        query: Document = {}
        if status is not None:
            query["state.status"] = status
        if financers is not None:
            query["state.financers"] = {"$in": sorted(financers)}
        return await self.financings_where(query)

    async def overlaps(
        self, identifiers: list[str], project_key: str, dossier_id: str
    ) -> dict[str, list[str]]:
        """For each identifier, the other commitments (any line) and the other dossiers'
        financings that fund it for the same project."""
        found: dict[str, list[str]] = {}
        same_project = {"state.project_key": project_key, "state.dossier_id": {"$ne": dossier_id}}
        members = {"state.members.identifier": {"$in": identifiers}}
        for commitment in await self.find_commitments({**same_project, **members}):
            for member in commitment.members:
                found.setdefault(member.identifier, []).append(commitment.commitment_id)
        for financing in await self.financings_where({**same_project, **members}):
            for member in financing.members:
                found.setdefault(member.identifier, []).append(financing.dossier_id)
        return {key: sorted(set(found[key])) for key in identifiers if key in found}

    async def financings_where(self, query: Document) -> list[FinancingState]:
        cursor = self.financing_view.find(query, {"state": 1}).sort("state.opened_at")
        return [FinancingState.model_validate(d["state"]) for d in await cursor.to_list(None)]

    # money movements

    async def movements(self, line_ids: Sequence[str]) -> list[Movement]:
        """What every event kept in the journals did to the money of the lines ``line_ids``:
        the lines' own events (loaded, commitments, transfers given), the transfers they
        received, the envelope's amendments, and their commitments' payments and
        de-commitments."""
        ids = list(line_ids)
        received = {"events.data.to_line_id": {"$in": ids}}
        amended = {"events.type": EnvelopeAmended.type_name}  # kept by the envelope's entries
        line_events = await self.line_chain.events_where(
            {"$or": [{"aggregate_id": {"$in": ids}}, received, amended]}
        )
        commitment_events = await self.commitment_chain.events_where(
            {"state.line_id": {"$in": ids}}
        )
        return [
            movement
            for data in (*line_events, *commitment_events)
            for movement in money_movements(data)
        ]


async def refresh_view(
    chain: JournalStore, view: AsyncCollection[Document], aggregate_id: str
) -> None:
    """Copy an aggregate's newest version to its query view. Writers of the view may race; each
    one checks after writing that the view holds the newest version, and writes again if not."""
    for _ in range(VIEW_ATTEMPTS):
        loaded = await chain.load(aggregate_id)
        if loaded is None:
            return
        document = {"version": loaded.version, "state": loaded.state}
        try:
            await view.replace_one({"_id": aggregate_id}, document, upsert=True)
        except DuplicateKeyError:
            continue
        shown = await view.find_one({"_id": aggregate_id}, {"version": 1})
        newest = await chain.load(aggregate_id)
        if shown is not None and newest is not None and shown["version"] == newest.version:
            return
