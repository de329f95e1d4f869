"""Events the calls service publishes (topics ``calls.call``, ``calls.dossier``,
``calls.command-result``).

Cross-service contracts fixed here first (funding consumes them): ``DossierSelected`` and
``StudyCommissioned``. Every dossier event carries what a subscriber needs without calling back:
the call, the lead pôle, the partner pôles, the regions, the amounts.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.base import EventData, event_type
from shared.topics import CALLS_DOSSIER


class DossierFacts(EventData):
    """What every dossier event carries."""

    dossier_id: str
    call_id: str
    call_kind: str = Field(description="innovation-platforms, fui-rd, ecotech, ...")
    pole_id: str = Field(description="the lead pôle")
    partner_pole_ids: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(description="INSEE codes of the pôles' regions")
    platform_name: str
    contact_email: str | None = None


@event_type("calls.study.commissioned.v1", CALLS_DOSSIER)
class StudyCommissioned(DossierFacts):
    """The CDC commissions an engineering study; it pays ``cdc_share_cents`` (at most 80%)."""

    study_id: str
    cost_cents: int = Field(ge=0)
    cdc_share_cents: int = Field(ge=0)
    commissioned_at: datetime


@event_type("calls.dossier.selected.v1", CALLS_DOSSIER)
class DossierSelected(DossierFacts):
    """Final decision: selected, with the State's grant and any CDC investment."""

    decided_at: datetime
    decision_year: int = Field(description="the budget year of the decision (Europe/Paris)")
    state_grant_cents: int = Field(ge=0)
    cdc_investment_cents: int = Field(default=0, ge=0)
    requested_total_cents: int = Field(ge=0)
