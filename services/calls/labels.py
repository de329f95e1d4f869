"""Calls' view of the pôles' labels, fed by contracts' label decisions (``contracts.pole``).

One document per pôle (collection ``pole_labels``), written only when a decision about it
arrives: each event is applied once (its id is recorded with the change, in the same guarded
update), so a redelivery changes nothing. A pôle without a document is in its 2008 situation
(``PoleLabel.initial``). The handlers read a snapshot of the pôles a command names and pass it
to the domain.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import datetime

from services.calls.domain.poles import LABEL_GIVEN, LABEL_TAKEN, PoleLabel, PoleLabels, follow
from shared.clock import Clock
from shared.cloudevents import CloudEvent
from shared.consumer import EventHandlers
from shared.decision import Decision
from shared.events.contracts import PoleLabelDecision
from shared.reference.poles import Pole
from shared.repository import Aggregates, Repository
from shared.store import ConcurrencyConflict
from shared.topics import CONTRACTS_POLE, Topic

POLE_LABELS = "pole_labels"
TOPICS: tuple[Topic, ...] = (CONTRACTS_POLE,)


class LabelView:
    def __init__(self, aggregates: Aggregates, clock: Clock) -> None:
        self.repository = Repository(
            aggregates, PoleLabel, service="calls", clock=clock, what="pôle label"
        )

    async def label(self, pole_id: str) -> PoleLabel:
        found = await self.repository.get(pole_id)
        return PoleLabel.initial(pole_id) if found is None else found.state

    async def of(self, pole_ids: Iterable[str]) -> PoleLabels:
        """A snapshot of the labels of these pôles, for the domain."""
        wanted = sorted(set(pole_ids))
        # Asked together, the loads go to the store as one find (the kernel groups them).
        labels = await asyncio.gather(*map(self.label, wanted))
        return PoleLabels(dict(zip(wanted, labels, strict=True)))

    async def labelled_pole(self, pole_id: str, instant: datetime) -> Pole | None:
        """The pôle if it holds the label at ``instant`` as far as calls knows, else None."""
        return (await self.of([pole_id])).labelled_pole(pole_id, instant)

    async def follow(self, event: CloudEvent, decision: PoleLabelDecision) -> None:
        """Apply one label decision of contracts, once per event id."""
        pole_id = decision.pole_id
        if await self.repository.get(pole_id) is None:
            initial = Decision.of(PoleLabel.initial(pole_id))
            with contextlib.suppress(ConcurrencyConflict):  # another delivery created it
                await self.repository.add(pole_id, initial, self.repository.clock.now())
        await self.repository.change(
            pole_id, lambda label, _: follow(label, decision), f"event:{event.id}"
        )

    def reactions(self, handlers: EventHandlers | None = None) -> EventHandlers:
        """``handlers`` (new ones by default) with the label decisions registered."""
        handlers = EventHandlers() if handlers is None else handlers
        for model in LABEL_GIVEN + LABEL_TAKEN:
            handlers.on(model, self.follow)
        return handlers
