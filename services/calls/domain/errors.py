"""Why a command is refused. Both the HTTP API and the Kafka command topic map these to the same
answer: a status code, a short ``reason`` code (the metrics label) and a ``detail``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class CommandError(Exception):
    status_code: ClassVar[int] = 400

    def __init__(self, reason: str, detail: Any) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Invalid(CommandError):
    """The body breaks a domain rule that a schema cannot express (422, field and reason)."""

    status_code = 422

    def __init__(self, loc: Sequence[str | int], msg: str, kind: str = "value_error") -> None:
        super().__init__("invalid", [{"loc": ["body", *loc], "msg": msg, "type": kind}])


class Conflict(CommandError):
    """The command does not fit the aggregate's lifecycle or the call's window (409)."""

    status_code = 409


class NotFound(CommandError):
    """No such thing, or not the caller's to see (404, never its data)."""

    status_code = 404

    def __init__(self, what: str) -> None:
        super().__init__("not-found", f"{what} not found")


class Forbidden(CommandError):
    """The caller's role may not do this (403)."""

    status_code = 403

    def __init__(self, detail: str) -> None:
        super().__init__("forbidden", detail)


class Unauthorized(CommandError):
    """No valid token came with the command (401); raised on the Kafka path only, HTTP has the
    kernel's authenticator."""

    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__("unauthorized", detail)
