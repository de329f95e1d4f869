"""What a contract says: parties, roadmap, objectives, action programmes, financing.

The models check each field on its own (pydantic: 422 with the field); ``check_terms`` checks the
rules that tie fields together (one pôle party, ids unique, years within the period, ...).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.errors import Invalid, Location, Problem
from shared.events.contracts import Party, PartyKind, YearlyCommitment
from shared.reference.regions import REGION_NAMES

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Amount = Annotated[float, Field(allow_inf_nan=False)]

PARTY_ID = re.compile(
    r"^(?:(?P<state>state)|(?P<kind>pole|region|department|city):(?P<code>[A-Za-z0-9-]{1,64}))$"
)
DEPARTMENT_CODE = re.compile(r"^(?:\d{2,3}|2A|2B)$")
CITY_CODE = re.compile(r"^(?:\d{5}|2A\d{3}|2B\d{3})$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartyInput(Frozen):
    """A party as the pôle names it: ``state``, ``pole:<id>``, ``region:<code>``,
    ``department:<code>`` or ``city:<INSEE code>``."""

    party_id: str = Field(max_length=80, examples=["region:73"])
    name: Name
    contact_email: Email
    region_code: str | None = Field(
        default=None, description="for a department or city: the region it belongs to"
    )


class Milestone(Frozen):
    id: Identifier
    title: Name
    due_on: date


class Indicator(Frozen):
    id: Identifier
    name: Name
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    baseline: Amount
    targets: dict[int, Amount] = Field(description="the target value for each year")


class Programme(Frozen):
    id: Identifier
    title: Name
    milestones: list[Milestone] = Field(default_factory=list, max_length=50)
    indicators: list[Indicator] = Field(default_factory=list, max_length=50)


class Terms(Frozen):
    """The body of the contract that the parties sign; after signature only an amendment
    changes it."""

    objectives: list[Text] = Field(default_factory=list, max_length=50)
    programmes: list[Programme] = Field(default_factory=list, max_length=30)
    financing: list[YearlyCommitment] = Field(default_factory=list, max_length=300)

    def indicator_ids(self) -> set[str]:
        return {i.id for p in self.programmes for i in p.indicators}


class Roadmap(Frozen):
    """The strategic roadmap annexed to the contract (feuille de route stratégique)."""

    technology_ambition: Text
    market_ambition: Text
    horizon_years: int = Field(ge=3, le=5, description="the roadmap looks 3 to 5 years ahead")
    ecosystem_plan: Text


def to_party(
    given: PartyInput, pole_id: str, pole_regions: tuple[str, ...], loc: Location
) -> Party:
    """The party as the wire carries it, or Invalid naming the field at fault."""
    match = PARTY_ID.match(given.party_id)
    if match is None:
        raise Invalid(
            [
                Problem(
                    (*loc, "party_id"),
                    "must be state, pole:<id>, region:<code>, department:<code> or city:<code>",
                )
            ]
        )
    if match["state"]:
        return Party(
            party_id="state", kind="state", name=given.name, contact_email=given.contact_email
        )
    kind: PartyKind = match["kind"]  # type: ignore[assignment]
    code = match["code"]
    region_code = given.region_code
    problem = None
    if kind == "pole" and code != pole_id:
        problem = f"the pôle party of this contract is pole:{pole_id}"
    elif kind == "pole":
        region_code = pole_regions[0]
    elif kind == "region":
        problem = None if code in REGION_NAMES else f"{code} is not a region's INSEE code"
        region_code = code
    elif kind == "department" and not DEPARTMENT_CODE.match(code):
        problem = f"{code} is not a department's INSEE code"
    elif kind == "city" and not CITY_CODE.match(code):
        problem = f"{code} is not a commune's INSEE code"
    if problem is not None:
        raise Invalid([Problem((*loc, "party_id"), problem)])
    if region_code is not None and region_code not in REGION_NAMES:
        raise Invalid([Problem((*loc, "region_code"), f"{region_code} is not a region's code")])
    return Party(
        party_id=given.party_id,
        kind=kind,
        name=given.name,
        region_code=region_code,
        contact_email=given.contact_email,
    )


def to_parties(given: list[PartyInput], pole_id: str, pole_regions: tuple[str, ...]) -> list[Party]:
    parties = [to_party(p, pole_id, pole_regions, ("parties", i)) for i, p in enumerate(given)]
    problems = []
    seen: set[str] = set()
    for i, party in enumerate(parties):
        if party.party_id in seen:
            problems.append(Problem(("parties", i, "party_id"), "names a party twice"))
        seen.add(party.party_id)
    if f"pole:{pole_id}" not in seen:
        problems.append(Problem(("parties",), f"the pôle's governance (pole:{pole_id}) must sign"))
    if "state" not in seen:
        problems.append(Problem(("parties",), "the State (state) must sign"))
    if not any(p.kind in ("region", "department", "city") for p in parties):
        problems.append(Problem(("parties",), "at least one local authority must sign"))
    if problems:
        raise Invalid(problems)
    return parties


def check_terms(terms: Terms, parties: list[Party], start_year: int, end_year: int) -> None:
    """Raise Invalid with every problem found: ids unique, years in the period, financers named."""
    years = range(start_year, end_year + 1)
    problems: list[Problem] = []
    programme_ids: set[str] = set()
    milestone_ids: set[str] = set()
    indicator_ids: set[str] = set()
    for p, programme in enumerate(terms.programmes):
        at: Location = ("programmes", p)
        if programme.id in programme_ids:
            problems.append(Problem((*at, "id"), "another programme has this id"))
        programme_ids.add(programme.id)
        for m, milestone in enumerate(programme.milestones):
            if milestone.id in milestone_ids:
                problems.append(Problem((*at, "milestones", m, "id"), "another milestone has it"))
            milestone_ids.add(milestone.id)
            if milestone.due_on.year not in years:
                problems.append(Problem((*at, "milestones", m, "due_on"), "outside the period"))
        for i, indicator in enumerate(programme.indicators):
            if indicator.id in indicator_ids:
                problems.append(Problem((*at, "indicators", i, "id"), "another indicator has it"))
            indicator_ids.add(indicator.id)
            outside = sorted(y for y in indicator.targets if y not in years)
            if outside:
                problems.append(
                    Problem(
                        (*at, "indicators", i, "targets"),
                        f"years outside the period {start_year}-{end_year}: "
                        f"{', '.join(map(str, outside))}",
                    )
                )
    financers = {p.party_id for p in parties if p.kind != "pole"}
    commitments: set[tuple[str, int]] = set()
    for f, commitment in enumerate(terms.financing):
        at = ("financing", f)
        if commitment.party_id not in financers:
            problems.append(
                Problem(
                    (*at, "party_id"),
                    "only the State and the local authorities named as parties commit money",
                )
            )
        if commitment.year not in years:
            problems.append(Problem((*at, "year"), f"outside the period {start_year}-{end_year}"))
        if (commitment.party_id, commitment.year) in commitments:
            problems.append(Problem(at, "this party's commitment for this year is given twice"))
        commitments.add((commitment.party_id, commitment.year))
    if problems:
        raise Invalid(problems)


def incomplete(terms: Terms) -> list[Problem]:
    """What a draft still lacks before it can be opened for signature."""
    problems = []
    if not terms.objectives:
        problems.append(Problem(("objectives",), "at least one objective"))
    if not terms.programmes:
        problems.append(Problem(("programmes",), "at least one action programme"))
    for p, programme in enumerate(terms.programmes):
        if not programme.indicators:
            problems.append(Problem(("programmes", p, "indicators"), "at least one indicator"))
    if not terms.financing:
        problems.append(Problem(("financing",), "at least one financial commitment"))
    return problems
