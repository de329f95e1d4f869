"""The contracts service's handlers and clock job on in-memory aggregates (the kernel's
``MemoryAggregates``): the same repositories, documents and rules as in production, without a
store or a broker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.contracts.domain.calendar import default_signature_deadline
from services.contracts.domain.contract import Contract
from services.contracts.domain.pole import PoleRecord
from services.contracts.domain.terms import PartyInput, Terms
from services.contracts.handlers import Command, ContractHandlers, ContractsOfPole, DraftRequest
from services.contracts.store import CONTRACTS, POLES, ContractRepository, PoleRepository
from services.contracts.tests.builders import POLE, parties_json, terms_json
from shared.asof import TopicLog
from shared.clock import ManualClock
from shared.cloudevents import CloudEvent
from shared.decision import Answer
from shared.repository import command_id
from shared.topics import Topic
from tests.support.memory import MemoryAggregates


@dataclass
class InMemory:
    clock: ManualClock
    contract_store: MemoryAggregates
    pole_store: MemoryAggregates
    contracts: ContractRepository
    poles: PoleRepository
    handlers: ContractHandlers

    async def due(self, now: datetime) -> list[str]:
        """What ``ContractQueries.due`` finds: the contracts whose ``next_clock_at`` has come."""
        return [
            contract_id
            for contract_id, document in sorted(self.contract_store.documents.items())
            if (at := document["state"]["next_clock_at"]) is not None and at <= now
        ]

    async def lapsing(self, now: datetime) -> list[str]:
        """What ``PoleQueries.lapsing`` finds: the pôles whose label lapses at ``now``."""
        records = map(PoleRecord.model_validate, self.pole_store.states())
        return [record.pole_id for record in records if record.lapse_due(now)]


class PublishedLog(TopicLog):
    """What the in-memory stores published, read back as ``TopicLog`` reads the topics (one
    aggregate's events, in order): the as-of routes without a broker."""

    def __init__(self, service: InMemory) -> None:
        self._stores = (service.contract_store, service.pole_store)

    async def events(self, topic: Topic, key: str) -> list[CloudEvent]:
        return [
            entry.cloud_event()
            for store in self._stores
            for entry in store.published
            if entry.topic == topic.name and entry.key == key
        ]


def contracts_of_pole(store: MemoryAggregates) -> ContractsOfPole:
    async def find(pole_id: str) -> list[Contract]:
        return [Contract.model_validate(s) for s in store.states(lambda s: s["pole_id"] == pole_id)]

    return find


async def in_memory(now: datetime) -> InMemory:
    """The service as its composition root builds it, on in-memory aggregates, with the pôles of
    the reference list loaded."""
    clock = ManualClock(now)
    contract_store, pole_store = MemoryAggregates(CONTRACTS), MemoryAggregates(POLES)
    contracts = ContractRepository(contract_store, clock)
    poles = PoleRepository(pole_store, clock)
    handlers = ContractHandlers(contracts, poles, contracts_of_pole(contract_store))
    await poles.load_reference()
    return InMemory(clock, contract_store, pole_store, contracts, poles, handlers)


def command(*roles: str, key: str | None = None, subject: str = "someone") -> Command:
    return Command(frozenset(roles), command_id(subject, key))


def draft_request(start_year: int = 2009, end_year: int = 2011) -> DraftRequest:
    return DraftRequest(
        POLE,
        start_year,
        end_year,
        default_signature_deadline(start_year),
        [PartyInput.model_validate(p) for p in parties_json()],
        Terms.model_validate(terms_json(end_year)),
    )


async def draft(service: InMemory, key: str | None = None, start_year: int = 2009) -> Answer:
    """Aerospace Valley's contract drafted by the pôle itself."""
    request = draft_request(start_year, start_year + 2)
    return await service.handlers.draft(command(f"pole:{POLE}", key=key), request)
