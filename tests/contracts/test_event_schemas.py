"""The wire contracts do not drift by accident: within a version only optional fields are added;
anything else is a new version. Rewrite the snapshot with ``python -m tests.contracts.snapshot``
when a change is deliberate, and review its diff."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.contracts.snapshot import SNAPSHOT, current

VERSIONED = re.compile(r"^[a-z]+\.[a-z-]+\.[a-z-]+\.v\d+$")


def snapshot() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    return loaded


def test_every_event_type_is_named_service_aggregate_what_and_version() -> None:
    assert all(VERSIONED.match(name) for name in current()), sorted(current())


def test_no_event_type_of_the_snapshot_disappeared() -> None:
    assert snapshot().keys() <= current().keys()


def test_within_a_version_no_required_field_is_added_or_removed() -> None:
    for name, before in snapshot().items():
        after = current()[name]
        assert set(after.get("required", [])) == set(before.get("required", [])), name
        assert before["properties"].keys() <= after["properties"].keys(), name


def test_the_schemas_match_the_snapshot() -> None:
    assert current() == snapshot(), "run python -m tests.contracts.snapshot and review the diff"
