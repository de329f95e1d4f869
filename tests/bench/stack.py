"""The benchmark's own stack: a broker, a store and the services, apart from the platform's and the
tests', started with the project's own scripts and stopped by the process ids they recorded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.auth import mint_token
from shared.kafka_access import KafkaAccess, local_access
from shared.topics import ALL_TOPICS, create_topics
from tests.support.auth_env import read_auth_secret
from tests.support.store_logins import admin_url

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local" / "bench"
SCRIPTS = ROOT / "deploy" / "local"
KAFKA = "127.0.0.1:29092"
MONGO = "mongodb://127.0.0.1:27037"
PORT_BASE = 18000
SERVICES = ("calls", "funding", "contracts", "notify")
PORTS = {name: PORT_BASE + 1 + index for index, name in enumerate(SERVICES)}


def kafka_as(principal: str = "admin") -> KafkaAccess:
    """A principal's login on the bench's broker (kafka.sh generated the passwords)."""
    return local_access(KAFKA, principal, LOCAL)


def stack_env(**extra: str) -> dict[str, str]:
    """The environment every script and service of the bench runs with."""
    return {
        **os.environ,
        "POLES_LOCAL_DIR": str(LOCAL),
        "KAFKA_PORT": "29092",
        "KAFKA_CONTROLLER_PORT": "29093",
        "FERRETDB_PORT": "27037",
        "SERVICES_PORT_BASE": str(PORT_BASE),
        "POLES_KAFKA_BOOTSTRAP": KAFKA,
        "POLES_MONGO_URL": MONGO,
        **extra,
    }


def run_script(script: str, *args: str, env: dict[str, str] | None = None) -> None:
    """Run one of deploy/local's scripts; its output goes to the bench's log, not the table."""
    log = LOCAL / "logs" / "bench-scripts.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        subprocess.run(
            [str(SCRIPTS / script), *args],
            env=env or stack_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=180,
        )


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass
class Stack:
    """What the bench started, so that it stops exactly that."""

    service_env: dict[str, str]
    extra_pids: list[int] = field(default_factory=list)

    def secret(self) -> str:
        return read_auth_secret(LOCAL / "secrets" / "auth.env")

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(self.secret(), subject, list(roles), ttl_seconds=3600)

    def pids(self) -> dict[str, int]:
        """The running processes of the stack, by name (broker, store and services)."""
        files = {
            "kafka": LOCAL / "kafka" / "kafka.pid",
            "ferretdb": LOCAL / "ferretdb" / "ferretdb.pid",
            **{name: LOCAL / "run" / f"{name}.pid" for name in SERVICES},
        }
        found = {}
        for name, path in files.items():
            try:
                pid = int(path.read_text().strip())
                os.kill(pid, 0)
            except (OSError, ValueError):
                continue
            found[name] = pid
        return found

    def start_services(self) -> None:
        run_script("services.sh", "start", env=self.service_env)

    def stop_services(self) -> None:
        run_script("services.sh", "stop", env=self.service_env)

    def spawn(self, module: str, env: dict[str, str], log_name: str) -> int:
        """Start one more service process (a second instance); stopped by ``stop``."""
        log = (LOCAL / "logs" / log_name).open("a")
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", module],
            # root on the store: extra processes may work on private databases (bench_scale*),
            # which no service's login covers
            env={
                **self.service_env,
                "POLES_MONGO_URL": admin_url(MONGO, LOCAL),
                **env,
                "POLES_AUTH_SECRET": self.secret(),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
        )
        self.extra_pids.append(process.pid)
        return process.pid

    def kill_spawned(self) -> None:
        for pid in self.extra_pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 10
        for pid in self.extra_pids:
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
        self.extra_pids.clear()

    def stop(self) -> None:
        self.kill_spawned()
        for script in ("services.sh", "ferretdb.sh", "kafka.sh"):
            try:
                run_script(script, "stop", env=self.service_env)
            except subprocess.SubprocessError as error:
                say(f"stopping with {script} failed: {error}")


def wipe() -> None:
    """Stop a stack a previous run left behind and remove its data: each run starts empty."""
    for script in ("services.sh", "ferretdb.sh", "kafka.sh"):
        with contextlib.suppress(subprocess.SubprocessError):
            run_script(script, "stop")
    for path in (LOCAL / "kafka" / "data", LOCAL / "ferretdb" / "data", LOCAL / "run"):
        shutil.rmtree(path, ignore_errors=True)
    for log in (LOCAL / "logs").glob("*.log"):
        log.unlink()


async def start(service_env: dict[str, str]) -> Stack:
    """Broker, store, topics and the four services, each ready when this returns."""
    wipe()
    say("starting Kafka on 29092 and FerretDB on 27037 (fresh data)")
    run_script("kafka.sh", "start")
    run_script("ferretdb.sh", "start")
    await create_topics(kafka_as(), ALL_TOPICS)
    stack = Stack(stack_env(**service_env))
    say("starting the four services on 18001-18004")
    stack.start_services()
    return stack


async def wait_ready(port: int, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    return False
