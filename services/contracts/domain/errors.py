"""Why a command is refused; the HTTP edge maps each kind to its status code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Location = tuple[str | int, ...]


class DomainError(Exception):
    """A command the domain refuses; nothing was changed."""


class NotFound(DomainError):
    """404: no such contract or pôle."""


class Forbidden(DomainError):
    """403: this principal may not do that to this contract."""


class Conflict(DomainError):
    """409: the command does not fit the contract's state (already signed, not active, ...)."""


@dataclass(frozen=True)
class Problem:
    loc: Location
    msg: str


class Invalid(DomainError):
    """422: the body is well-formed but breaks a rule of the terms; each problem names its field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = tuple(problems)


def invalid(loc: Location, msg: str) -> Invalid:
    return Invalid([Problem(loc, msg)])
