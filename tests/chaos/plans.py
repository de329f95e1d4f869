"""The bodies the chaos run sends: a call, a dossier, the decisions on it, a contract draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Step:
    """A decision on a dossier: HTTP path and body, or the same as a ``calls.command``."""

    name: str
    by: str
    path: str
    command: str
    field: str
    body: dict[str, Any]


def platform_call(call_id: str, opens_at: datetime, deadline: datetime) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "kind": "innovation-platforms",
        "title": f"Plates-formes d'innovation, vague {call_id}",
        "funders": ["state", "cdc"],
        "opens_at": opens_at.isoformat(),
        "deadline": deadline.isoformat(),
        "budget_line_id": "intervention.platforms",
    }


def siret(number: int) -> str:
    """A valid SIRET (Luhn key), one per dossier number."""
    head = f"{4430618 + number:07d}{number % 1_000_000:06d}"
    for last in "0123456789":
        candidate = head + last
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("a Luhn key always exists")


def dossier_content(name: str, lead: str, number: int) -> dict[str, Any]:
    investment, operation, studies = 30_000_000, 5_000_000, 2_500_000
    total = investment + operation + studies
    return {
        "platform_name": name,
        "lead_pole_id": lead,
        "carrier": {
            "name": f"Association porteuse n°{number}",
            "siret": siret(number),
            "contact_email": f"porteur-{number}@chaos.example.fr",
        },
        "offer": {
            "equipment": ["banc d'essai"],
            "services": ["essais", "formation"],
            "user_community": "PME de la filière",
            "open_to_smes": True,
        },
        "requested": {
            "investment_cents": investment,
            "operation_cents": operation,
            "studies_cents": studies,
        },
        "financing": [{"financer": "state", "amount_cents": total}],
    }


def dossier_steps(study: bool, selected: bool, grant_cents: int, cdc_cents: int) -> list[Step]:
    """Screening, the two votes, perhaps a study, the final decision."""
    steps = [
        Step("screen", "state", "/dossiers/{id}/screening", "screen-dossier", "screening",
             {"eligible": True}),
        Step("vote-state", "state", "/dossiers/{id}/preselection-votes", "vote-preselection",
             "vote", {"decision": "yes"}),
        Step("vote-cdc", "cdc", "/dossiers/{id}/preselection-votes", "vote-preselection",
             "vote", {"decision": "yes"}),
    ]  # fmt: skip
    if study:
        steps += [
            Step("study", "cdc", "/dossiers/{id}/study", "commission-study", "study",
                 {"cost_cents": 2_000_000, "cdc_share_cents": 1_000_000}),
            Step("study-done", "cdc", "/dossiers/{id}/study/completion", "complete-study",
                 "conclusions", {"business_model": "location d'équipements",
                                 "legal_structure": "association", "business_plan": "5 ans"}),
        ]  # fmt: skip
    decision: dict[str, Any] = (
        {"selected": True, "state_grant_cents": grant_cents, "cdc_investment_cents": cdc_cents}
        if selected
        else {"selected": False, "reasons": ["le modèle économique reste à démontrer"]}
    )
    steps.append(
        Step("decide", "state", "/dossiers/{id}/decision", "decide-dossier", "decision", decision)
    )
    return steps


def contract_draft(
    pole_id: str, region: str, start_year: int, state_years: list[int]
) -> dict[str, Any]:
    years = [start_year, start_year + 1]
    return {
        "pole_id": pole_id,
        "period_start_year": start_year,
        "period_end_year": start_year + 1,
        "signature_deadline": f"{start_year + 3}-06-30T23:59:59+02:00",
        "parties": [
            {"party_id": "state", "name": "État", "contact_email": "etat@chaos.example.fr"},
            {
                "party_id": f"pole:{pole_id}",
                "name": pole_id,
                "contact_email": f"{pole_id}@chaos.example.fr",
            },
            {
                "party_id": f"region:{region}",
                "name": f"Région {region}",
                "contact_email": f"region-{region}@chaos.example.fr",
            },
        ],
        "terms": {
            "objectives": ["Plus de projets collaboratifs portés par des PME"],
            "programmes": [
                {
                    "id": "P1",
                    "title": "Croissance des PME",
                    "indicators": [
                        {
                            "id": "I1",
                            "name": "PME membres",
                            "unit": "entreprises",
                            "baseline": 100,
                            "targets": {str(y): 100 + 10 * i for i, y in enumerate(years)},
                        },
                    ],
                }
            ],
            "financing": [
                *(
                    {"party_id": "state", "year": y, "amount_cents": 10_000_000}
                    for y in state_years
                ),
                *(
                    {"party_id": f"region:{region}", "year": y, "amount_cents": 5_000_000}
                    for y in years
                ),
            ],
        },
    }
