"""What a domain function returns: the aggregate's new state, the events that say what happened,
and the answer the command gets. Pure data: the domain decides, the repository saves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from shared.events.base import EventData

Answer = dict[str, Any]
"""What a command answers (a JSON object); kept with the idempotency id so a repeat gets it."""

StateT = TypeVar("StateT")


@dataclass(frozen=True)
class Decision(Generic[StateT]):
    """One new version of one aggregate. ``events`` may be empty (nothing to tell), and
    ``answer`` is what the caller is told (``{}`` when nobody waits for one)."""

    state: StateT
    events: tuple[EventData, ...] = ()
    answer: Answer = field(default_factory=dict)

    @classmethod
    def of(
        cls, state: StateT, events: Sequence[EventData] = (), answer: Answer | None = None
    ) -> Decision[StateT]:
        return cls(state, tuple(events), {} if answer is None else answer)
