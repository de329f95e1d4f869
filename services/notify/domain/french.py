"""Dates, amounts and financers written the French way, dates in Europe/Paris time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.clock import PARIS
from shared.reference.regions import REGION_NAMES

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


FIXED_FINANCERS = {
    "state": "l'État",
    "cdc": "la Caisse des Dépôts",
    "feder": "le FEDER (Fonds européen de développement régional)",
    "private": "les financeurs privés",
}


def financer(name: str) -> str:
    """``la région Rhône-Alpes`` for ``region:82``; ``le département 38``, ``la commune
    « grenoble »``; the name itself when it is none of the financers of ``shared.events``."""
    kind, _, code = name.partition(":")
    if name in FIXED_FINANCERS:
        return FIXED_FINANCERS[name]
    if kind == "region" and code:
        return f"la région {REGION_NAMES.get(code, code)}"
    if kind == "department" and code:
        return f"le département {code}"
    if kind == "city" and code:
        return f"la commune « {code} »"
    return name
