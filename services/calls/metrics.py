"""The calls service's metrics: dossiers by call and status (a gauge recomputed from the store),
commands rejected by reason, and the domain-clock time from submission to each decision."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from datetime import datetime
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.calls.domain.dossier import Status
from services.calls.store import CallsQueries
from shared.events.base import EventData
from shared.events.calls import (
    DossierEvaluated,
    DossierFoundEligible,
    DossierFoundIneligible,
    DossierNotPreselected,
    DossierNotSelected,
    DossierPreselected,
    DossierSelected,
)
from shared.tracing import exemplar

DECISIONS: dict[type[EventData], str] = {
    DossierFoundEligible: "eligible",
    DossierFoundIneligible: "ineligible",
    DossierPreselected: "preselected",
    DossierNotPreselected: "not-preselected",
    DossierEvaluated: "evaluated",
    DossierSelected: "selected",
    DossierNotSelected: "not-selected",
}
DAY = 24 * 3600.0


class CallsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.dossiers = Gauge(
            "poles_dossiers",
            "Dossiers by call and status",
            ["call_id", "status"],
            registry=registry,
        )
        self.rejected = Counter(
            "poles_commands_rejected_total",
            "Commands refused (HTTP and Kafka), by reason",
            ["reason"],
            registry=registry,
        )
        self.decision_seconds = Histogram(
            "poles_dossier_decision_seconds",
            "Domain-clock time from a dossier's submission to each decision on it",
            ["decision"],
            buckets=(3600, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 180 * DAY, 365 * DAY, 730 * DAY),
            registry=registry,
        )

    def decided(self, events: Sequence[EventData], submitted_at: datetime, now: datetime) -> None:
        for event in events:
            decision = DECISIONS.get(type(event))
            if decision is not None:
                seconds = (now - submitted_at).total_seconds()
                self.decision_seconds.labels(decision).observe(seconds, exemplar())

    async def refresh(self, queries: CallsQueries) -> None:
        counts = Tally((row["call_id"], row["status"]) for row in await queries.figures())
        for call_id in {call_id for call_id, _ in counts}:
            for status in get_args(Status):
                self.dossiers.labels(call_id, status).set(counts[(call_id, status)])
