"""Store command metrics on synthetic PyMongo command events: counted by command and outcome,
timed, the driver's own handshake left out, and read back from a /metrics page."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from pymongo.monitoring import CommandFailedEvent, CommandSucceededEvent

from shared.store_metrics import StoreCommandMetrics, StoreTotals, store_totals
from tests.support.infra import offline_app

ADDRESS = ("127.0.0.1", 27017)


def succeeded(command: str, millis: float) -> CommandSucceededEvent:
    return CommandSucceededEvent(
        timedelta(milliseconds=millis), {"ok": 1}, command, 1, ADDRESS, 1, database_name="db"
    )


def failed(command: str, millis: float) -> CommandFailedEvent:
    return CommandFailedEvent(
        timedelta(milliseconds=millis), {"ok": 0, "errmsg": "no"}, command, 1, ADDRESS, 1
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_every_command_is_counted_by_outcome_and_timed() -> None:
    registry = CollectorRegistry()
    metrics = StoreCommandMetrics("calls", registry)
    metrics.succeeded(succeeded("find", 1.0))
    metrics.succeeded(succeeded("find", 3.0))
    metrics.succeeded(succeeded("findAndModify", 2.0))
    metrics.failed(failed("insert", 4.0))

    total = "poles_store_commands_total"
    assert sample(registry, total, service="calls", command="find", outcome="succeeded") == 2
    assert sample(registry, total, service="calls", command="findAndModify", outcome="succeeded")
    assert sample(registry, total, service="calls", command="insert", outcome="failed") == 1
    assert sample(registry, total, service="calls", command="insert", outcome="succeeded") == 0
    duration = "poles_store_command_duration_seconds"
    assert sample(registry, f"{duration}_count", service="calls", command="find") == 2
    assert abs(sample(registry, f"{duration}_sum", service="calls", command="find") - 0.004) < 1e-9
    assert sample(registry, f"{duration}_count", service="calls", command="insert") == 1
    # 1 ms and 3 ms: one at or under the 1 ms bucket, none under the 0.5 ms one.
    bucket = f"{duration}_bucket"
    assert sample(registry, bucket, service="calls", command="find", le="0.0005") == 0
    assert sample(registry, bucket, service="calls", command="find", le="0.001") == 1
    assert sample(registry, bucket, service="calls", command="find", le="5.0") == 2


def test_the_drivers_handshake_is_not_counted_but_ping_is() -> None:
    registry = CollectorRegistry()
    metrics = StoreCommandMetrics("notify", registry)
    for command in ("hello", "isMaster", "ismaster", "saslStart", "saslContinue", "endSessions"):
        metrics.succeeded(succeeded(command, 1.0))
    metrics.failed(failed("saslStart", 1.0))
    assert store_totals(generate_latest(registry).decode()) == StoreTotals()
    metrics.succeeded(succeeded("ping", 0.5))
    assert store_totals(generate_latest(registry).decode()).by_command == {"ping": 1.0}


def test_totals_are_read_back_from_a_page_summed_and_subtracted() -> None:
    registry = CollectorRegistry()
    metrics = StoreCommandMetrics("funding", registry)
    metrics.succeeded(succeeded("find", 2.0))
    before = store_totals(generate_latest(registry).decode())
    metrics.succeeded(succeeded("find", 2.0))
    metrics.succeeded(succeeded("update", 3.0))
    metrics.failed(failed("update", 5.0))
    after = store_totals(generate_latest(registry).decode())

    burst = after - before
    assert burst.commands == 3
    assert burst.by_command == {"find": 1.0, "update": 2.0}
    assert abs(burst.seconds - 0.010) < 1e-9
    both = after + before
    assert both.commands == 5
    assert both.by_command == {"find": 3.0, "update": 2.0}


def test_every_service_exports_the_store_metrics_from_its_runtime() -> None:
    for service in ("calls", "funding", "contracts", "notify"):
        page = TestClient(offline_app(service)).get("/metrics").text
        assert "# TYPE poles_store_commands_total counter" in page, service
        assert "# TYPE poles_store_command_duration_seconds histogram" in page, service
