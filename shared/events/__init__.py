"""The wire contracts: every event type of the platform, by the service that publishes it.

Importing this package registers every event type (consumers look types up in the registry).
"""

from shared.events import calls, contracts, funding, notify

__all__ = ["calls", "contracts", "funding", "notify"]
