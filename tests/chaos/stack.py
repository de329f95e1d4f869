"""The chaos run's own stack: Kafka (one broker, or a cluster of three), FerretDB and the four
services, started with the project's own scripts (``deploy/local``), killed by the process ids
those scripts recorded.

A pid is checked against its command line before any signal, so a pid file left by a dead
process never makes us kill a stranger. Second instances of the services are started here, as
children, with ``POLES_INSTANCE=2`` and ports 28011-28014.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from shared.auth import mint_token
from shared.kafka_access import KafkaAccess, local_access
from shared.kafka_acls import principal
from shared.topics import ALL_TOPICS, create_topics
from tests.support.auth_env import read_auth_secret
from tests.support.store_logins import secrets_file, store_url

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local" / "chaos"
SCRIPTS = ROOT / "deploy" / "local"
LOGS = LOCAL / "logs"
KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_PORT_STEP = 29192, 29193, 100
BROKERS = 3
"""Brokers of the run's Kafka (``use_brokers``): node N listens on 29192 + (N-1)*100."""
MONGO = "mongodb://127.0.0.1:27047"
PORT_BASE = 28000
SECOND_PORT_BASE = 28010
SERVICES = ("calls", "funding", "contracts", "notify")
INFRA_SIGNATURES = {"kafka": "kafka.Kafka", "ferretdb": "ferretdb"}
READY_SECONDS = 60.0


def port_of(service: str, instance: int = 1) -> int:
    base = PORT_BASE if instance == 1 else SECOND_PORT_BASE
    return base + 1 + SERVICES.index(service)


def use_brokers(brokers: int) -> None:
    """Run on one broker or a cluster (set once, before the stack starts)."""
    global BROKERS
    BROKERS = brokers


def broker_port(node: int) -> int:
    return KAFKA_PORT + (node - 1) * KAFKA_PORT_STEP


def kafka_bootstrap() -> str:
    """Every broker's address, as deploy/local/kafka.sh bootstrap prints it."""
    return ",".join(f"127.0.0.1:{broker_port(node)}" for node in range(1, BROKERS + 1))


def broker_target(node: int) -> str:
    """The fault target of one broker of a cluster: ``kafka-<node>``."""
    return f"kafka-{node}"


def kafka_as(principal: str = "admin") -> KafkaAccess:
    """A principal's login on the chaos brokers (kafka.sh generated the passwords)."""
    return local_access(kafka_bootstrap(), principal, LOCAL)


def active_controller() -> int | None:
    """The node that leads the KRaft quorum (the active controller), as the live nodes' own
    quorum-state files say (the highest epoch wins). A broker's DescribeCluster names a random
    broker as "controller" under KRaft, and Kafka's quorum tool is not among the jars here."""
    best: tuple[int, int] | None = None
    for node in range(1, BROKERS + 1):
        node_dir = LOCAL / "kafka" / f"node-{node}"
        if live_pid(node_dir / "kafka.pid", INFRA_SIGNATURES["kafka"]) is None:
            continue
        state = node_dir / "data" / "__cluster_metadata-0" / "quorum-state"
        try:
            quorum = json.loads(state.read_text())
        except (OSError, ValueError):
            continue
        leader, epoch = int(quorum.get("leaderId", -1)), int(quorum.get("leaderEpoch", -1))
        if leader > 0 and (best is None or epoch > best[1]):
            best = (leader, epoch)
    return None if best is None else best[0]


