"""Dates and amounts written the French way, in Europe/Paris time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.clock import PARIS

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
NBSP = "\u00a0"
NNBSP = "\u202f"


def date_time(instant: datetime) -> str:
    """``1er décembre 2008 à 23 h 59`` (the instant read in Paris)."""
    local = instant.astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year} à {local.hour} h {local.minute:02d}"


def euros(cents: int) -> str:
    """``1 250 000,50 €`` (narrow no-break spaces between thousands)."""
    units, rest = divmod(abs(cents), 100)
    grouped = f"{units:,}".replace(",", NNBSP)
    sign = "-" if cents < 0 else ""
    return f"{sign}{grouped},{rest:02d}{NBSP}€"


def read_instant(value: Any) -> datetime | None:
    """An aware ISO instant read from event data; None otherwise (a receipt never guesses a
    time zone)."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None
