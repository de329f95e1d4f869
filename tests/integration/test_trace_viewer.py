"""The local trace viewer (issue 18): ``deploy/local/jaeger.sh`` under its own local dir and
private ports builds Jaeger (cached in .local/bin) and starts it; "/" serves the real Jaeger UI
(its JavaScript bundle, not the placeholder page of a build without the UI); a span sent by
OTLP/HTTP (OTLP/JSON, as any exporter may) is found through the viewer's HTTP API
(``/api/traces/<id>``) and its page ``/trace/<id>`` is the UI's; stop stops it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.test_waiting import free_ports
from tests.support.infra import ROOT, unique

pytestmark = pytest.mark.integration

SCRIPT = str(ROOT / "deploy" / "local" / "jaeger.sh")
START_SECONDS = 1800.0
"""A first build downloads Jaeger's modules and compiles them (minutes on 2 cores); then cached."""
FOUND_WITHIN_SECONDS = 20.0
PLACEHOLDER = "This is a placeholder for the Jaeger UI home page"


@dataclass(frozen=True)
class Viewer:
    ui: str
    otlp: str
    env: dict[str, str]

    def run(self, command: str, seconds: float = 60.0) -> str:
        done = subprocess.run(
            [SCRIPT, command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=seconds,
            check=False,
        )
        assert done.returncode == 0, f"jaeger.sh {command}: {done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def viewer() -> Iterator[Viewer]:
    ui, otlp_http, otlp_grpc, query_grpc, health = free_ports(5)
    local_dir = ROOT / ".local" / unique("test-trace-viewer-")
    env = {
        **os.environ,
        "POLES_LOCAL_DIR": str(local_dir),
        "JAEGER_UI_PORT": str(ui),
        "JAEGER_OTLP_HTTP_PORT": str(otlp_http),
        "JAEGER_OTLP_GRPC_PORT": str(otlp_grpc),
        "JAEGER_QUERY_GRPC_PORT": str(query_grpc),
        "JAEGER_HEALTH_PORT": str(health),
        "JAEGER_MAX_TRACES": "1000",
    }
    started = Viewer(f"http://127.0.0.1:{ui}", f"http://127.0.0.1:{otlp_http}", env)
    try:
        started.run("start", START_SECONDS)
        yield started
    finally:
        try:
            started.run("stop")
        finally:
            shutil.rmtree(local_dir, ignore_errors=True)


def span(trace_id: str, name: str) -> dict[str, object]:
    """One span of service ``poles-viewer-test`` as OTLP/JSON (ids in hex, times in ns)."""
    now = time.time_ns()
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "poles-viewer-test"}}
                    ]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "tests.integration.test_trace_viewer"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": secrets.token_hex(8),
                                "name": name,
                                "kind": 2,
                                "startTimeUnixNano": str(now - 5_000_000),
                                "endTimeUnixNano": str(now),
                                "attributes": [
                                    {"key": "poles.dossier", "value": {"stringValue": "PF-001"}}
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }


def found(client: httpx.Client, trace_id: str) -> list[dict[str, object]]:
    """The trace's spans as the viewer's API gives them, waiting for the batch to be stored."""
    deadline = time.monotonic() + FOUND_WITHIN_SECONDS
    while True:
        answer = client.get(f"/api/traces/{trace_id}")
        if answer.status_code == 200 and answer.json().get("data"):
            spans: list[dict[str, object]] = answer.json()["data"][0]["spans"]
            return spans
        assert answer.status_code in {200, 404}, answer.text
        assert time.monotonic() < deadline, f"trace {trace_id} not found: {answer.text}"
        time.sleep(0.3)


def test_the_viewer_serves_the_real_jaeger_ui(viewer: Viewer) -> None:
    with httpx.Client(base_url=viewer.ui, timeout=10) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert PLACEHOLDER not in home.text
        assert 'id="jaeger-ui-root"' in home.text
        bundle = re.search(r'src="\./(static/index-[^"]+\.js)"', home.text)
        assert bundle is not None, home.text[:2000]
        script = client.get(f"/{bundle[1]}")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert len(script.content) > 500_000  # the app itself, not a stub


def test_a_span_sent_by_otlp_http_is_found_through_the_viewer(viewer: Viewer) -> None:
    trace_id = secrets.token_hex(16)
    sent = httpx.post(f"{viewer.otlp}/v1/traces", json=span(trace_id, "POST /dossiers"), timeout=10)
    assert sent.status_code == 200, sent.text

    with httpx.Client(base_url=viewer.ui, timeout=10) as client:
        spans = found(client, trace_id)
        assert [s["operationName"] for s in spans] == ["POST /dossiers"]
        assert spans[0]["traceID"] == trace_id
        page = client.get(f"/trace/{trace_id}")  # the link the demo's report prints
        assert page.status_code == 200
        assert 'id="jaeger-ui-root"' in page.text


def test_status_says_where_it_runs_and_stop_stops_it(viewer: Viewer) -> None:
    """Last in this module: the other tests use the running viewer."""
    assert "running" in viewer.run("status")
    assert viewer.run("endpoint").strip() == viewer.otlp
    viewer.run("stop")
    stopped = subprocess.run([SCRIPT, "status"], env=viewer.env, capture_output=True, text=True)
    assert (stopped.returncode, stopped.stdout.strip()) == (3, "stopped")
    assert not Path(viewer.env["POLES_LOCAL_DIR"], "jaeger", "jaeger.pid").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(viewer.ui, timeout=2)
