"""The notify service's settings: where mail goes, how hard and how long deliveries are tried."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from services.notify.targets import TargetPolicy
from shared.settings import ServiceSettings

# 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h: about 24 h from the first attempt.
DEFAULT_RETRY_DELAYS = [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 28800.0]


class NotifySettings(ServiceSettings):
    service: str = "notify"
    http_port: int = 8004

    notify_allow_private_targets: bool = Field(
        default=False,
        description="FOR TESTS AND THE LOCAL DEMO ONLY: let webhooks point to any private or "
        "loopback address; in production name the allowed ones in notify_allowed_private_targets",
    )
    notify_allowed_private_targets: str = Field(
        default="",
        description="the private networks (CIDR) and host names webhooks may reach although not "
        "public, comma-separated, e.g. '10.20.0.0/16,sirh.region-82.fr'; read at start",
    )
    notify_smtp_host: str = "127.0.0.1"
    notify_smtp_port: int = 25
    notify_smtp_username: str | None = None
    notify_smtp_password: SecretStr | None = None
    notify_smtp_starttls: bool = False
    notify_mail_from: str = "Pôles 2.0 <ne-pas-repondre@poles.gouv.fr>"

    notify_retry_delays_seconds: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_DELAYS),
        description="wait before each retry; a delivery gives up when they are spent",
    )
    notify_retry_jitter: float = Field(default=0.2, ge=0, le=1, description="± share of a delay")
    notify_max_retry_after_seconds: float = 86400.0
    notify_request_timeout_seconds: float = 10.0
    notify_max_concurrent_deliveries: int = 50
    notify_max_in_flight_per_target: int = Field(
        default=25,
        ge=1,
        description="deliveries in flight at once to one subscription or one e-mail host: a "
        "slow receiver holds this many slots at most (by default half of them, so that a fast "
        "receiver alone is not held to a few: each delivery waits on the store to save its "
        "attempt, and four in flight delivered 13 a second)",
    )
    notify_smtp_connections: int = Field(
        default=8, ge=1, description="SMTP connections kept open (at most the delivery slots)"
    )
    notify_delivery_lease_seconds: float = 60.0
    notify_dispatch_poll_seconds: float = Field(
        default=30.0,
        description="how often the store is searched for due deliveries nobody told this "
        "dispatcher about (recorded while it was down, a replica's retries); its own recorded "
        "deliveries and retries are sent when due without a search",
    )
    notify_backfill_poll_seconds: float = Field(
        default=10.0,
        description="how often the store is searched for backfills to run or resume (one "
        "created on this instance starts at once)",
    )
    notify_secret_overlap_seconds: float = Field(
        default=86400.0, description="how long the previous secret stays valid after a rotation"
    )
    notify_disable_after_failing_seconds: float = Field(
        default=86400.0,
        description="a subscription failing without a success this long is disabled",
    )
    notify_disable_after_final_failures: int = Field(
        default=20, description="... or after this many deliveries in a row that gave up"
    )

    @field_validator("notify_allowed_private_targets")
    @classmethod
    def _allowlist_parses(cls, allowlist: str) -> str:
        TargetPolicy.parse(allowlist)  # a malformed entry stops the service at start
        return allowlist

    def target_policy(self) -> TargetPolicy:
        return TargetPolicy.parse(
            self.notify_allowed_private_targets, self.notify_allow_private_targets
        )
