"""What a service asks its store: every command PyMongo sends, counted and timed.

``StoreCommandMetrics`` is a PyMongo command listener (``pymongo.monitoring``) given to
``create_mongo_client`` by ``build_runtime``; it exports, on the service's registry:

- ``poles_store_commands_total{service,command,outcome}``: commands sent (``find``, ``insert``,
  ``update``, ``delete``, ``findAndModify``, ``aggregate``, ``getMore``, ``count``, ``ping``, ...),
  ``outcome`` ``succeeded`` or ``failed`` (the server answered with an error, or the connection
  failed); a write that the server answers with write errors (a duplicate key) succeeded as a
  command;
- ``poles_store_command_duration_seconds{service,command}``: how long each took, from sending to
  the answer (failed ones too), 0.5 ms to 5 s.

The driver's own housekeeping is left out: the connection handshake and authentication
(``hello``, ``isMaster``, ``saslStart``, ...) and ``endSessions`` at close; server heartbeats never
reach a command listener. ``ping`` is kept: the readiness probe asks the store, that is real load.

``StoreSpans`` (another listener, given only when tracing is on) makes each command sent while a
span is current a CLIENT span under it (``db.system`` mongodb, ``db.operation`` the command,
``db.name``); commands sent outside any trace (the relay's scans, gauges) make none.

``store_totals`` reads those series back from a ``/metrics`` page (the bench sums them over the
services to count statements per event).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from shared.tracing import exemplar, tracer

COMMANDS = "poles_store_commands_total"
DURATION = "poles_store_command_duration_seconds"
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds: 0.5 ms (an indexed read on MongoDB) to 5 s (the client's server selection timeout)."""
NOT_ASKED = frozenset(
    {
        "hello",
        "ismaster",
        "saslstart",
        "saslcontinue",
        "authenticate",
        "getnonce",
        "endsessions",
    }
)
"""Commands the driver sends for itself (lower case): handshake, authentication, session close."""


class StoreCommandMetrics(CommandListener):
    """Counts and times every command a service's client sends (a PyMongo command listener)."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        self.service = service
        self.commands = Counter(
            COMMANDS,
            "Commands sent to the store, by command and outcome (succeeded, failed)",
            ["service", "command", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            DURATION,
            "Time from sending a store command to its answer (failed ones too)",
            ["service", "command"],
            buckets=BUCKETS,
            registry=registry,
        )

    def started(self, event: CommandStartedEvent) -> None:
        """Nothing to do: the driver times the command itself."""

    def succeeded(self, event: CommandSucceededEvent) -> None:
        self._record(event.command_name, "succeeded", event.duration_micros)

    def failed(self, event: CommandFailedEvent) -> None:
        self._record(event.command_name, "failed", event.duration_micros)

    def _record(self, command: str, outcome: str, micros: int) -> None:
        if command.lower() in NOT_ASKED:
            return
        self.commands.labels(self.service, command, outcome).inc()
        self.duration.labels(self.service, command).observe(micros / 1_000_000, exemplar())


class StoreSpans(CommandListener):
    """Each command a traced piece of work sends is a CLIENT span (a PyMongo command listener:
    the driver calls it in the task that sends the command, so the current span is its parent)."""

    def __init__(self) -> None:
        self._open: dict[tuple[int, object], Span] = {}

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name.lower() in NOT_ASKED or not trace.get_current_span().is_recording():
            return
        self._open[(event.request_id, event.connection_id)] = tracer().start_span(
            event.command_name,
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": "mongodb",
                "db.operation": event.command_name,
                "db.name": event.database_name,
            },
        )

    def succeeded(self, event: CommandSucceededEvent) -> None:
        span = self._open.pop((event.request_id, event.connection_id), None)
        if span is not None:
            span.end()

    def failed(self, event: CommandFailedEvent) -> None:
        span = self._open.pop((event.request_id, event.connection_id), None)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, str(event.failure.get("errmsg", ""))))
            span.end()


@dataclass(frozen=True)
class StoreTotals:
    """The store commands one ``/metrics`` page counts so far, and the seconds they took."""

    commands: float = 0.0
    seconds: float = 0.0
    by_command: dict[str, float] = field(default_factory=dict)

    def __add__(self, other: StoreTotals) -> StoreTotals:
        by_command = dict(self.by_command)
        for command, count in other.by_command.items():
            by_command[command] = by_command.get(command, 0.0) + count
        return StoreTotals(self.commands + other.commands, self.seconds + other.seconds, by_command)

    def __sub__(self, earlier: StoreTotals) -> StoreTotals:
        by_command = {
            command: count - earlier.by_command.get(command, 0.0)
            for command, count in self.by_command.items()
        }
        return StoreTotals(
            self.commands - earlier.commands,
            self.seconds - earlier.seconds,
            {command: count for command, count in by_command.items() if count},
        )


def store_totals(metrics_page: str) -> StoreTotals:
    """Sum ``poles_store_commands_total`` (every outcome) by command, and the histogram's
    ``_sum`` (seconds), over a Prometheus text page."""
    by_command: dict[str, float] = {}
    seconds = 0.0
    for family in text_string_to_metric_families(metrics_page):
        for sample in family.samples:
            if sample.name == COMMANDS:
                command = sample.labels["command"]
                by_command[command] = by_command.get(command, 0.0) + sample.value
            elif sample.name == f"{DURATION}_sum":
                seconds += sample.value
    return StoreTotals(sum(by_command.values()), seconds, by_command)
