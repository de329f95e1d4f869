"""What calls follows of the other services: funding's answer to a selection's financing plan
(``funding.financing``).

- ``FinancingCompleted``: every financer committed; the dossier moves ``selected`` -> ``funded``
  and calls publishes ``DossierFunded`` (only now is the grant real);
- ``FinancingRefused``: the plan cannot be financed; the dossier moves ``selected`` ->
  ``funding-refused`` keeping the financer, the reason and the detail, and calls publishes
  ``DossierFundingRefused`` (never the grant's announcement).

Each event is applied once: its id is saved with the dossier it changed (``event:<id>``), so a
redelivery changes nothing. An answer for a dossier that is no longer ``selected`` is logged and
ignored (see ``lifecycle.funded`` and ``lifecycle.funding_refused``); the other financing events
(opened, financer committed, overdue, overlap) are not calls' to act on.

The service has one consumer group, so ONE ``runtime.consume``: a reaction to another topic is
added here, to ``TOPICS`` and to ``reactions``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.calls.domain import dossier as lifecycle
from services.calls.domain.dossier import DossierState
from shared.cloudevents import CloudEvent
from shared.consumer import EventHandlers, PermanentError
from shared.decision import Decision
from shared.errors import NotFound
from shared.events.funding import FinancingCompleted, FinancingRefused
from shared.repository import Repository
from shared.topics import FUNDING_FINANCING, Topic

log = logging.getLogger(__name__)

TOPICS: tuple[Topic, ...] = (FUNDING_FINANCING,)
Answer = Callable[[DossierState, datetime], Decision[DossierState] | None]


@dataclass(frozen=True)
class FundingAnswers:
    dossiers: Repository[DossierState]

    async def financing_completed(self, event: CloudEvent, data: FinancingCompleted) -> None:
        await self._apply(event, data.dossier_id, lambda d, now: lifecycle.funded(d, data, now))

    async def financing_refused(self, event: CloudEvent, data: FinancingRefused) -> None:
        await self._apply(
            event, data.dossier_id, lambda d, now: lifecycle.funding_refused(d, data, now)
        )

    async def _apply(self, event: CloudEvent, dossier_id: str, answer: Answer) -> None:
        def decide(dossier: DossierState, now: datetime) -> Decision[DossierState] | None:
            decision = answer(dossier, now)
            if decision is None:
                log.warning(
                    "%s ignored: dossier %s is %s, not selected",
                    event.type,
                    dossier_id,
                    dossier.status,
                )
            return decision

        try:
            await self.dossiers.apply(dossier_id, decide, f"event:{event.id}")
        except NotFound as error:
            raise PermanentError(f"{event.type} names no dossier of calls: {dossier_id}") from error


def reactions(funding: FundingAnswers) -> EventHandlers:
    return (
        EventHandlers()
        .on(FinancingCompleted, funding.financing_completed)
        .on(FinancingRefused, funding.financing_refused)
    )
