"""The local platform of ``make up`` (Kafka on 9092, FerretDB on 27017, the topics, the four
services, Prometheus, the trace viewer), started with deploy/local's scripts as ``make up`` does,
but reset to empty and with the services on the story's simulated clock.

The reset deletes the platform's topics (their consumer groups' offsets go with them) and
drops the services' databases, so that a second run gives the same figures.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient

from shared.kafka_access import local_access
from shared.topics import ALL_TOPICS, SERVICES
from tests.story.platform import KafkaOptions
from tests.support.auth_env import read_auth_secret
from tests.support.store_logins import admin_url

ROOT = Path(__file__).resolve().parents[2]
LOCAL = Path(os.environ.get("POLES_LOCAL_DIR", ROOT / ".local"))
KAFKA = "127.0.0.1:9092"
MONGO = "mongodb://127.0.0.1:27017"
DATABASES = tuple(f"poles_{service}" for service in SERVICES)


def kafka_as(principal: str) -> KafkaOptions:
    """A principal's login on the local broker (kafka.sh generated its password): ``admin``
    resets and reads every topic, ``poles-command-senders`` sends the State's and the CDC's
    commands."""
    return local_access(KAFKA, principal, LOCAL).options()


def run(*command: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def script(name: str, *args: str, env: dict[str, str] | None = None) -> None:
    run(str(ROOT / "deploy" / "local" / name), *args, env=env)


def start_infrastructure() -> bool:
    """What ``make up`` starts but the services, which wait for the topics and the clock;
    whether the trace viewer runs (the services then export their spans to it)."""
    script("services.sh", "stop")
    script("kafka.sh", "start")
    script("ferretdb.sh", "start")
    script("prometheus.sh", "start")
    return start_viewer()


def start_viewer() -> bool:
    """The trace viewer (Jaeger), or False and a word of why: the story plays without it."""
    try:
        script("jaeger.sh", "start")
    except (subprocess.CalledProcessError, OSError):
        print("The trace viewer did not start (see above): the story plays without traces.")
        return False
    return True


async def delete_topics() -> None:
    names = [topic.name for topic in ALL_TOPICS]
    admin = AIOKafkaAdminClient(**kafka_as("admin"), client_id="poles-demo")
    await admin.start()
    try:
        doomed = set(names) & set(await admin.list_topics())
        if doomed:
            await admin.delete_topics(sorted(doomed))
        for _ in range(300):  # the broker deletes in the background
            if not doomed & set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def create_topics() -> None:
    run(sys.executable, "-m", "shared.topics", "create")


def drop_databases() -> None:
    client: MongoClient[dict[str, object]] = MongoClient(admin_url(MONGO, LOCAL))
    try:
        for name in DATABASES:
            client.drop_database(name)
    finally:
        client.close()


def auth_secret() -> str:
    return read_auth_secret(LOCAL / "secrets" / "auth.env")


def start_services(settings: dict[str, str]) -> None:
    script("services.sh", "start", env={**os.environ, **settings})


def restart_on_real_clock() -> None:
    """After the story: the services again on the machine's clock and default settings."""
    script("services.sh", "stop")
    script("services.sh", "start")
