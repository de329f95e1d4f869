"""The calls service's settings (environment prefix ``POLES_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class CallsSettings(ServiceSettings):
    service: str = "calls"
    http_port: int = 8001
    calls_close_check_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how often open calls are checked against their deadline (a submission after "
        "it is refused whether or not the call is closed yet; the demo, on a fast clock, checks "
        "every second)",
    )
