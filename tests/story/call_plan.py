"""The innovation-platforms call of 1 October 2008 as the story plays it: who files what, and
what the State and the CDC decide. Every amount and choice follows from the dossier's rank."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.clock import PARIS
from shared.reference.poles import Pole, all_poles
from tests.story.scale import Scale
from tests.story.siret import siret_for

CALL_ID = "PF-2008"
OPENS_AT = datetime(2008, 10, 1, tzinfo=PARIS)
DEADLINE = datetime(2008, 12, 2, tzinfo=PARIS)
"""Preliminary dossiers were due before 2 December 2008."""
STATE_GRANTS_PER_YEAR_CENTS = 35_000_000 * 100
"""The State commits 35 M€ a year to the platforms finally selected."""
STUDY_SHARE_CAP_CENTS = 200_000 * 100
KINDS = (
    "Plate-forme d'essais et de caractérisation",
    "Plate-forme de prototypage",
    "Plate-forme de démonstration",
    "Centre de tests mutualisé",
)
WORLD_CLASS = ("mondial", "à vocation mondiale")


@dataclass(frozen=True)
class DossierPlan:
    rank: int
    lead: Pole
    partner_ids: tuple[str, ...]
    platform_name: str
    eligible: bool = True
    preselected: bool = False
    selection_year: int | None = None
    cdc_investment_cents: int = 0
    oversized_cents: int = 0
    """Investment added to the one platform whose State share the 2010 ceiling cannot take."""
    declined_by_region: bool = False
    """Its region withdraws from the co-financing: the dossier ends ``funding-refused``."""

    @property
    def key(self) -> str:
        return f"dossier-{self.rank:03d}"

    @property
    def contact_email(self) -> str:
        return f"{self.key}@{self.lead.id}.example.org"

    @property
    def investment_cents(self) -> int:
        return (2_400_000 + self.rank * 137_000 % 1_600_000) * 100 + self.oversized_cents

    @property
    def operation_cents(self) -> int:
        return (600_000 + self.rank * 53_000 % 400_000) * 100

    @property
    def studies_cents(self) -> int:
        return 250_000 * 100

    @property
    def total_cents(self) -> int:
        return self.investment_cents + self.operation_cents + self.studies_cents

    @property
    def state_ask_cents(self) -> int:
        """55% of the total, in whole thousands of euros: also the grant if selected."""
        return self.total_cents * 55 // 100 // 100_000 * 100_000

    @property
    def study_cost_cents(self) -> int:
        return (240_000 + self.rank % 5 * 10_000) * 100

    @property
    def study_share_cents(self) -> int:
        """About 200 k€, never more than 80% of the study's cost."""
        return min(STUDY_SHARE_CAP_CENTS, self.study_cost_cents * 80 // 100)

    @property
    def region_financer(self) -> str:
        return f"region:{self.lead.seat_region}"

    def financing_plan(self, year: int) -> list[dict[str, Any]]:
        """The selection's plan (simulated shares): the State's grant in the decision year (the
        line's yearly ceiling), the CDC's proposed investment, the seat region 20%, FEDER 5% and
        the carrier's own money, each but the State's spread over the decision year and the
        next."""
        total = self.total_cents
        region = total * 20 // 100 // 100_000 * 100_000
        feder = total * 5 // 100 // 100_000 * 100_000
        private = total - self.state_ask_cents - self.cdc_investment_cents - region - feder
        shares = [("state", [(year, self.state_ask_cents)])]
        for financer, cents in (
            ("cdc", self.cdc_investment_cents),
            (self.region_financer, region),
            ("feder", feder),
            ("private", private),
        ):
            if cents > 0:
                shares.append((financer, [(year, cents // 2), (year + 1, cents - cents // 2)]))
        return [
            {
                "financer": financer,
                "years": [{"year": y, "amount_cents": c} for y, c in years if c > 0],
            }
            for financer, years in shares
        ]

    def co_financers(self) -> list[str]:
        """Who is asked to commit its share (the State commits on its line, the carrier at
        once)."""
        cdc = ["cdc"] if self.cdc_investment_cents else []
        return [*cdc, self.region_financer, "feder"]

    def content(self) -> dict[str, Any]:
        region = self.total_cents * 25 // 100 // 100_000 * 100_000
        open_to_smes = self.eligible
        return {
            "platform_name": self.platform_name,
            "lead_pole_id": self.lead.id,
            "partner_pole_ids": list(self.partner_ids),
            "carrier": {
                "name": f"Association {self.platform_name}",
                "siret": siret_for(self.rank),
                "contact_email": self.contact_email,
            },
            "partners": [{"name": f"PME partenaire {self.rank}", "kind": "sme"}],
            "offer": {
                "equipment": ["bancs d'essais", "moyens de mesure"],
                "services": ["location d'équipements", "prestations d'essais"],
                "user_community": "les membres du pôle, PME en tête, et leurs partenaires",
                "open_to_smes": open_to_smes,
            },
            "requested": {
                "investment_cents": self.investment_cents,
                "operation_cents": self.operation_cents,
                "studies_cents": self.studies_cents,
            },
            "financing": [
                {"financer": "state", "amount_cents": self.state_ask_cents},
                {
                    "financer": "region",
                    "amount_cents": region,
                    "region_code": self.lead.seat_region,
                },
                {
                    "financer": "private",
                    "amount_cents": self.total_cents - self.state_ask_cents - region,
                },
            ],
        }


def short_name(pole: Pole) -> str:
    return re.sub(r"\s*\(.*?\)", "", pole.name)


def _filers(scale: Scale) -> list[tuple[Pole, int]]:
    """(lead pôle, round): the world-class pôles in rounds of 17, then national pôles."""
    labelled = [p for p in all_poles() if p.labelled_year <= 2008]
    world = [p for p in labelled if p.category in WORLD_CLASS]
    national = [p for p in labelled if p.category not in WORLD_CLASS]
    filers = [(world[i % len(world)], i // len(world)) for i in range(scale.world_class_dossiers)]
    return filers + [(national[j], j) for j in range(scale.national_dossiers)]


def _partner(lead: Pole, round_: int) -> tuple[str, ...]:
    """A first-round world-class dossier is filed with a national pôle of its seat region."""
    if round_ or lead.category not in WORLD_CLASS:
        return ()
    for pole in all_poles():
        same_seat = pole.seat_region == lead.seat_region
        if pole.category == "national" and same_seat and pole.labelled_year <= 2008:
            return (pole.id,)
    return ()


def plan_dossiers(scale: Scale) -> list[DossierPlan]:
    """The dossiers filed in time, in the order they are filed."""
    filers = _filers(scale)
    national_ranks = range(scale.world_class_dossiers, len(filers))
    step = max(1, scale.national_dossiers // max(1, scale.ineligible))
    ineligible = {national_ranks[step * t + step // 2] for t in range(scale.ineligible)}
    world_ranks = range(scale.world_class_dossiers)
    eligible_national = [r for r in national_ranks if r not in ineligible]
    preselected = [*world_ranks[: scale.preselected_world_class]]
    preselected += eligible_national[: scale.preselected_national]
    years = _selection_years(scale, len(preselected))
    chosen_2010 = [preselected[i] for i, year in enumerate(years) if year == 2010]
    declined = chosen_2010[0] if chosen_2010 else None
    oversized = chosen_2010[-1] if len(chosen_2010) > 1 else None
    plans = []
    for rank, (lead, round_) in enumerate(filers):
        kind = KINDS[round_ % len(KINDS)]
        chosen = preselected.index(rank) if rank in preselected else None
        year = None if chosen is None else years[chosen]
        plans.append(
            DossierPlan(
                rank=rank + 1,
                lead=lead,
                partner_ids=_partner(lead, round_),
                platform_name=f"{kind} {short_name(lead)}",
                eligible=rank not in ineligible,
                preselected=chosen is not None,
                selection_year=year,
                cdc_investment_cents=50_000_000 if chosen is not None and chosen % 3 == 2 else 0,
                declined_by_region=rank == declined,
            )
        )
    if oversized is not None:
        plans[oversized] = _oversized(plans, plans[oversized])
    _check_grants_fit(plans)
    return plans


def _oversized(plans: list[DossierPlan], plan: DossierPlan) -> DossierPlan:
    """``plan`` made big enough that its State share is 5 M€ over what the other 2010
    selections leave of the 2010 ceiling (simulated: the line refuses it)."""
    others = sum(p.state_ask_cents for p in plans if p.selection_year == 2010 and p is not plan)
    wanted = STATE_GRANTS_PER_YEAR_CENTS - others + 500_000_000
    extra = wanted * 100 // 55 - plan.total_cents + 10_000_000
    return replace(plan, oversized_cents=extra // 100_000 * 100_000)


def _selection_years(scale: Scale, count: int) -> list[int | None]:
    """Pre-selected dossiers in turn: one selected in 2009, one in 2010, one not selected."""
    quota = {2009: scale.selected_2009, 2010: scale.selected_2010}
    years: list[int | None] = []
    for index in range(count):
        wanted = (2009, 2010, None)[index % 3]
        if wanted is not None and quota[wanted] > 0:
            quota[wanted] -= 1
            years.append(wanted)
        else:
            years.append(None)
    return years


def _check_grants_fit(plans: list[DossierPlan]) -> None:
    for year in (2009, 2010):
        granted = sum(
            p.state_ask_cents for p in plans if p.selection_year == year and not p.oversized_cents
        )
        if granted > STATE_GRANTS_PER_YEAR_CENTS:
            raise ValueError(f"the {year} grants ({granted} cents) exceed 35 M€")


def late_dossier(scale: Scale) -> DossierPlan:
    """The one that arrives after the deadline (and is refused)."""
    pole = next(p for p in all_poles() if p.id == "pole-mer-bretagne")
    rank = scale.world_class_dossiers + scale.national_dossiers + 1
    return DossierPlan(rank=rank, lead=pole, partner_ids=(), platform_name="Plate-forme tardive")
