"""One command, one trace, across the services (issue 18), on the real broker and store.

Calls, funding, contracts and notify run in this process, each exporting its spans by OTLP/HTTP to
a receiver on loopback (tests/support/otlp.py decodes what came over the wire). The CDC
commissions a dossier's study by HTTP: calls decides it and its relay publishes the event; funding
records the CDC's share; notify delivers it to a webhook receiver. The response's
``traceresponse`` names one trace, which holds spans of calls, funding and notify and the webhook
send; each consumer span is a child of the producer span its record came from, and linked to it;
a log line written while the trace was handled carries its id, and the dossier's read route
names the trace of its submission.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from services.calls.app import create_app as calls_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import DEADLINE, IN_TIME, dossier, platform_call
from services.contracts.app import create_app as contracts_app
from services.contracts.settings import ContractsSettings
from services.funding.app import create_app as funding_app
from services.funding.settings import FundingSettings
from services.notify.app import create_app as notify_app
from shared.clock import PARIS, ManualClock
from shared.logs import JsonFormatter
from tests.integration.test_notify_webhooks import settings as notify_settings
from tests.integration.test_notify_webhooks import webhook_receiver
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually
from tests.support.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STATE, CDC = auth("state"), auth("cdc")
AEROSPACE = auth("pole:aerospace-valley", subject="aerospace-valley")


class Lines(logging.Handler):
    """Keeps every JSON line the services' formatter writes, as it is written."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("any"))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(orjson.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    lines = Lines()
    yield lines
    logging.getLogger().removeHandler(lines)


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_one_http_command_is_one_trace_through_calls_funding_notify_and_the_webhook(
    isolation: Isolation, log_lines: Lines
) -> None:
    clock = ManualClock(datetime(2008, 10, 1, 9, 0, tzinfo=PARIS))
    async with otlp_receiver() as otlp, webhook_receiver() as hook:
        traced = {"otlp_endpoint": otlp.endpoint, "log_level": "INFO"}
        apps = (
            calls_app(
                isolation.settings(CallsSettings, calls_close_check_seconds=0.1, **traced),
                clock=clock,
            ),
            funding_app(isolation.settings(FundingSettings, **traced)),
            contracts_app(isolation.settings(ContractsSettings, **traced)),
            notify_app(notify_settings(isolation, **traced)),
        )
        logging.getLogger().addHandler(log_lines)  # after the services set up their logging
        async with (
            serve(apps[0]) as calls,
            serve(apps[1]),
            serve(apps[2]),
            serve(apps[3]) as notify,
        ):
            subscription = {
                "channel": "webhook",
                "target": hook.url,
                "event_types": ["calls.study.*"],
                "filters": {"call_id": "PF-2008"},
            }
            sub = await ok(await notify.post("/subscriptions", json=subscription, headers=CDC), 201)
            dossier_id = await _study_ready(calls, clock)
            study = {"cost_cents": 25_000_000, "cdc_share_cents": 20_000_000}
            answer = await calls.post(f"/dossiers/{dossier_id}/study", json=study, headers=CDC)
            await ok(answer)
            trace_id = answer.headers["traceresponse"].split("-")[1]
            await eventually(lambda: _study_webhook(hook.requests), 40)
            # funding consumes the study's event beside notify: its span may come after the
            # webhook (exported in batches every 5 s); the services must not stop before it
            await eventually(lambda: "funding" in {s.service for s in otlp.trace(trace_id)}, 40)
            read = await ok(await calls.get(f"/dossiers/{dossier_id}", headers=STATE))
            log = await notify.get(f"/subscriptions/{sub['id']}/deliveries", headers=CDC)
            assert log.status_code == 200, log.text
            delivered: list[dict[str, Any]] = log.json()
        # the services stopped: their batch processors flushed every span to the receiver
        spans = otlp.trace(trace_id)
        webhook_headers = _study_webhook(hook.requests)

    services = {span.service for span in spans}
    assert {"calls", "funding", "notify"} <= services, _listing(spans)
    assert _one(spans, "calls", "SERVER").trace_id == trace_id
    sends = [s for s in spans if s.service == "notify" and s.name == "webhook POST"]
    assert sends, _listing(spans)
    assert all(send.kind == "CLIENT" for send in sends)
    assert webhook_headers is not None
    assert webhook_headers["traceparent"].split("-")[1] == trace_id
    _consumers_follow_their_producers(otlp, spans)
    assert any(s.service == "calls" and s.attributes.get("db.system") == "mongodb" for s in spans)
    assert any(line.get("trace_id") == trace_id for line in log_lines.lines), "no log line"
    study_deliveries = [d for d in delivered if d["event_type"] == "calls.study.commissioned.v1"]
    assert [d["trace_id"] for d in study_deliveries] == [trace_id]
    submission = otlp.trace(read["submission_trace_id"])
    assert any(s.service == "calls" and s.kind == "SERVER" for s in submission)


def _consumers_follow_their_producers(otlp: OtlpReceiver, spans: list[ReceivedSpan]) -> None:
    """Each consumer span's parent is a producer span of the trace, on the topic it read from,
    and the consumer is linked to it; consumers are in funding and notify at least."""
    producers = {span.span_id: span for span in spans if span.kind == "PRODUCER"}
    consumers = [span for span in spans if span.kind == "CONSUMER"]
    assert {"funding", "notify"} <= {span.service for span in consumers}, _listing(spans)
    for consumer in consumers:
        producer = producers.get(consumer.parent_span_id)
        assert producer is not None, f"{consumer} has no producer parent"
        topic = producer.attributes["messaging.destination.name"]
        assert consumer.attributes["messaging.destination.name"].endswith(topic)
        assert consumer.links == ((producer.trace_id, producer.span_id),)


async def _study_ready(calls: httpx.AsyncClient, clock: ManualClock) -> str:
    """A dossier of a closed call, screened and pre-selected: ready for its CDC study."""
    await ok(await calls.post("/calls", json=platform_call(), headers=STATE), 201)
    clock.set(IN_TIME)
    receipt = await ok(
        await calls.post("/calls/PF-2008/dossiers", json=dossier(), headers=AEROSPACE), 201
    )
    dossier_id = str(receipt["dossier_id"])
    clock.set(DEADLINE + timedelta(days=40))
    await eventually(lambda: _closed(calls))
    path = f"/dossiers/{dossier_id}"
    await ok(await calls.post(f"{path}/screening", json={"eligible": True}, headers=STATE))
    for voter in (CDC, STATE):
        await ok(
            await calls.post(f"{path}/preselection-votes", json={"decision": "yes"}, headers=voter)
        )
    return dossier_id


async def _closed(calls: httpx.AsyncClient) -> bool:
    response = await calls.get("/calls/PF-2008", headers=STATE)
    return response.status_code == 200 and response.json().get("status") == "closed"


def _study_webhook(requests: list[tuple[dict[str, str], bytes]]) -> dict[str, str] | None:
    for headers, body in requests:
        if orjson.loads(body)["type"] == "calls.study.commissioned.v1":
            return headers
    return None


def _one(spans: list[ReceivedSpan], service: str, kind: str) -> ReceivedSpan:
    found = [span for span in spans if span.service == service and span.kind == kind]
    assert len(found) == 1, _listing(spans)
    return found[0]


def _listing(spans: list[ReceivedSpan]) -> str:
    return "\n".join(
        f"{s.service} {s.kind} {s.name} {s.span_id}<-{s.parent_span_id}" for s in spans
    )
