"""The contracts service's settings (environment prefix ``POLES_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class ContractsSettings(ServiceSettings):
    service: str = "contracts"
    http_port: int = 8003
    contracts_clock_seconds: float = Field(
        default=10.0,
        description="how often the clock job looks for overdue signatures and reports; each look "
        "reads every contract (a scan on the local store), and deadlines are days apart at the "
        "real clock's speed (the demo, on a fast clock, looks every 2 s)",
    )
