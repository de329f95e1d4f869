"""What the funding service listens to: the decisions of calls and contracts, and its own money
events (to finish second steps and keep the movements of money)."""

from __future__ import annotations

from services.funding.handlers.own_events import OwnEvents
from services.funding.handlers.sources import SourceEvents
from shared.consumer import EventHandlers
from shared.events.calls import DossierSelected, StudyCommissioned
from shared.events.contracts import ContractSigned
from shared.events.funding import (
    CommitmentDecommitted,
    CommitmentMade,
    LineLoaded,
    LineTransferred,
    PaymentRecorded,
)
from shared.topics import (
    CALLS_DOSSIER,
    CONTRACTS_CONTRACT,
    FUNDING_COMMITMENT,
    FUNDING_LINE,
    Topic,
)

TOPICS: tuple[Topic, ...] = (CALLS_DOSSIER, CONTRACTS_CONTRACT, FUNDING_LINE, FUNDING_COMMITMENT)


def subscribers(sources: SourceEvents, own: OwnEvents) -> EventHandlers:
    handlers = (
        EventHandlers()
        .on(DossierSelected, sources.dossier_selected)
        .on(StudyCommissioned, sources.study_commissioned)
        .on(ContractSigned, sources.contract_signed)
    )
    for model in (
        LineLoaded,
        LineTransferred,
        CommitmentMade,
        CommitmentDecommitted,
        PaymentRecorded,
    ):
        handlers.on(model, own.money_moved)
    return handlers
