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
