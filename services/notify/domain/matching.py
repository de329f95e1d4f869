"""Which events a subscription asks for: event type patterns and filters on the event's content.

A pattern is an exact type name (``calls.dossier.submitted.v1``), a prefix ending in a dot
(``calls.dossier.``; ``calls.dossier.*`` is written the same way) or ``*`` for every type. A
filter ``{"pole_id": "aerospace-valley"}`` holds when the top-level field equals the value, or,
for a list field (``region_codes``), contains it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EVERY_TYPE = "*"
_PATTERN = re.compile(r"^[a-z0-9][a-z0-9\-]*(\.[a-z0-9][a-z0-9\-]*)*\.?$")
FILTER_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class InvalidPattern(ValueError):
    pass


def normalize_pattern(pattern: str) -> str:
    """The stored form of a pattern: ``calls.dossier.*`` becomes ``calls.dossier.``."""
    text = pattern.strip()
    if text == EVERY_TYPE:
        return text
    if text.endswith(".*"):
        text = text[:-1]
    if not _PATTERN.match(text):
        raise InvalidPattern(
            f"{pattern!r} is not an event type, a prefix ending in '.' or '.*', or '*'"
        )
    return text


def patterns_matching(event_type: str) -> list[str]:
    """Every stored pattern that selects ``event_type``: the exact name, each prefix, ``*``.

    The store looks subscriptions up with these (``$in`` on an indexed field) rather than
    reading every subscription for every event.
    """
    parts = event_type.split(".")
    prefixes = [".".join(parts[:n]) + "." for n in range(1, len(parts))]
    return [event_type, *prefixes, EVERY_TYPE]


def type_matches(patterns: list[str], event_type: str) -> bool:
    return bool(set(patterns) & set(patterns_matching(event_type)))


def filters_match(filters: Mapping[str, str], data: Mapping[str, Any]) -> bool:
    return all(_field_holds(data.get(field), value) for field, value in filters.items())


def _field_holds(actual: Any, wanted: str) -> bool:
    if isinstance(actual, list):
        return wanted in actual
    return actual is not None and str(actual) == wanted
