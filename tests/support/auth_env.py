"""Reads the signing key from .local/secrets/auth.env, which deploy/local/services.sh writes.

The file is a bash snippet: ``export POLES_AUTH_SECRET=...`` (older files lack the ``export``),
so that ``source .local/secrets/auth.env`` hands the key to a command run after it.
"""

from __future__ import annotations

from pathlib import Path

NAME = "POLES_AUTH_SECRET"


def read_auth_secret(path: Path) -> str:
    """The value of POLES_AUTH_SECRET in ``path``, with or without ``export`` before it."""
    for line in path.read_text().splitlines():
        assignment = line.strip().removeprefix("export ").lstrip()
        name, equals, value = assignment.partition("=")
        if equals and name.strip() == NAME:
            return value.strip()
    raise RuntimeError(f"no {NAME} in {path}")
