"""Reading the topics after the run: each aggregate's events by effect, and whether their order
was kept (lifecycle order, time and version never going back, one partition per key).

The relay publishes at least once, so an event id may appear twice: only its first appearance
counts. Two different ids for one effect are a doubled effect.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.tap import Seen

DOSSIER_RANKS = {
    "calls.dossier.submitted.v1": 0,
    "calls.dossier.replaced.v1": 0,
    "calls.dossier.withdrawn.v1": 1,
    "calls.dossier.found-eligible.v1": 1,
    "calls.dossier.found-ineligible.v1": 1,
    "calls.dossier.preselection-vote.v1": 2,
    "calls.dossier.preselected.v1": 3,
    "calls.dossier.not-preselected.v1": 3,
    "calls.study.commissioned.v1": 4,
    "calls.study.completed.v1": 5,
    "calls.dossier.selected.v1": 6,
    "calls.dossier.not-selected.v1": 6,
    "calls.dossier.funded.v1": 7,
    "calls.dossier.funding-refused.v1": 7,
}
CONTRACT_RANKS = {
    "contracts.contract.drafted.v1": 0,
    "contracts.contract.terms-edited.v1": 0,
    "contracts.contract.roadmap-annexed.v1": 1,
    "contracts.contract.opened-for-signature.v1": 2,
    "contracts.contract.party-signed.v1": 3,
    "contracts.contract.signed.v1": 4,
    "contracts.contract.activated.v1": 5,
}
COMMITMENT_RANKS = {"funding.commitment.made.v1": 0}


DOSSIER_STEPS = frozenset(
    {"submit", "screen", "vote-state", "vote-cdc", "study", "study-done", "decide"}
)
"""The workload's steps that are the dossier's own commands (each leaves one event in its
history); the CDC's commitment is funding's."""


def dossier_effect(event_type: str, data: dict[str, Any]) -> str:
    """What a dossier event records, named like the command that caused it."""
    names = {
        "calls.dossier.submitted.v1": "submit",
        "calls.dossier.found-eligible.v1": "screen",
        "calls.dossier.preselected.v1": "preselected",
        "calls.study.commissioned.v1": "study",
        "calls.study.completed.v1": "study-done",
        "calls.dossier.selected.v1": "decide",
        "calls.dossier.not-selected.v1": "decide",
        "calls.dossier.funded.v1": "funded",
    }
    if event_type == "calls.dossier.preselection-vote.v1":
        return f"vote-{data.get('voter')}"
    return names.get(event_type, event_type)


def contract_effect(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "contracts.contract.party-signed.v1":
        return f"sign-{data.get('party_id')}"
    return event_type


def commitment_effect(event_type: str, data: dict[str, Any]) -> str:
    return event_type


@dataclass
class Stream:
    """One topic's aggregates: per key, the first appearance of each event id, in order."""

    first: dict[str, list[Seen]] = field(default_factory=lambda: defaultdict(list))
    partitions: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    copies: int = 0
    """Appearances of an id already seen (at-least-once publication: harmless)."""

    @classmethod
    def of(cls, records: Iterable[Seen]) -> Stream:
        stream, seen_ids = cls(), set()
        for record in records:
            if record.event is None:
                continue
            stream.partitions[record.key].add(record.partition)
            if record.event.id in seen_ids:
                stream.copies += 1
                continue
            seen_ids.add(record.event.id)
            stream.first[record.key].append(record)
        return stream

    def ids(self, key: str) -> set[str]:
        return {seen.event.id for seen in self.first.get(key, []) if seen.event is not None}

    def effects(self, key: str, effect: Callable[[str, dict[str, Any]], str]) -> Counter[str]:
        return Counter(
            effect(seen.event.type, seen.event.data)
            for seen in self.first.get(key, [])
            if seen.event is not None
        )

    def disordered(self, key: str, ranks: dict[str, int]) -> bool:
        """Whether the key's events left one partition, or went back in lifecycle rank, time
        or version."""
        if len(self.partitions.get(key, ())) > 1:
            return True
        rank, time, version = -1, None, 0
        for seen in self.first.get(key, []):
            assert seen.event is not None
            now_rank = ranks.get(seen.event.type, rank)
            now_version = seen.event.data.get("version")
            if now_rank < rank or (time is not None and seen.event.time < time):
                return True
            if isinstance(now_version, int) and now_version < version:
                return True
            rank, time = now_rank, seen.event.time
            version = now_version if isinstance(now_version, int) else version
        return False
