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
    follow_up_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how often the follow-ups a crash left pending are searched and completed",
    )
    follow_up_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        description="how old a pending follow-up must be for the periodic sweep to complete it",
    )
    funding_financer_days: float = Field(
        default=60.0,
        gt=0,
        description="how many days (of the service's clock) a financer has to answer for its "
        "share of a selected dossier's plan",
    )
    funding_financing_check_seconds: float = Field(
        default=60.0, gt=0, description="how often financings past their due date are searched"
    )
