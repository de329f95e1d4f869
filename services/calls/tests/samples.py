"""Sample bodies for the innovation-platforms call of 1 October 2008 (shared with the
integration and end-to-end tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.clock import PARIS

OPENS_AT = datetime(2008, 10, 1, 0, 0, tzinfo=PARIS)
DEADLINE = datetime(2008, 12, 2, 0, 0, tzinfo=PARIS)
"""'Before 2 December 2008': 2008-12-01T23:59:59+01:00 is in time, midnight is late."""
IN_TIME = datetime(2008, 11, 20, 10, 0, tzinfo=PARIS)
CARRIER_SIRET = "44306184100047"
OTHER_SIRET = "73282932000074"


def platform_call(call_id: str = "PF-2008") -> dict[str, Any]:
    return {
        "call_id": call_id,
        "kind": "innovation-platforms",
        "title": "Appel à projets plates-formes d'innovation",
        "funders": ["state", "cdc"],
        "opens_at": OPENS_AT.isoformat(),
        "deadline": DEADLINE.isoformat(),
        "documents": [
            {"kind": kind, "title": kind, "url": f"https://competitivite.gouv.fr/pf/{kind}.pdf"}
            for kind in (
                "call-text",
                "specifications",
                "dossier-form",
                "convention",
                "press-release",
            )
        ],
        "budget_line_id": "intervention-structuring-projects",
        "eligibility_rules": ["open to a community of users, notably SMEs"],
    }


def dossier(
    platform_name: str = "Plate-forme composites aéronautiques",
    lead: str = "aerospace-valley",
    partners: tuple[str, ...] = ("pegase",),
    siret: str = CARRIER_SIRET,
    investment_cents: int = 300_000_000,
) -> dict[str, Any]:
    operation, studies = 50_000_000, 25_000_000
    total = investment_cents + operation + studies
    return {
        "platform_name": platform_name,
        "lead_pole_id": lead,
        "partner_pole_ids": list(partners),
        "carrier": {
            "name": "Association Plate-forme Composites",
            "siret": siret,
            "contact_email": "contact@pf-composites.example.fr",
        },
        "partners": [{"name": "Laboratoire des composites", "kind": "research"}],
        "offer": {
            "equipment": ["autoclave", "banc d'essai"],
            "services": ["location d'équipements", "essais"],
            "user_community": "PME de la filière aéronautique",
            "open_to_smes": True,
        },
        "requested": {
            "investment_cents": investment_cents,
            "operation_cents": operation,
            "studies_cents": studies,
        },
        "financing": [
            {"financer": "state", "amount_cents": total // 2},
            {"financer": "region", "amount_cents": total - total // 2, "region_code": "73"},
        ],
    }


RD_OPENS_AT = datetime(2009, 1, 15, 0, 0, tzinfo=PARIS)
RD_DEADLINE = datetime(2009, 3, 16, 0, 0, tzinfo=PARIS)
RD_IN_TIME = datetime(2009, 3, 2, 11, 0, tzinfo=PARIS)
RD_DECIDED = datetime(2009, 6, 18, 15, 0, tzinfo=PARIS)


def rd_call(call_id: str = "FUI-2009-7") -> dict[str, Any]:
    """The 7th FUI call for collaborative R&D projects (first of 2009)."""
    return {
        "call_id": call_id,
        "kind": "fui-rd",
        "title": "7e appel à projets de R&D collaborative du FUI",
        "funders": ["state", "region", "feder"],
        "opens_at": RD_OPENS_AT.isoformat(),
        "deadline": RD_DEADLINE.isoformat(),
        "budget_line_id": "intervention-rd-projects",
    }


def project(
    name: str = "Composites  Thermoplastiques",
    lead: str = "aerospace-valley",
    labelled_by: tuple[str, ...] = ("aerospace-valley", "pegase"),
    labelled_on: str = "2009-02-10",
) -> dict[str, Any]:
    """An R&D project: a consortium, the pôles that labelled it, a plan by year."""
    total = 240_000_000
    return {
        "platform_name": name,
        "lead_pole_id": lead,
        "carrier": {
            "name": "Composites Industries SA",
            "siret": CARRIER_SIRET,
            "contact_email": "projet@composites.example.fr",
        },
        "consortium": [
            {"identifier": CARRIER_SIRET, "kind": "company", "name": "Composites Industries SA"},
            {"identifier": OTHER_SIRET, "kind": "sme", "name": "PME Usinage"},
            {"identifier": "200012345A", "kind": "laboratory", "name": "Institut Clément Ader"},
        ],
        "labels": [{"pole_id": pole, "labelled_on": labelled_on} for pole in labelled_by],
        "requested": {"investment_cents": 0, "operation_cents": total, "studies_cents": 0},
        "financing": [
            {
                "financer": "state",
                "amount_cents": 120_000_000,
                "years": [
                    {"year": 2009, "amount_cents": 60_000_000},
                    {"year": 2010, "amount_cents": 60_000_000},
                ],
            },
            {"financer": "region", "region_code": "73", "amount_cents": 60_000_000},
            {"financer": "feder", "amount_cents": 30_000_000},
            {"financer": "private", "amount_cents": total - 210_000_000},
        ],
    }


def rd_plan(state: int = 100_000_000) -> list[dict[str, Any]]:
    """A selected project's plan: the State through the FUI over two years, the region, FEDER."""
    half = state // 2
    return [
        {
            "financer": "state",
            "years": [
                {"year": 2009, "amount_cents": half},
                {"year": 2010, "amount_cents": state - half},
            ],
        },
        {"financer": "region:73", "years": [{"year": 2009, "amount_cents": 50_000_000}]},
        {"financer": "feder", "years": [{"year": 2010, "amount_cents": 30_000_000}]},
    ]
