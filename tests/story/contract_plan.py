"""The performance contracts as the story plays them: parties, money, indicators, when each
party signs, which yearly reports come late, and the 2012 rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.clock import PARIS
from shared.reference.poles import Pole, poles_by_id
from shared.reference.regions import REGION_NAMES
from tests.story.scale import Rating, Scale, rating_2012

Signing = Literal["spring-2009", "le-bourget", "rhone-alpes", "june-2010"]
RHONE_ALPES = "82"
ENVELOPE_YEARS = range(2009, 2013)
"""The State's animation credits come from the envelope: 2009-2011, and 2012 once the CIADT of
11 May 2010 has amended it (the contracts are extended to 2012 after that)."""
ANIMATION_EUROS = {"mondial": 350_000, "à vocation mondiale": 300_000, "national": 200_000}
SEAT_REGION_EUROS, OTHER_REGION_EUROS = 150_000, 50_000
EXTENSION_REASON = "prolongation de la phase 2 jusqu'en 2012 (CIADT du 11 mai 2010)"


@dataclass(frozen=True)
class ContractPlan:
    rank: int
    pole: Pole
    start_year: int
    end_year: int
    signing: Signing
    late_reports: frozenset[int]

    @property
    def contract_id(self) -> str:
        return f"contract:{self.pole.id}:{self.start_year}"

    @property
    def signature_deadline(self) -> datetime:
        """30 June 2009 for the contracts of 2009; the end of October for those drafted after
        the CIADT of May 2010."""
        if self.start_year == 2009:
            return datetime(2009, 6, 30, 23, 59, 59, tzinfo=PARIS)
        return datetime(self.start_year, 10, 29, 23, 59, 59, tzinfo=PARIS)

    @property
    def rating(self) -> Rating:
        return rating_2012(self.pole.id)

    def years(self, end_year: int | None = None) -> range:
        return range(self.start_year, (end_year or self.end_year) + 1)

    def parties(self) -> list[dict[str, str]]:
        pole = self.pole
        parties = [
            {
                "party_id": "state",
                "name": "L'État (correspondant d'État du pôle)",
                "contact_email": f"correspondant.{pole.id}@prefecture.example.fr",
            },
            {
                "party_id": f"pole:{pole.id}",
                "name": f"Gouvernance du pôle {pole.name}",
                "contact_email": f"direction@{pole.id}.example.org",
            },
        ]
        for code in pole.region_codes:
            parties.append(
                {
                    "party_id": f"region:{code}",
                    "name": f"Région {REGION_NAMES[code]}",
                    "contact_email": f"poles@region-{code}.example.fr",
                }
            )
        return parties

    def signers(self, moment: Signing) -> list[str]:
        """The parties that sign at ``moment``: the Rhône-Alpes region signs its contracts on
        6 July 2009, after the deadline; Aerospace Valley signs at the Paris Air Show."""
        everyone = [p["party_id"] for p in self.parties()]
        region_late = f"region:{RHONE_ALPES}"
        if self.signing == "rhone-alpes" and moment == "spring-2009":
            return [p for p in everyone if p != region_late]
        if self.signing == "rhone-alpes" and moment == "rhone-alpes":
            return [region_late]
        return everyone if moment == self.signing else []

    def terms(self, end_year: int | None = None) -> dict[str, Any]:
        years = self.years(end_year)
        financing = [
            {"party_id": "state", "year": year, "amount_cents": self.animation_cents}
            for year in years
            if year in ENVELOPE_YEARS
        ]
        for index, code in enumerate(self.pole.region_codes):
            euros = SEAT_REGION_EUROS if index == 0 else OTHER_REGION_EUROS
            financing += [
                {"party_id": f"region:{code}", "year": year, "amount_cents": euros * 100}
                for year in years
            ]
        return {
            "objectives": [
                "faire émerger et financer des projets collaboratifs de R&D",
                "accompagner la croissance des PME membres du pôle",
            ],
            "programmes": [
                _programme("rd", "Projets collaboratifs de R&D", "rd-projects", 12, 4, years),
                _programme("sme", "Développement des PME", "sme-members", 60, 10, years),
            ],
            "financing": financing,
        }

    @property
    def animation_cents(self) -> int:
        return ANIMATION_EUROS[self.pole.category] * 100

    def roadmap(self) -> dict[str, Any]:
        return {
            "technology_ambition": f"{self.pole.theme}: rester au meilleur niveau mondial",
            "market_ambition": "des produits et services nouveaux pour les marchés du pôle",
            "horizon_years": 5,
            "ecosystem_plan": "plates-formes d'innovation, formation, accès des PME aux projets",
        }

    def report_values(self, period: int) -> list[dict[str, Any]]:
        grown = period - 2008 + self.rank % 3
        return [
            {"indicator_id": "rd-projects", "value": 12 + 4 * grown},
            {"indicator_id": "sme-members", "value": 60 + 9 * grown},
        ]


def _programme(
    programme_id: str, title: str, indicator_id: str, baseline: int, step: int, years: range
) -> dict[str, Any]:
    targets = {str(year): baseline + step * (year - 2008) for year in years}
    indicator = {
        "id": indicator_id,
        "name": title,
        "unit": "projets" if programme_id == "rd" else "PME",
        "baseline": baseline,
        "targets": targets,
    }
    return {"id": programme_id, "title": title, "milestones": [], "indicators": [indicator]}


def _late(rank: int, years: range, every: int) -> frozenset[int]:
    return frozenset(year for year in years if (rank + year) % every == 0)


def plan_contracts_2009(scale: Scale) -> list[ContractPlan]:
    plans = []
    for rank, pole_id in enumerate(scale.contract_poles, start=1):
        pole = poles_by_id()[pole_id]
        signing: Signing = "spring-2009"
        if pole.id == "aerospace-valley":
            signing = "le-bourget"
        elif RHONE_ALPES in pole.region_codes:
            signing = "rhone-alpes"
        years = range(2009, 2012)
        plans.append(
            ContractPlan(
                rank, pole, 2009, 2011, signing, _late(rank, years, scale.late_report_every)
            )
        )
    return plans


def plan_contracts_2010(scale: Scale) -> list[ContractPlan]:
    """The renewed and the newly labelled pôles sign for 2010-2012 after the CIADT."""
    first = len(scale.contract_poles) + 1
    pole_ids = [*scale.renewed_2010, *scale.labelled_2010]
    years = range(2010, 2012)
    return [
        ContractPlan(
            rank,
            poles_by_id()[pole_id],
            2010,
            2012,
            "june-2010",
            _late(rank, years, scale.late_report_every),
        )
        for rank, pole_id in enumerate(pole_ids, start=first)
    ]
