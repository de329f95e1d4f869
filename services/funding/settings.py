"""The funding service's settings (environment prefix ``POLES_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.funding.domain.envelope import DEFAULT_ENVELOPE
from shared.settings import ServiceSettings


class FundingSettings(ServiceSettings):
    service: str = "funding"
    http_port: int = 8002
    envelope_file: Path = Field(
        default=DEFAULT_ENVELOPE, description="the declarative file of the envelope and its lines"
    )
    commit_attempts: int = Field(
        default=200, ge=1, description="how many times a decision on a contended line is retried"
    )
