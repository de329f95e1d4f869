"""Settings read from the environment (prefix ``POLES_``), built by a factory, never at import."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs to start.

    Each service subclasses it with its own name and port as defaults, for example
    ``class CallsSettings(ServiceSettings): service: str = "calls"; http_port: int = 8001``,
    and builds it in its composition root (``CallsSettings()``), so that the environment wins.
    """

    model_config = SettingsConfigDict(env_prefix="POLES_", extra="ignore")

    service: str = Field(description="calls, funding, contracts or notify")
    instance: str = Field(default="1", description="tells two replicas of a service apart")
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092",
        description="host:port of the brokers, comma-separated (a cluster: every broker's)",
    )
    topic_prefix: str = Field(
        default="", description="prepended to every topic name: isolates test runs on one broker"
    )
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    mongo_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongo_database: str | None = Field(default=None, description="defaults to poles_<service>")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    auth_secret: SecretStr = Field(description="HMAC key that signs and checks bearer tokens")
    max_body_bytes: int = 256 * 1024
    outbox_lease_seconds: float = 10.0
    relay_poll_seconds: float = Field(
        default=30.0,
        description="how often the outbox relay searches the store for events nobody told it "
        "about (a save tells it at once; a relay that died is taken over when its lease ends)",
    )
    kafka_static_membership: bool = Field(
        default=False,
        description="join the consumer groups as a static member (KIP-345) named by the client "
        "id, poles-<service>-<instance>: a restarted process takes its partitions back at once "
        "instead of waiting for the dead member's session to end and a rebalance. Only when "
        "POLES_INSTANCE is unique per replica (the broker fences a second member of the same "
        "name) and kept across restarts; a static member that stops leaves no LeaveGroup, so "
        "its partitions wait for its session to end (10 s) before another member takes them",
    )
    consumer_max_records: int = 500
    consumer_max_attempts: int = 3
    metrics_refresh_seconds: float = Field(
        default=15.0,
        description="how often gauges read from the store are refreshed (Prometheus scrapes "
        "every 15 s; on FerretDB each refresh reads whole collections)",
    )
    clock_start: datetime | None = Field(
        default=None, description="simulated clock: the instant the service starts at"
    )
    clock_speed: float = Field(default=1.0, description="simulated seconds per real second")
    clock_anchor: float | None = Field(
        default=None,
        description="simulated clock: the real Unix time at which it reads clock_start",
    )
    log_level: str = "INFO"
    otlp_endpoint: str = Field(
        default="",
        description="where spans are exported, OTLP/HTTP (protobuf): the collector's base URL, "
        "e.g. http://127.0.0.1:4318 (spans are POSTed to <endpoint>/v1/traces); empty: tracing "
        "is off (no exporter, a no-op tracer)",
    )
    trace_sampling: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="the share of traces kept, 0 to 1, decided where a trace starts and followed "
        "by every service after (parent-based). 1.0 by default: the platform's volumes are small "
        "and an operator asked about a dossier wants its trace, whichever it is",
    )

    @property
    def database_name(self) -> str:
        return self.mongo_database or f"poles_{self.service}"

    @property
    def kafka_servers(self) -> list[str]:
        """The bootstrap list as FastStream's broker takes it (it reads a str as one host)."""
        return [server.strip() for server in self.kafka_bootstrap.split(",") if server.strip()]

    @property
    def client_id(self) -> str:
        return f"poles-{self.service}-{self.instance}"

    @property
    def group_instance_id(self) -> str | None:
        """The consumers' static member name, or None for dynamic membership."""
        return self.client_id if self.kafka_static_membership else None
