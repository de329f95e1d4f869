"""The JSON schema of every event type, as published: ``python -m tests.contracts.snapshot``
rewrites ``event_schemas.json`` after a deliberate change to the wire contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shared.events  # noqa: F401 - registers every event type
from shared.events.base import event_schemas

SNAPSHOT = Path(__file__).with_name("event_schemas.json")


def current() -> dict[str, Any]:
    """The schemas as JSON gives them back (tuples become lists, keys sorted)."""
    schemas: dict[str, Any] = json.loads(json.dumps(event_schemas(), sort_keys=True))
    return schemas


def main() -> None:
    SNAPSHOT.write_text(json.dumps(current(), indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(current())} event schemas to {SNAPSHOT}")


if __name__ == "__main__":
    main()