def say(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""
    return "" if state == "Z" else raw.replace(b"\0", b" ").decode(errors="replace")


def live_pid(pid_file: Path, signature: str) -> int | None:
    """The pid in ``pid_file`` if that process is alive and its command line holds
    ``signature``; None otherwise."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if signature in _cmdline(pid) else None


async def ready(port: int) -> bool:
    """Whether a service answers /health/ready on ``port`` within READY_SECONDS."""
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://127.0.0.1:{port}/health/ready")).is_success:
                    return True
            await asyncio.sleep(0.2)
    return False


def _exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def gone(pid: int, seconds: float = 10.0) -> bool:
    """Wait until the process is reaped, not only dead: the scripts take a zombie for alive."""
    deadline = time.monotonic() + seconds
    while _exists(pid) and time.monotonic() < deadline:  # noqa: ASYNC110 - /proc has no event
        await asyncio.sleep(0.05)
    return not _exists(pid)


class Stack:
    """What the chaos run started, so that it kills, restarts and finally stops exactly that."""

    def __init__(self, service_settings: Mapping[str, str]) -> None:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("POLES_") and not k.startswith("KAFKA_")
        }
        self.env = {
            **inherited,
            "POLES_LOCAL_DIR": str(LOCAL),
            "KAFKA_BROKERS": str(BROKERS),
            "KAFKA_PORT": str(KAFKA_PORT),
            "KAFKA_CONTROLLER_PORT": str(KAFKA_CONTROLLER_PORT),
            "KAFKA_PORT_STEP": str(KAFKA_PORT_STEP),
            "FERRETDB_PORT": "27047",
            "SERVICES_PORT_BASE": str(PORT_BASE),
            "POLES_KAFKA_BOOTSTRAP": kafka_bootstrap(),
            "POLES_MONGO_URL": MONGO,
            **service_settings,
        }
        self.second: dict[str, asyncio.subprocess.Process] = {}

    # -- scripts ----------------------------------------------------------------------------

    async def script(self, script: str, *args: str, seconds: float = 180.0) -> None:
        """Run one of deploy/local's scripts; its output goes to the run's log, not the table."""
        LOGS.mkdir(parents=True, exist_ok=True)
        with (LOGS / "chaos-scripts.log").open("a") as out:
            process = await asyncio.create_subprocess_exec(
                str(SCRIPTS / script), *args, env=self.env, stdout=out, stderr=out, cwd=ROOT
            )
            try:
                code = await asyncio.wait_for(process.wait(), seconds)
            except TimeoutError:
                raise RuntimeError(f"{script} {' '.join(args)} took more than {seconds}s") from None
            finally:
                if process.returncode is None:  # timed out, or the run is being cancelled
                    process.kill()
                    await process.wait()
        if code != 0:
            raise RuntimeError(f"{script} {' '.join(args)} failed ({code}); see {out.name}")

    async def wipe(self) -> None:
        """Stop what a previous run may have left, then remove its data: each run starts empty."""
        for name in SERVICES:
            pid = live_pid(LOCAL / "run" / f"{name}-2.pid", f"services.{name}.app")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        for script in ("services.sh", "ferretdb.sh", "kafka.sh"):
            try:
                await self.script(script, "stop")
            except RuntimeError as error:
                say(f"cleaning up: {error}")
        shutil.rmtree(LOCAL, ignore_errors=True)

    async def start(self) -> None:
        await self.wipe()
        say(
            f"starting Kafka ({BROKERS} broker(s): {kafka_bootstrap()}) and FerretDB on 27047 "
            "(fresh data under .local/chaos)"
        )
        await self.restart("kafka")
        await self.restart("ferretdb")
        await create_topics(kafka_as(), ALL_TOPICS)

    async def start_service(self, name: str) -> None:
        await self.script("services.sh", "start", name, seconds=120)

    async def stop(self) -> None:
        for name in list(self.second):
            await self.stop_second(name)
        for script in ("services.sh", "ferretdb.sh", "kafka.sh"):
            try:
                await self.script(script, "stop")
            except RuntimeError as error:
                say(f"stopping: {error}")

    # -- second instances -------------------------------------------------------------------

    async def spawn_second(self, name: str) -> None:
        """Start instance 2 of a service (same consumer group, its own HTTP port), in place of
        one that may still be starting."""
        if name in self.second:
            await self.kill(f"{name}#2")
        login = kafka_as(principal(name))  # as services.sh starts instance 1
        assert login.password is not None
        LOGS.mkdir(parents=True, exist_ok=True)
        with (LOGS / f"{name}-2.log").open("a") as out:
            process = await asyncio.create_subprocess_exec(
                str(ROOT / ".venv" / "bin" / "python"),
                "-m",
                f"services.{name}.app",
                env={
                    **self.env,
                    "POLES_AUTH_SECRET": self.secret(),
                    "POLES_HTTP_PORT": str(port_of(name, 2)),
                    "POLES_INSTANCE": "2",
                    # its service's own store login, as services.sh gives instance 1
                    "POLES_MONGO_URL": store_url(MONGO, LOCAL, name)
                    if secrets_file(LOCAL).is_file()
                    else MONGO,
                    "POLES_KAFKA_USERNAME": str(login.username),
                    "POLES_KAFKA_PASSWORD": login.password.get_secret_value(),
                },
                stdout=out,
                stderr=out,
                stdin=asyncio.subprocess.DEVNULL,
                cwd=ROOT,
                start_new_session=True,
            )
        self.second[name] = process
        (LOCAL / "run" / f"{name}-2.pid").write_text(str(process.pid))

    async def stop_second(self, name: str) -> None:
        process = self.second.pop(name, None)
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    # -- faults -----------------------------------------------------------------------------

    def pid_of(self, target: str) -> int | None:
        """``kafka`` (the one broker), ``kafka-<node>`` (one broker of a cluster), ``ferretdb``,
        ``<service>`` (instance 1) or ``<service>#2``."""
        if target in INFRA_SIGNATURES:
            return live_pid(LOCAL / target / f"{target}.pid", INFRA_SIGNATURES[target])
        if target.startswith("kafka-"):
            node_dir = LOCAL / "kafka" / f"node-{target.removeprefix('kafka-')}"
            return live_pid(node_dir / "kafka.pid", INFRA_SIGNATURES["kafka"])
        name, _, instance = target.partition("#")
        pid_file = LOCAL / "run" / (f"{name}-2.pid" if instance == "2" else f"{name}.pid")
        return live_pid(pid_file, f"services.{name}.app")

    async def kill(self, target: str) -> bool:
        """SIGKILL the target and wait until it is gone; False if it was not running."""
        pid = self.pid_of(target)
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        process = self.second.get(target.partition("#")[0]) if "#" in target else None
        if process is not None:
            await process.wait()
        return await gone(pid)

    async def restart(self, target: str) -> None:
        """Start the target again; returns once it is ready."""
        if target in INFRA_SIGNATURES:
            await self._start_infrastructure(target)
        elif target.startswith("kafka-"):  # kafka.sh starts the nodes that do not run
            await self._start_infrastructure("kafka")
        elif target.endswith("#2"):
            await self.spawn_second(target[:-2])
            if not await ready(port_of(target[:-2], 2)):
                raise RuntimeError(f"{target} not ready after {READY_SECONDS}s")
        else:
            await self.start_service(target)

    async def _start_infrastructure(self, target: str) -> None:
        """Start the broker or the store, again if its port was taken.

        A port in Linux's ephemeral range (32768-60999) can be taken, while the server is down,
        by a client reconnecting to it (it connects to itself) and the restarted server then fails
        to bind: the stack's ports are below that range, and a failed start is tried again.
        """
        for attempt in range(1, 4):
            try:
                await self.script(f"{target}.sh", "start")
                return
            except RuntimeError as error:
                if attempt == 3:
                    raise
                say(f"{target} did not start (attempt {attempt}): {error}; again")
                await asyncio.sleep(2.0)

    # -- tokens -----------------------------------------------------------------------------

    def secret(self) -> str:
        return read_auth_secret(LOCAL / "secrets" / "auth.env")

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(self.secret(), subject, list(roles), ttl_seconds=4 * 3600)


class Tokens:
    """The bearer tokens of the run's actors, minted once with the stack's secret."""

    STATE_SUBJECT = "chaos-state"

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self.state = stack.token(self.STATE_SUBJECT, "state")
        self.cdc = stack.token("chaos-cdc", "cdc")
        self.operator = stack.token("chaos-operator", "operator")
        self._scoped: dict[str, str] = {}

    def pole(self, pole_id: str) -> str:
        return self._of(f"pole:{pole_id}")

    def region(self, code: str) -> str:
        return self._of(f"region:{code}")

    def agency(self, name: str) -> str:
        return self._of(f"agency:{name}")

    @staticmethod
    def subject_of(role: str) -> str:
        """The subject of a scoped role's token (a command's ids derive from it)."""
        return f"chaos-{role.replace(':', '-')}"

    def _of(self, role: str) -> str:
        if role not in self._scoped:
            self._scoped[role] = self._stack.token(self.subject_of(role), role)
        return self._scoped[role]
