"""The newcomer path works as printed (issue 17): every command and address that README.md,
deploy/RUNBOOK.md and the demo's last screen print is run or fetched here, on real servers.

The inventory is parsed from the documents (tests/support/printed.py), so a command or an address
added to them is checked too; those that cannot run in a test are in ``EXCLUDED`` below, each with
why and where else it is exercised. Everything else runs through bash, as printed, in a scratch
checkout (the repository's code and scripts, its own ``.local`` with the test stack's secrets and
an auth.env written by services.sh): the printed addresses of the platform's default ports are
replaced by where the test puts the same thing (``Platform.ports``): the four services served by
uvicorn in this process on free ports (signing tokens with the scratch auth.env's key, so the token
the printed command mints opens them), the test broker (19092) and store (27027), and a
Prometheus started by ``deploy/local/prometheus.sh`` under the scratch local dir on a free port.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from starlette.routing import Match

from services.calls.app import create_app as calls_app
from services.calls.settings import CallsSettings
from services.contracts.app import create_app as contracts_app
from services.contracts.settings import ContractsSettings
from services.funding.app import create_app as funding_app
from services.funding.settings import FundingSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.auth import read_token
from shared.events.funding import FinancerOverdue
from shared.logs import JsonFormatter
from shared.topics import create_topics
from tests.integration.test_waiting import free_ports
from tests.support.auth_env import read_auth_secret
from tests.support.infra import KAFKA, MONGO_ADDRESS, TEST_LOCAL_DIR, Isolation, kafka_admin
from tests.support.kafka import eventually, publish_event, publish_raw
from tests.support.printed import (
    TOKEN_COMMAND,
    Printed,
    inventory,
    run_printed,
    scratch_checkout,
    user_env,
)

pytestmark = pytest.mark.integration
on_the_session_loop = pytest.mark.asyncio(loop_scope="session")

COMMANDS, ADDRESSES = inventory()

# What cannot run in a test, and why; each says where else it is exercised. A printed command or
# address matching none of these is run or fetched below.
EXCLUDED: list[tuple[str, str]] = [
    (
        r"^(\w+=\S+ )?make (up|down|demo|chaos|bench)$",
        "starts, resets or stops the local platform on the default ports (9092, 27017, 8001-8004,"
        " 9090), which the lead and the measured chaos run use; `make demo` checks its own story"
        " and figures (tests/e2e/test_story.py plays the same steps in-process), `make chaos` is"
        " its own measurement",
    ),
    (
        r"^make test$",
        "runs the whole suite, this test included, and stops the shared test stack; CI runs it",
    ),
    (
        r"^make unit$",
        "every unit test: CPU the shared machine's measured runs need; CI runs them (make test)",
    ),
    (
        r"^make setup$",
        "installs system packages (apt-get); every make target runs it first, CI on a fresh"
        " machine",
    ),
    (
        r"^docker compose ",
        "no Docker engine here; tests/unit/test_compose.py checks docker-compose.yml against the"
        " Compose specification",
    ),
    (
        r"^kafka-(configs|acls)\.sh ",
        "compose's broker administration, with placeholders; deploy/local/kafka.sh runs"
        " kafka-configs.sh and applies the ACLs on every local broker, the test broker included",
    ),
    (
        r"^deploy/local/(kafka|ferretdb|services)\.sh (start|stop|restart)\b",
        "starts or stops a server of the platform on its default ports; test-stack.sh starts the"
        " test broker and store with these scripts, tests/integration/test_waiting.py private ones",
    ),
    (
        r"^cat \.local/kafka/node-\*/",
        "needs a three-node cluster's data; make chaos reads these files to find the active"
        " controller (tests/chaos/stack.py); tests/integration/test_kafka_cluster.py runs a"
        " cluster",
    ),
    (
        r"^http://localhost:3000$",
        "Grafana runs in docker compose only; tests/unit/test_dashboards.py checks its dashboards",
    ),
    (
        r"^(http://)?127\.0\.0\.1:(16686|4318)\b",
        "Jaeger, the trace viewer, is built from Go (minutes the first time);"
        " tests/integration/test_trace_viewer.py starts it with deploy/local/jaeger.sh on its own"
        " ports, sends a span by OTLP/HTTP and fetches its UI and /trace/<id> page",
    ),
    (
        r"^127\.0\.0\.1:9[12]92$",
        "nodes 2 and 3 of KAFKA_BROKERS=3 make up; tests/integration/test_kafka_cluster.py runs the"
        " same layout (a node every 100 ports) on its own ports",
    ),
]

# Printed without the address it acts on: shared.topics defaults to the platform's broker.
ADAPTED = {
    ".venv/bin/python -m shared.topics create": (
        ".venv/bin/python -m shared.topics create --bootstrap 127.0.0.1:9092"
    ),
}
# The role a printed address names beside it ("token with role `state`"); else operator.
ROLE_OF = {"http://127.0.0.1:8002/envelope": "state"}
# Commands that run until stopped, and what they say once they work.
LONG_RUNNING = {
    "kcat -F .local/secrets/kcat-integrator.conf -G poles-integrator-crm calls.dossier": ("assign"),
}
SERVICES: dict[int, tuple[str, Callable[..., FastAPI], type]] = {
    8001: ("calls", calls_app, CallsSettings),
    8002: ("funding", funding_app, FundingSettings),
    8003: ("contracts", contracts_app, ContractsSettings),
    8004: ("notify", notify_app, NotifySettings),
}


def exclusion(printed: str) -> str | None:
    return next((why for pattern, why in EXCLUDED if re.search(pattern, printed)), None)


def runnable(items: list[Printed]) -> list[Printed]:
    return [item for item in items if exclusion(item.text) is None]


@dataclass
class Platform:
    checkout: Path
    ports: dict[str, str]
    """printed ``127.0.0.1:<port>`` -> where the test serves the same thing"""
    apps: dict[str, FastAPI]
    marker: str
    """a key, an id and a value the test published for the printed kcat commands to find"""
    error_line: str
    """the ERROR line of the scratch checkout's funding log"""
    env: dict[str, str]
    """where the scripts find what the test started (Prometheus's port)"""

    def local(self, printed: str) -> str:
        return re.sub(r"127\.0\.0\.1:\d+", lambda m: self.ports.get(m[0], m[0]), printed)

    async def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """``command`` as printed, on the test's addresses, in the scratch checkout (2 min)."""
        return await asyncio.to_thread(
            run_printed, self.checkout, self.local(command), 120, **self.env
        )

    async def authorization(self, role: str) -> dict[str, str]:
        """A bearer token for ``role``, minted by the printed token command."""
        minted = await self.run(TOKEN_COMMAND.replace("--role operator", f"--role {role}"))
        assert minted.returncode == 0, minted.stderr
        return {"Authorization": f"Bearer {minted.stdout.strip()}"}


