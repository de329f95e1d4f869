"""The 77 pôles of the reference list (71 of 2008-2009 and the six ecotech pôles of 2010).

Each pôle has a stable id derived from its name (``aerospace-valley``), its regions (the seat
first) as INSEE codes, its category and the year it was labelled. ``poles.csv`` is the sourced
dataset; ``LABEL_DECISIONS_2010`` records the CIADT of 11 May 2010.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shared.reference.regions import REGION_CODES


@dataclass(frozen=True)
class Pole:
    id: str
    name: str
    region_codes: tuple[str, ...]
    theme: str
    category: str
    labelled_year: int
    ecotech: bool

    @property
    def seat_region(self) -> str:
        return self.region_codes[0]


def slug(name: str) -> str:
    """``Pôle Mer PACA`` -> ``pole-mer-paca``; the part in brackets is left out."""
    short = re.sub(r"\(.*?\)", "", name)
    ascii_name = unicodedata.normalize("NFKD", short).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


@cache
def all_poles() -> tuple[Pole, ...]:
    text = resources.files(__package__).joinpath("poles.csv").read_text(encoding="utf-8")
    poles = []
    for row in csv.DictReader(text.splitlines()):
        regions = tuple(REGION_CODES[r.strip()] for r in row["region"].split(" / "))
        poles.append(
            Pole(
                id=slug(row["name"]),
                name=row["name"],
                region_codes=regions,
                theme=row["theme"],
                category=row["category"],
                labelled_year=int(row["labelled_year"]),
                ecotech=row["ecotech"] == "yes",
            )
        )
    ids = [pole.id for pole in poles]
    if len(set(ids)) != len(ids):
        raise ValueError("two pôles share an id")
    return tuple(poles)


@cache
def poles_by_id() -> dict[str, Pole]:
    return {pole.id: pole for pole in all_poles()}


# CIADT of 11 May 2010: of the 13 pôles asked to reconfigure in 2008 (group 3), seven were renewed
# and six lost the label; six ecotech pôles were labelled.
RENEWED_2010 = (
    "nov-log",
    "maud",
    "q-limed",
    "s2e2",
    "pass",
    "aquimer",
    "pole-nucleaire-bourgogne",
)
DELABELLED_2010 = (
    "mta",
    "innoviandes",
    "pole-enfant",
    "sporaltec",
    "genie-civil-ecoconstruction",
    "prod-innov",
)
GROUP_3_2008 = RENEWED_2010 + DELABELLED_2010
"""The 13 pôles that kept the label only until end-2009; the other 58 signed contracts in 2009."""


def confirmed_2008() -> tuple[Pole, ...]:
    """The 58 pôles whose label was confirmed for 2009-2011 (groups 1 and 2)."""
    return tuple(p for p in all_poles() if not p.ecotech and p.id not in GROUP_3_2008)
