"""Sample contracts for the tests: Aerospace Valley (Midi-Pyrénées and Aquitaine), 2009-2011."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.contracts.domain import signatures
from services.contracts.domain.calendar import default_signature_deadline
from services.contracts.domain.contract import Contract
from services.contracts.domain.terms import PartyInput, Roadmap, Terms, to_parties
from shared.clock import PARIS
from shared.decision import Decision

POLE = "aerospace-valley"
REGIONS = ("73", "72")
STATE = frozenset({"state"})
OWN_POLE = frozenset({f"pole:{POLE}"})
CORRESPONDENT = frozenset({f"correspondent:{POLE}"})
ALL_PARTY_IDS = ("state", f"pole:{POLE}", "region:73", "region:72", "department:31")


def paris(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS)


def parties_json() -> list[dict[str, Any]]:
    return [
        {"party_id": f"pole:{POLE}", "name": "Aerospace Valley", "contact_email": "av@example.org"},
        {"party_id": "state", "name": "État (DGCIS)", "contact_email": "dgcis@example.org"},
        {
            "party_id": "region:73",
            "name": "Région Midi-Pyrénées",
            "contact_email": "mp@example.org",
        },
        {"party_id": "region:72", "name": "Région Aquitaine", "contact_email": "aq@example.org"},
        {
            "party_id": "department:31",
            "name": "Haute-Garonne",
            "contact_email": "cg31@example.org",
            "region_code": "73",
        },
    ]


def terms_json(end_year: int = 2011) -> dict[str, Any]:
    years = range(2009, end_year + 1)
    return {
        "objectives": ["Double the number of collaborative R&D projects led by SMEs"],
        "programmes": [
            {
                "id": "P1",
                "title": "SME growth",
                "milestones": [
                    {"id": "M1", "title": "SME desk opened", "due_on": "2009-12-31"},
                    {"id": "M2", "title": "First export mission", "due_on": "2010-06-30"},
                ],
                "indicators": [
                    {
                        "id": "I1",
                        "name": "SME members",
                        "unit": "firms",
                        "baseline": 300,
                        "targets": {str(y): 300 + 50 * (y - 2008) for y in years},
                    },
                ],
            }
        ],
        "financing": [
            {"party_id": p, "year": y, "amount_cents": cents}
            for p, cents in (
                ("state", 80_000_000),
                ("region:73", 50_000_000),
                ("region:72", 30_000_000),
                ("department:31", 5_000_000),
            )
            for y in years
        ],
    }


def roadmap_json() -> dict[str, Any]:
    return {
        "technology_ambition": "More electric aircraft and embedded systems",
        "market_ambition": "Lead European civil aeronautics supply chains",
        "horizon_years": 5,
        "ecosystem_plan": "Bind SMEs to the prime contractors' programmes",
    }


def drafted(now: datetime | None = None) -> Contract:
    parties = to_parties([PartyInput.model_validate(p) for p in parties_json()], POLE, REGIONS)
    return signatures.draft(
        pole_id=POLE,
        pole_name="Aerospace Valley",
        region_codes=list(REGIONS),
        start_year=2009,
        end_year=2011,
        signature_deadline=default_signature_deadline(2009),
        parties=parties,
        terms=Terms.model_validate(terms_json()),
        now=now or paris(2009, 2, 1),
    ).state


def open_contract() -> Contract:
    contract = drafted()
    signatures.annex_roadmap(
        contract, Roadmap.model_validate(roadmap_json()), OWN_POLE, paris(2009, 3, 1)
    )
    signatures.open_for_signature(contract, OWN_POLE, paris(2009, 4, 1))
    return contract


def roles_for(party_id: str) -> frozenset[str]:
    return STATE if party_id.startswith("department") else frozenset({party_id})


def active_contract() -> Contract:
    contract = open_contract()
    for party_id in ALL_PARTY_IDS:
        signatures.sign(contract, party_id, "Signatory", roles_for(party_id), paris(2009, 6, 17))
    return contract


SOME_DAY = date(2010, 1, 15)


def kinds(decision: Decision[Any]) -> list[str]:
    """The short names of a decision's events (``signed`` for ``contracts.contract.signed.v1``)."""
    return [e.type_name.split(".")[2] for e in decision.events]