@asynccontextmanager
async def on_port(app: FastAPI, port: int) -> AsyncIterator[None]:
    """``app`` served by uvicorn in this process on 127.0.0.1:``port``, once ready."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> bool:
                if not server.started:
                    return False
                return (await client.get("/health/ready")).status_code == 200

            await eventually(ready, seconds=60, interval=0.3)
        yield
    finally:
        server.should_exit = True
        await task


async def published_markers(marker: str) -> None:
    """What the printed kcat commands should find on the test broker's (unprefixed) topics."""
    await create_topics(kafka_admin())
    await publish_raw("calls.dossier", marker.encode(), key=marker.encode())
    await publish_raw("deadletter.funding", b"{}", headers=[("dlt-error", marker.encode())])
    overdue = FinancerOverdue(
        dossier_id=marker,
        call_id="PF-2008",
        call_kind="platform",
        pole_id="minalogic",
        platform_name="newcomer",
        financer="region:82",
        due_at=datetime(2009, 3, 1, tzinfo=UTC),
        detected_at=datetime(2009, 3, 2, tzinfo=UTC),
    )
    await publish_event(Isolation(""), overdue, key=marker, event_id=marker)


def write_funding_log(checkout: Path, marker: str) -> str:
    """A funding log as services.sh keeps it (one JSON object a line); returns its ERROR line."""
    formatter = JsonFormatter("funding")
    lines = [
        formatter.format(logging.LogRecord("funding", level, __file__, 1, message, None, None))
        for level, message in [(logging.INFO, "started"), (logging.ERROR, marker)]
    ]
    logs = checkout / ".local" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "funding.log").write_text("\n".join(lines) + "\n")
    return lines[1]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(
    isolation: Isolation, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    checkout = scratch_checkout(tmp_path_factory.mktemp("checkout"), TEST_LOCAL_DIR / "secrets")
    secret = read_auth_secret(checkout / ".local" / "secrets" / "auth.env")
    marker = f"newcomer-{uuid.uuid4().hex[:10]}"
    await published_markers(marker)
    store = MONGO_ADDRESS.removeprefix("mongodb://")
    ports = {"127.0.0.1:9092": KAFKA, "127.0.0.1:27017": store}
    apps: dict[str, FastAPI] = {}
    prometheus, *service_ports = free_ports(1 + len(SERVICES))
    env = {"PROMETHEUS_PORT": str(prometheus)}
    async with AsyncExitStack() as stack:
        for port, (printed, (name, create_app, settings)) in zip(
            service_ports, SERVICES.items(), strict=True
        ):
            apps[name] = create_app(isolation.settings(settings, auth_secret=secret))
            await stack.enter_async_context(on_port(apps[name], port))
            ports[f"127.0.0.1:{printed}"] = f"127.0.0.1:{port}"
        ports["127.0.0.1:9090"] = f"127.0.0.1:{prometheus}"
        it = Platform(checkout, ports, apps, marker, write_funding_log(checkout, marker), env)
        started = await it.run("deploy/local/prometheus.sh start")
        assert started.returncode == 0, started.stderr
        try:
            yield it
        finally:
            await it.run("deploy/local/prometheus.sh stop")


def test_every_printed_command_and_address_is_in_the_inventory_or_excluded_with_a_reason() -> None:
    texts = [item.text for item in COMMANDS + ADDRESSES]
    # The documents print these: the inventory must find them, or its parsing lost something.
    for expected in [
        TOKEN_COMMAND,
        "make demo",
        "make down",
        ".venv/bin/python -m shared.kafka_acls list",
        "kcat -F .local/secrets/kcat-integrator.conf -C -t calls.dossier -e",
        "http://127.0.0.1:9090/classic/alerts",
        "http://127.0.0.1:8001/docs",
        "POST /subscriptions/<id>/resume",
    ]:
        assert expected in texts, expected
    for pattern, why in EXCLUDED:
        assert any(re.search(pattern, text) for text in texts), f"unused exclusion {pattern}"
        assert len(why) > 40, pattern
    assert set(ADAPTED) <= set(texts)
    assert set(LONG_RUNNING) <= set(texts)
    assert set(ROLE_OF) <= set(texts)


async def run_long(platform: Platform, command: str, says: str) -> str:
    """Run ``command`` until its standard error says ``says`` (at most 60 s), then stop it."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        platform.local(command),
        cwd=platform.checkout,
        env=user_env(platform.checkout, **platform.env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stderr is not None
    said: list[str] = []
    try:
        async with asyncio.timeout(60):
            while says not in "".join(said):
                line = await process.stderr.readline()
                if not line:
                    break
                said.append(line.decode())
    except TimeoutError:
        pass
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        await process.wait()
    return "".join(said)


@on_the_session_loop
@pytest.mark.parametrize("printed", runnable(COMMANDS), ids=lambda item: item.text[:70])
async def test_a_printed_command_runs_as_printed(platform: Platform, printed: Printed) -> None:
    command = printed.text
    if command in LONG_RUNNING:
        said = await run_long(platform, command, LONG_RUNNING[command])
        assert LONG_RUNNING[command] in said, said
        return
    done = await platform.run(ADAPTED.get(command, command))
    out = done.stdout
    if re.match(r"^(make status|deploy/local/\S+\.sh status\b)", command):
        # Says what runs. In the scratch checkout that is Prometheus, started by its script; the
        # services run in this process (not as services.sh's processes) and the broker and the
        # store are the test stack's, so the scripts say those are not running (exit 1 or 3).
        said = out + done.stderr
        assert done.returncode in (0, 1, 3), said
        for name in command.split()[2:]:
            assert f"{name} not ready" in said, said
        if "prometheus" in command or command == "make status":
            assert re.search(r"^running \(pid \d+\) and ready on http://", out, re.M), said
        else:
            assert re.search(r"not ready|not running|^stopped$", said, re.M), said
        return
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    if command == TOKEN_COMMAND:
        secret = read_auth_secret(platform.checkout / ".local" / "secrets" / "auth.env")
        assert read_token(secret, out.strip()).has("operator")
    elif command.startswith("kcat") and "calls.dossier" in command:
        assert platform.marker in out, out
    elif "deadletter.funding" in command:
        assert f"dlt-error={platform.marker}" in out, out
    elif "grep financer-overdue" in command:
        assert platform.marker in out, out
    elif command.startswith('grep \'"level":"ERROR"\''):
        assert out.strip() == platform.error_line
    elif "| grep" in command:
        assert out.strip(), command
    elif "/health/ready" in command:
        assert '"status":"ready"' in out.replace(" ", ""), out
    elif "shared.kafka_acls list" in command:
        assert "poles-integrator" in out
    elif "shared.topics create" in command:
        assert out.startswith("topics created: "), out
    elif command == "deploy/local/kafka.sh bootstrap":
        assert out.strip() == "127.0.0.1:9092"


def route_served(app: FastAPI, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


@on_the_session_loop
@pytest.mark.parametrize("printed", runnable(ADDRESSES), ids=lambda item: item.text[:70])
async def test_a_printed_address_answers(platform: Platform, printed: Printed) -> None:
    address = printed.text
    placeholder = re.compile(r"<[^>]+>")
    if route := re.match(r"^(GET|POST|PUT|PATCH|DELETE) (/\S+)$", address):
        method, path = route[1], placeholder.sub("x", route[2])
        served = [name for name, app in platform.apps.items() if route_served(app, method, path)]
        assert served, f"no service serves {address}"
    elif address.startswith("/"):
        async with httpx.AsyncClient(timeout=30) as http:
            for printed_port, (name, _, _) in SERVICES.items():
                url = platform.local(f"http://127.0.0.1:{printed_port}{address}")
                answer = await http.get(url, headers=await platform.authorization("operator"))
                assert answer.status_code == 200, f"{name} {address}: {answer.status_code}"
    elif address.startswith("mongodb://"):
        password = (platform.checkout / ".local" / "secrets" / "mongo.env").read_text()
        root = re.search(r"^MONGO_ROOT_PASSWORD=(.*)$", password, re.MULTILINE)
        assert root
        url = platform.local(address.replace("<MONGO_ROOT_PASSWORD>", root[1].strip()))
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=10_000
        )
        try:
            assert (await client.admin.command("hello"))["ok"] == 1
            if "root:" in address:
                assert "admin" in await client.list_database_names()
        finally:
            await client.close()
    elif address.startswith("http"):
        url = platform.local(address)
        if placeholder.search(url):
            service = SERVICES.get(httpx.URL(placeholder.sub("x", address)).port or 0)
            assert service, f"{address}: a route with a placeholder of no service"
            path = httpx.URL(placeholder.sub("x", url)).path
            assert route_served(platform.apps[service[0]], "GET", path), address
            return
        headers = await platform.authorization(ROLE_OF.get(address, "operator"))
        async with httpx.AsyncClient(follow_redirects=True, timeout=30) as http:
            answer = await http.get(url, headers=headers)
        assert answer.status_code == 200, f"{address} -> {url}: {answer.status_code}"
    else:
        host, port = platform.local(address).split(":")
        # A bare address (the broker, the store): it accepts a connection.
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
        writer.close()
        await writer.wait_closed()
