"""Why the platform refuses a command or an event: one hierarchy for every service.

A domain function or a handler raises one of these; nothing was changed. The edges map them once:
``shared.http`` to an HTTP problem answer, ``answer_of`` (below) to the answer a Kafka command
gets. The domain never names a status code.

Each error has a ``reason`` (a short code: the metrics label and the Kafka answer's ``reason``)
and a ``detail`` (a sentence, or for ``Invalid`` the list of fields and why, shaped like
FastAPI's own validation errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

Location = tuple[str | int, ...]


class DomainError(Exception):
    """A refusal; nothing was changed."""

    default_reason: ClassVar[str] = "refused"

    def __init__(self, detail: Any, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason or self.default_reason

    def __str__(self) -> str:
        return self.detail if isinstance(self.detail, str) else repr(self.detail)


class NotFound(DomainError):
    """No such thing, or not the caller's to see (never its data)."""

    default_reason = "not-found"


class Unauthorized(DomainError):
    """No valid credentials came with the command (the Kafka path; HTTP has its authenticator)."""

    default_reason = "unauthorized"


class Forbidden(DomainError):
    """The caller's role may not do this."""

    default_reason = "forbidden"


class Conflict(DomainError):
    """The command does not fit the aggregate's state, a window or a rule of the money."""

    default_reason = "conflict"


@dataclass(frozen=True)
class Problem:
    """One field of a body and why it breaks a rule."""

    loc: Location
    msg: str
    kind: str = "value_error"


class Invalid(DomainError):
    """The body is well-formed but breaks a rule that a schema cannot express."""

    default_reason = "invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            [{"loc": ["body", *p.loc], "msg": p.msg, "type": p.kind} for p in self.problems]
        )

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in self.problems)


def invalid(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> Invalid:
    """An ``Invalid`` naming one field."""
    return Invalid([Problem(tuple(loc), msg, kind)])


class Unavailable(DomainError):
    """Something the command needs does not answer now; the same command may succeed later."""

    default_reason = "unavailable"


STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    Conflict: 409,
    Invalid: 422,
    Unavailable: 503,
}
"""The one mapping of a refusal to a status code (HTTP answers and Kafka command answers)."""


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


@dataclass(frozen=True)
class ErrorAnswer:
    """What a refused command is answered, on HTTP and on a Kafka command topic alike."""

    status_code: int
    reason: str
    detail: Any


def answer_of(error: DomainError) -> ErrorAnswer:
    return ErrorAnswer(status_of(error), error.reason, error.detail)
