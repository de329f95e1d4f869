"""What the funding service reacts to: the decisions of calls (dossiers selected, studies
commissioned) and of contracts (contracts signed and amended). It never reads its own topics:
what one of its decisions implies for another of its documents is completed where it is decided
(``services.funding.handlers.budget``, ``services.funding.handlers.financing``)."""

from __future__ import annotations

from services.funding.handlers.sources import SourceEvents
from shared.consumer import EventHandlers
from shared.events.calls import DossierSelected, StudyCommissioned
from shared.events.contracts import ContractAmended, ContractSigned
from shared.topics import CALLS_DOSSIER, CONTRACTS_CONTRACT, Topic

TOPICS: tuple[Topic, ...] = (CALLS_DOSSIER, CONTRACTS_CONTRACT)


def reactions(sources: SourceEvents) -> EventHandlers:
    return (
        EventHandlers()
        .on(DossierSelected, sources.dossier_selected)
        .on(StudyCommissioned, sources.study_commissioned)
        .on(ContractSigned, sources.contract_signed)
        .on(ContractAmended, sources.contract_amended)
    )
