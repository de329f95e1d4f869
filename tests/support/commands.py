"""The store commands a test's client sends, seen by a PyMongo command listener."""

from __future__ import annotations

from typing import Any

from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)


class CommandLog(CommandListener):
    """The name and body of every command started, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    def started(self, event: CommandStartedEvent) -> None:
        self.names.append(event.command_name)
        self.bodies.append(dict(event.command))

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass

    def clear(self) -> None:
        self.names.clear()
        self.bodies.clear()
