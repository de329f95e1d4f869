"""The money the demo plays for the R&D projects and the agencies, with its sources.

Copied from ``shared/reference/FACTS.md`` ("The money of phase 2"). A ``Figure`` whose ``source``
is ``None`` is simulated: no source gives it. Dates are plain dates; which ones are sourced is
said in a comment on each call (the others are simulated, placed where the sources put the
month or the order of events).

The sourced State amounts of the FUI calls add up to more than the R&D line (495 M€): the FUI
also paid from other credits. ``played_cents`` scales every amount of a FUI call by one ratio so
that the calls, played in full, commit ``RD_PLAYED_SHARE`` of the R&D line and never more.
The agencies' yearly amounts are simulated to commit about 91-92% of their lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

M = 100_000_000
"""One million euros, in cents."""


@dataclass(frozen=True)
class Figure:
    value: int
    source: str | None
    """Where the value comes from; ``None``: simulated."""

    @property
    def simulated(self) -> bool:
        return self.source is None


@dataclass(frozen=True)
class FuiCall:
    number: int
    call_id: str
    opens_on: date
    deadline: date
    decided_on: date
    projects_selected: Figure
    state_cents: Figure
    """The State's aid (the FUI) announced for the call's selected projects."""
    local_authorities_cents: Figure
    feder_cents: Figure


def _m(millions: float, source: str | None = None) -> Figure:
    return Figure(round(millions * M), source)


_FUI7 = "https://lephpfacile.com/news/3959-107-millions-d-euros-pour-91-projets-innovants"
_FUI8 = (
    "https://www.industrie-techno.com/article/huitieme-appel-a-projets-93-dossiers-finances.8418"
)
_FUI9 = (
    "https://kooperation-international.de/laender/europa/frankreich/nachrichten/"
    "detail-alle-anzeigen/info/frankreich-auf-der-grundlage-des-9-interministeriellen-"
    "projektaufrufs-vom-20102009-gibt-oseo-die"
)
_FUI9_COUNT = (
    "derived: 886 projects after 10 calls - 738 after 8 - 73 in the 10th; "
    "http://www.tvt.fr/Vous-informer/Actualites/Developpement-des-territoires/"
    "10e-appel-du-FUI-73-nouveaux-projets-finances ; "
    "http://polescompet.canalblog.com/archives/2009/10/25/15558176.html"
)
_FUI10 = (
    "http://www.tvt.fr/Vous-informer/Actualites/Developpement-des-territoires/"
    "10e-appel-du-FUI-73-nouveaux-projets-finances"
)
_FUI11 = (
    "http://www.kooperation-international.de/aktuelles/nachrichten/detail/info/"
    "frankreich-76-millionen-euro-fuer-83-projekte-der-poles-de-competitivite"
)
_FUI13 = (
    "http://www.jeccomposites.com/knowledge/french-composites-news/"
    "p%C3%B4les-de-comp%C3%A9titivit%C3%A9-r%C3%A9sultats-du-13%C3%A8me-appel-%C3%A0-projets"
)

# Where a source gives "collectivités territoriales et FEDER" as one total, the split is
# simulated (FEDER about 15%) and the two parts add up to the sourced total.
FUI_CALLS: tuple[FuiCall, ...] = (
    # Dates simulated (results before the 8th call's launch on 27 Feb 2009).
    FuiCall(
        7,
        "FUI-7",
        date(2008, 10, 1),
        date(2008, 11, 28),
        date(2009, 2, 20),
        Figure(91, _FUI7),
        _m(107, _FUI7),
        _m(50),
        _m(6),
    ),
    # Opens and deadline sourced; decided "this summer" (day simulated).
    FuiCall(
        8,
        "FUI-8",
        date(2009, 2, 27),
        date(2009, 4, 30),
        date(2009, 7, 21),
        Figure(93, _FUI8),
        _m(109, _FUI8),
        _m(62, _FUI8),
        _m(6),
    ),
    # Opens sourced (20 Oct 2009); decided "March 2010" (day simulated); deadline simulated.
    FuiCall(
        9,
        "FUI-9",
        date(2009, 10, 20),
        date(2009, 12, 11),
        date(2010, 3, 16),
        Figure(75, _FUI9_COUNT),
        _m(91, _FUI9),
        _m(58, _FUI9),
        _m(6),
    ),
    # Decided 30 Jul 2010 sourced; opens and deadline simulated. 60 M€ local + FEDER sourced.
    FuiCall(
        10,
        "FUI-10",
        date(2010, 3, 22),
        date(2010, 5, 7),
        date(2010, 7, 30),
        Figure(73, _FUI10),
        _m(63, _FUI10),
        _m(51),
        _m(9),
    ),
    # Dates simulated (results early March 2011, by inference). 56 M€ local + FEDER sourced.
    FuiCall(
        11,
        "FUI-11",
        date(2010, 10, 15),
        date(2010, 12, 3),
        date(2011, 3, 8),
        Figure(83, _FUI11),
        _m(76, _FUI11),
        _m(47.6),
        _m(8.4),
    ),
    # Opens (15 Mar 2011) and deadline (29 Apr 2011) sourced; decided "end of July" (day
    # simulated). Results not found: all figures simulated.
    FuiCall(
        12,
        "FUI-12",
        date(2011, 3, 15),
        date(2011, 4, 29),
        date(2011, 7, 28),
        Figure(70, None),
        _m(65),
        _m(42.5),
        _m(7.5),
    ),
    # Opens (7 Oct 2011) and decided (6 Mar 2012) sourced; deadline simulated.
    # 41.2 M€ local + FEDER sourced.
    FuiCall(
        13,
        "FUI-13",
        date(2011, 10, 7),
        date(2011, 11, 30),
        date(2012, 3, 6),
        Figure(63, _FUI13),
        _m(58.4, _FUI13),
        _m(35),
        _m(6.2),
    ),
    # Announced for March 2012 with a selection in summer 2012: all dates and figures simulated.
    FuiCall(
        14,
        "FUI-14",
        date(2012, 3, 20),
        date(2012, 5, 4),
        date(2012, 7, 24),
        Figure(60, None),
        _m(55),
        _m(34),
        _m(6),
    ),
)

LOCAL_AND_FEDER_SOURCED_CENTS: dict[int, Figure] = {
    10: _m(60, _FUI10),
    11: _m(56, _FUI11),
    13: _m(41.2, _FUI13),
}
"""The calls whose sources give local authorities and FEDER as one total."""

RD_LINE_CENTS = 495 * M
"""The R&D projects line (seeds: crédits d'intervention, dont projets de R&D, 495 M€)."""

RD_PLAYED_SHARE = Fraction(92, 100)
"""The share of the R&D line the FUI calls commit when played in full (simulated)."""

STATE_TOTAL_CENTS = sum(call.state_cents.value for call in FUI_CALLS)

PLAY_RATIO = Fraction(RD_LINE_CENTS) * RD_PLAYED_SHARE / STATE_TOTAL_CENTS
"""By how much every amount of a FUI call is scaled when the demo commits it (< 1)."""


def played_cents(cents: int) -> int:
    """An amount of a FUI call as the demo commits it: scaled by ``PLAY_RATIO``, rounded
    down, so that the sum over the calls never exceeds ``RD_PLAYED_SHARE`` of the line."""
    return int(cents * PLAY_RATIO)


# ANR and OSEO money on pôle-labelled projects by year: NOT FOUND (FACTS.md), simulated.
# ANR: 550 of 600 M€ (91.7%); OSEO: 228 of the OSEO-CDC line's 250 M€ (91.2%).
AGENCY_CENTS: dict[str, dict[int, Figure]] = {
    "anr": {2009: _m(140), 2010: _m(140), 2011: _m(135), 2012: _m(135)},
    "oseo": {2009: _m(58), 2010: _m(58), 2011: _m(56), 2012: _m(56)},
}

AGENCY_LINE_CENTS = {"anr": 600 * M, "oseo": 250 * M}
"""The agencies' lines (seeds: ANR 600 M€; OSEO et Caisse des Dépôts 250 M€)."""
