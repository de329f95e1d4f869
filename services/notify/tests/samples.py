"""Events notify receives, for its component and integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.events.calls import DossierPreselected


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
