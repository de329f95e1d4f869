"""The budget's Prometheus metrics, under the names the operators' dashboards read.

Gauges come from the store, refreshed by a background job (and once at startup, so that every line
shows its amount right after start); the refusal counter is counted where a refusal is decided.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.funding.domain.envelope import Envelope
from services.funding.domain.line import LineState


class BudgetMetrics:
    def __init__(self, registry: CollectorRegistry, envelope: Envelope) -> None:
        self.envelope = envelope
        self.amount = Gauge(
            "poles_budget_line_amount_cents",
            "A line's amount (after transfers), in euro cents",
            ["line"],
            registry=registry,
        )
        self.committed = Gauge(
            "poles_budget_committed_cents",
            "What a line has committed, in euro cents",
            ["line"],
            registry=registry,
        )
        self.paid = Gauge(
            "poles_budget_paid_cents",
            "What a line has paid, in euro cents",
            ["line"],
            registry=registry,
        )
        self.available = Gauge(
            "poles_budget_available_cents",
            "What a line can still commit, in euro cents",
            ["line"],
            registry=registry,
        )
        self.refused = Counter(
            "poles_budget_commitments_refused_total",
            "Commitments a line refused (over the line or over a yearly ceiling)",
            ["line"],
            registry=registry,
        )
        for spec in envelope.leaves:
            self.refused.labels(spec.id)

    def show(self, lines: list[LineState], paid_by_line: dict[str, int]) -> None:
        """Set every line's gauges (a line with sub-lines shows their sums)."""
        by_id = {line.line_id: line for line in lines}
        for spec in self.envelope.all_specs():
            leaves = [by_id[i] for i in self.envelope.leaf_ids_under(spec.id) if i in by_id]
            if not leaves:
                continue
            amount = sum(line.amount_cents for line in leaves)
            committed = sum(line.committed_cents for line in leaves)
            self.amount.labels(spec.id).set(amount)
            self.committed.labels(spec.id).set(committed)
            self.available.labels(spec.id).set(amount - committed)
            self.paid.labels(spec.id).set(sum(paid_by_line.get(line.line_id, 0) for line in leaves))
