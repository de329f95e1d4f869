"""The FUI calls for collaborative R&D projects and the agencies' commitments, as the story plays
them. A FUI call is played with a few projects, each standing for its share of the call's
selected projects and carrying that share of the call's money (``rd_figures``: sourced where a
source exists, simulated otherwise, all scaled by ``played_cents``). Every amount and choice
follows from the call and the project's index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.clock import PARIS
from shared.reference.poles import Pole, all_poles
from tests.story.call_plan import WORLD_CLASS, short_name
from tests.story.rd_figures import AGENCY_CENTS, FUI_CALLS, FuiCall, played_cents
from tests.story.scale import Scale
from tests.story.siret import siret_for

LAST_YEAR = 2012
LABELLED_AFTER = timedelta(days=7)
"""The pôles label a project a week after the call opens; it is filed a week later."""
FILED_AFTER = timedelta(days=14)


def world_class_poles() -> list[Pole]:
    """The pôles that label the story's projects: world-class ones, labelled before 2009 and
    never delabelled."""
    return [p for p in all_poles() if p.category in WORLD_CLASS and p.labelled_year <= 2008]


def split(total: int, parts: int, index: int) -> int:
    """The ``index``-th of ``parts`` near-equal parts of ``total`` (the last takes the rest)."""
    each = total // parts
    return total - each * (parts - 1) if index == parts - 1 else each


def by_year(cents: int, first: int) -> list[dict[str, int]]:
    """Half in ``first``, half the year after, all in ``first`` when it is the last year."""
    if first >= LAST_YEAR:
        return [{"year": first, "amount_cents": cents}]
    half = cents // 2
    return [
        {"year": first, "amount_cents": half},
        {"year": first + 1, "amount_cents": cents - half},
    ]


def paris_day(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


@dataclass(frozen=True)
class ProjectPlan:
    call: FuiCall
    index: int
    number: int
    """The project's number across the story (its SIRETs and laboratory follow from it)."""
    lead: Pole
    partner: Pole
    stands_for: int
    """How many of the call's selected projects this one stands for."""
    state_cents: int
    local_cents: int
    feder_cents: int

    @property
    def key(self) -> str:
        return f"{self.call.call_id.lower()}-projet-{self.index + 1}"

    @property
    def name(self) -> str:
        return f"Projet {self.call.number}.{self.index + 1} {short_name(self.lead)}"

    @property
    def project_key(self) -> str:
        """As calls derives it: the name casefolded, its runs of spaces made one."""
        return " ".join(self.name.casefold().split())

    @property
    def contact_email(self) -> str:
        return f"{self.key}@{self.lead.id}.example.org"

    @property
    def region_financer(self) -> str:
        return f"region:{self.lead.seat_region}"

    @property
    def decision_year(self) -> int:
        return self.call.decided_on.year

    @property
    def public_cents(self) -> int:
        return self.state_cents + self.local_cents + self.feder_cents

    @property
    def total_cents(self) -> int:
        """The companies bring as much as the public money (simulated)."""
        return 2 * self.public_cents

    @property
    def private_cents(self) -> int:
        return self.total_cents - self.public_cents

    def consortium(self) -> list[dict[str, str]]:
        """Two companies (an SME among them) with valid SIRETs and a laboratory."""
        return [
            {
                "identifier": siret_for(1_000 + 2 * self.number),
                "kind": "company",
                "name": f"Industriel {self.number} SA",
            },
            {
                "identifier": siret_for(1_001 + 2 * self.number),
                "kind": "sme",
                "name": f"PME innovante {self.number}",
            },
            {
                "identifier": f"UMR-{5000 + self.number}",
                "kind": "laboratory",
                "name": f"Laboratoire {self.number} (CNRS - université)",
            },
        ]

    def shares(self) -> list[tuple[str, int]]:
        return [
            ("state", self.state_cents),
            (self.region_financer, self.local_cents),
            ("feder", self.feder_cents),
            ("private", self.private_cents),
        ]

    def content(self) -> dict[str, Any]:
        year = self.decision_year
        labelled_on = self.call.opens_on + LABELLED_AFTER
        financing: list[dict[str, Any]] = []
        for financer, cents in self.shares():
            line: dict[str, Any] = {"financer": financer.split(":")[0], "amount_cents": cents}
            if financer.startswith("region:"):
                line["region_code"] = self.lead.seat_region
            financing.append({**line, "years": by_year(cents, year)})
        investment = self.total_cents // 4
        return {
            "platform_name": self.name,
            "lead_pole_id": self.lead.id,
            "partner_pole_ids": [self.partner.id],
            "carrier": {
                "name": f"Industriel {self.number} SA",
                "siret": siret_for(1_000 + 2 * self.number),
                "contact_email": self.contact_email,
            },
            "consortium": self.consortium(),
            "labels": [
                {"pole_id": self.lead.id, "labelled_on": labelled_on.isoformat()},
                {"pole_id": self.partner.id, "labelled_on": labelled_on.isoformat()},
            ],
            "requested": {
                "investment_cents": investment,
                "operation_cents": self.total_cents - investment,
                "studies_cents": 0,
            },
            "financing": financing,
        }

    def financing_plan(self) -> list[dict[str, Any]]:
        return [
            {"financer": financer, "years": by_year(cents, self.decision_year)}
            for financer, cents in self.shares()
        ]

    def decision(self) -> dict[str, Any]:
        return {
            "selected": True,
            "state_grant_cents": self.state_cents,
            "cdc_investment_cents": 0,
            "financing_plan": self.financing_plan(),
        }

    def co_financers(self) -> list[str]:
        return [self.region_financer, "feder"]


