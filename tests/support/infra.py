"""Where the test broker and store are, and private topics and databases for each test.

``make test`` starts a Kafka broker on 127.0.0.1:19092 and FerretDB on 127.0.0.1:27027, apart from
the platform that ``make up`` runs on 9092 and 27017, so tests never touch its data. Each test
module gets its own topic prefix and each test its own database.

The test broker is secured like every other (SASL/SCRAM, ACLs). Tests work on private prefixed
copies of the topics, which no service principal's ACLs cover, so the services under test and the
helpers log in as the broker's admin, whose password deploy/local/kafka.sh generated into the test
stack's secrets file (tests/integration/test_kafka_acls.py checks the principals themselves).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from shared.auth import mint_token
from shared.kafka_access import KafkaAccess, local_access
from shared.settings import ServiceSettings
from shared.topics import create_topics
from tests.support.store_logins import admin_url

ROOT = Path(__file__).resolve().parents[2]
KAFKA = os.environ.get("POLES_TEST_KAFKA", "127.0.0.1:19092")
TEST_LOCAL_DIR = Path(os.environ.get("POLES_TEST_LOCAL_DIR") or ROOT / ".local" / "test")
MONGO_ADDRESS = os.environ.get("POLES_TEST_MONGO", "mongodb://127.0.0.1:27027")
# Tests work on private databases, which no service's login covers: they log in as the store's
# root, whose password deploy/local/ferretdb.sh generated (test_store_logins.py checks the others).
MONGO = admin_url(MONGO_ADDRESS, TEST_LOCAL_DIR)
AUTH_SECRET = "test-secret-that-is-long-enough-for-hs256"


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@functools.cache
def kafka_as(principal: str = "admin") -> KafkaAccess:
    """A principal's login on the test broker (read when first needed: the broker makes it)."""
    return local_access(KAFKA, principal, TEST_LOCAL_DIR)


def kafka_admin() -> KafkaAccess:
    return kafka_as("admin")


@dataclass(frozen=True)
class Isolation:
    """A private set of topics (``<prefix>calls.dossier``, ...) and a database name factory."""

    topic_prefix: str

    def database(self, service: str) -> str:
        return unique(f"t_{service}_")

    def values(self, name: str, **overrides: Any) -> dict[str, Any]:
        """One service's settings in a test: the test broker and store, private names."""
        admin = kafka_admin()
        assert admin.password is not None
        return {
            "kafka_bootstrap": KAFKA,
            "kafka_username": admin.username,
            "kafka_password": admin.password.get_secret_value(),
            "mongo_url": MONGO,
            "mongo_database": self.database(name),
            "topic_prefix": self.topic_prefix,
            "auth_secret": AUTH_SECRET,
            "relay_poll_seconds": 0.2,
            "outbox_lease_seconds": 2,
            "log_level": "WARNING",
            **overrides,
        }

    def settings(self, cls: type[SettingsT], **overrides: Any) -> SettingsT:
        name = str(overrides.get("service", cls.model_fields["service"].default))
        return cls(**self.values(name, **overrides))

    def env(self, service: str, **overrides: Any) -> dict[str, str]:
        """The same settings as environment variables, for a service run as a process."""
        values = self.values(service, **overrides)
        return {f"POLES_{name.upper()}": str(value) for name, value in values.items()}


async def isolated_topics() -> Isolation:
    prefix = unique("t") + "."
    await create_topics(kafka_admin(), prefix=prefix, partitions=2)
    return Isolation(prefix)


def token(*roles: str, subject: str = "tester", ttl: int = 3600) -> str:
    return mint_token(AUTH_SECRET, subject, list(roles), ttl)


def auth(*roles: str, subject: str = "tester") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*roles, subject=subject)}"}


STARTED_WITHIN_SECONDS = 60.0


@asynccontextmanager
async def serve(app: FastAPI, *, started: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan (broker, relay, consumers) in this process and talk HTTP to it,
    once it started (a service serves at once and starts in the background), or at once
    (``started=False``: tests of a service that waits)."""
    async with app.router.lifespan_context(app):
        readiness = app.state.readiness
        try:
            async with asyncio.timeout(STARTED_WITHIN_SECONDS):
                if started:
                    await readiness.wait()
        except TimeoutError:
            raise AssertionError(
                f"not started within {STARTED_WITHIN_SECONDS} s: waits for {readiness.waiting_for}"
            ) from None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


def offline_app(service: str) -> FastAPI:
    """A service's app (``calls``, ``funding``, ...) on settings that name no reachable server:
    enough for what it serves without its broker and store (metrics, its AsyncAPI document)."""
    app_module = importlib.import_module(f"services.{service}.app")
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings = getattr(settings_module, f"{service.capitalize()}Settings")(
        auth_secret="unused-secret-long-enough-for-hs256-signing",
        kafka_bootstrap="127.0.0.1:1",
        mongo_url="mongodb://127.0.0.1:1",
    )
    app: FastAPI = app_module.create_app(settings)
    return app
