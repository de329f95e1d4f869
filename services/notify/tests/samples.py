"""Events notify receives, for its component and integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events.calls import DossierFunded, DossierFundingRefused, DossierPreselected
from shared.events.funding import FinancingOpened, PlanShare, YearAmount


def preselected(
    call_id: str, pole_id: str, partners: tuple[str, ...] = (), contact: str | None = None
) -> DossierPreselected:
    """A dossier of ``pole_id`` (with ``partners``) pre-selected in ``call_id``; a fresh id."""
    return DossierPreselected(
        dossier_id=f"d-{uuid.uuid4().hex[:8]}",
        call_id=call_id,
        call_kind="innovation-platforms",
        pole_id=pole_id,
        partner_pole_ids=list(partners),
        region_codes=["82"],
        platform_name="Plateforme nano",
        contact_email=contact,
        decided_at=datetime(2009, 3, 2, 10, 0, tzinfo=UTC),
    )


def plan(*financers: str) -> list[PlanShare]:
    """A plan where each financer gives 100 000 € in 2010."""
    return [
        PlanShare(financer=f, years=[YearAmount(year=2010, amount_cents=10_000_000)])
        for f in financers
    ]


def _facts(call_id: str, dossier_id: str) -> dict[str, Any]:
    return {
        "dossier_id": dossier_id,
        "call_id": call_id,
        "call_kind": "fui-rd",
        "pole_id": "aerospace-valley",
        "region_codes": ["73"],
        "platform_name": "Projet composite",
        "contact_email": "porteur@projet.fr",
    }


WHEN = datetime(2010, 7, 30, 10, 0, tzinfo=UTC)


def financing_opened(call_id: str, dossier_id: str, *financers: str) -> FinancingOpened:
    return FinancingOpened(
        **_facts(call_id, dossier_id),
        plan=plan(*financers),
        due_at=WHEN,
        opened_at=WHEN,
    )


def funded(call_id: str, dossier_id: str, *financers: str) -> DossierFunded:
    return DossierFunded(
        **_facts(call_id, dossier_id),
        financing_plan=plan(*financers),
        total_cents=10_000_000 * len(financers),
        funded_at=WHEN,
    )


def funding_refused(call_id: str, dossier_id: str, financer: str) -> DossierFundingRefused:
    return DossierFundingRefused(
        **_facts(call_id, dossier_id),
        financer=financer,
        reason="financer-declined",
        detail="the financer withdrew",
        refused_at=WHEN,
    )