def fui_call(number: int) -> FuiCall:
    return next(call for call in FUI_CALLS if call.number == number)


def plan_projects(scale: Scale) -> list[ProjectPlan]:
    """Each played FUI call's projects: the call's money (as played) shared among them."""
    poles = world_class_poles()
    plans: list[ProjectPlan] = []
    parts = scale.projects_per_fui_call
    for number in scale.fui_calls:
        call = fui_call(number)
        state, local = (
            played_cents(call.state_cents.value),
            played_cents(call.local_authorities_cents.value),
        )
        feder = played_cents(call.feder_cents.value)
        for index in range(parts):
            count = len(plans)
            plans.append(
                ProjectPlan(
                    call=call,
                    index=index,
                    number=count + 1,
                    lead=poles[count % len(poles)],
                    partner=poles[(count + 5) % len(poles)],
                    stands_for=split(call.projects_selected.value, parts, index),
                    state_cents=split(state, parts, index),
                    local_cents=split(local, parts, index),
                    feder_cents=split(feder, parts, index),
                )
            )
    return plans


def agency_date(year: int) -> datetime:
    """The agencies commit their year's projects in February (simulated)."""
    return datetime(year, 2, 10, 9, tzinfo=PARIS)


@dataclass(frozen=True)
class AgencyPlan:
    agency: str
    year: int
    index: int
    pole: Pole
    amount_cents: int
    project: ProjectPlan | None = None
    """The FUI project this agency also funds (the overlap funding flags)."""

    @property
    def key(self) -> str:
        return f"{self.agency}-{self.year}-{self.index + 1}"

    def body(self) -> dict[str, Any]:
        project = self.project
        name = (
            project.name
            if project
            else f"Projet {self.agency.upper()} {self.year}-{self.index + 1}"
        )
        return {
            "years": [{"year": self.year, "amount_cents": self.amount_cents}],
            "beneficiary": {
                "kind": "project",
                "id": project.key if project else self.key,
                "name": name,
            },
            "pole_id": self.pole.id,
            "partner_pole_ids": [],
            "project_key": project.project_key if project else " ".join(name.casefold().split()),
            "members": project.consortium() if project else [],
            "reason": f"aide {self.agency.upper()} {self.year} à un projet labellisé",
        }


def plan_agencies(scale: Scale, projects: list[ProjectPlan]) -> list[AgencyPlan]:
    """Each agency's year shared among a few projects; the ANR's first one also funds the
    first FUI project decided after it (same project, same consortium)."""
    poles = world_class_poles()
    plans: list[AgencyPlan] = []
    parts = scale.agency_projects_per_year
    for agency in scale.agencies:
        for year in scale.agency_years:
            cents = AGENCY_CENTS[agency][year].value
            for index in range(parts):
                shared = None
                if agency == "anr" and not plans:
                    after = agency_date(year)
                    shared = next(
                        (p for p in projects if paris_day(p.call.decided_on) > after), None
                    )
                plans.append(
                    AgencyPlan(
                        agency=agency,
                        year=year,
                        index=index,
                        pole=shared.lead if shared else poles[(len(plans) * 7) % len(poles)],
                        amount_cents=split(cents, parts, index),
                        project=shared,
                    )
                )
    return plans
