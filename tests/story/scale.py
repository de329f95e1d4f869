"""How big the story is, and the facts of phase 2 it replays (copied from the sourced facts).

``Scale()`` is the real phase 2: 86 preliminary dossiers, 35 pre-selected, the 58 contracts of
2009, the CIADT of 11 May 2010 and the 71 ratings of 2012. ``SHORT`` keeps every step with a
handful of pôles and dossiers, for the end-to-end test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.reference.poles import DELABELLED_2010, RENEWED_2010, all_poles, confirmed_2008

Rating = Literal["très performant", "performant", "moins performant"]

ECOTECH_2010 = tuple(p.id for p in all_poles() if p.ecotech)
"""The six eco-technology pôles labelled on 11 May 2010."""

# The 2012 evaluation (BearingPoint - Erdyn - Technopolis ITD), ratings published 30 July 2012:
# 20 très performants, 16 moins performants, all the others (35) performants.
VERY_EFFECTIVE_2012 = (
    "aerospace-valley",
    "agrimip-innovation",
    "arve-industries",
    "axelera",
    "cap-digital",
    "capenergies",
    "eurobiomed",
    "iar",
    "images-reseaux",
    "i-trans",
    "lutb",
    "lyonbiopole",
    "pole-mer-paca",
    "minalogic",
    "mov-eo",
    "pegase",
    "systematic-paris-region",
    "techtera",
    "tenerrdis",
    "vitagora",
)
LESS_EFFECTIVE_2012 = (
    "elastopole",
    "fibres-grand-est",
    "hippolia",
    "maud",
    "medicen-paris-region",
    "pole-des-microtechniques",
    "pass",
    "picom",
    "q-limed",
    "qualitropic",
    "up-tex",
    "xylofutur",
    "avenia",
    "eau",
    "hydreos",
    "team2",
)


def rating_2012(pole_id: str) -> Rating:
    if pole_id in VERY_EFFECTIVE_2012:
        return "très performant"
    if pole_id in LESS_EFFECTIVE_2012:
        return "moins performant"
    return "performant"


def _confirmed_ids() -> tuple[str, ...]:
    return tuple(p.id for p in confirmed_2008())


@dataclass(frozen=True)
class Scale:
    """The story's size; every choice below it is derived from these numbers, never drawn."""

    world_class_dossiers: int = 51
    """Dossiers led by the 17 mondial and à vocation mondiale pôles (three rounds of 17)."""
    national_dossiers: int = 35
    ineligible: int = 3
    preselected_world_class: int = 23
    preselected_national: int = 12
    selected_2009: int = 12
    selected_2010: int = 11
    contract_poles: tuple[str, ...] = field(default_factory=_confirmed_ids)
    """The pôles with a 2009-2011 contract: the 58 confirmed in 2008."""
    labelled_2010: tuple[str, ...] = ECOTECH_2010
    renewed_2010: tuple[str, ...] = RENEWED_2010
    delabelled_2010: tuple[str, ...] = DELABELLED_2010
    late_report_every: int = 9
    """A contract reports a year late when (its rank + the year) is a multiple of this."""
    fui_calls: tuple[int, ...] = (7, 8, 9, 10, 11, 12, 13, 14)
    """The FUI calls played (their numbers in ``rd_figures.FUI_CALLS``)."""
    projects_per_fui_call: int = 3
    """Projects played per FUI call, each standing for its share of the call's selected ones."""
    agencies: tuple[str, ...] = ("anr", "oseo")
    agency_years: tuple[int, ...] = (2009, 2010, 2011, 2012)
    agency_projects_per_year: int = 3
    """Commitments per agency and year, sharing that year's ``rd_figures.AGENCY_CENTS``."""
    committed_share_at_least: float = 0.85
    """The story fails unless this share of the envelope is committed by its end."""


SHORT = Scale(
    world_class_dossiers=5,
    national_dossiers=2,
    ineligible=1,
    preselected_world_class=4,
    preselected_national=1,
    selected_2009=1,
    selected_2010=2,
    contract_poles=("aerospace-valley", "minalogic", "pole-des-microtechniques"),
    labelled_2010=("eau",),
    renewed_2010=("nov-log",),
    delabelled_2010=("mta",),
    late_report_every=3,
    fui_calls=(8,),
    projects_per_fui_call=2,
    agencies=("anr",),
    agency_years=(2009,),
    agency_projects_per_year=1,
    committed_share_at_least=0.0,
)
