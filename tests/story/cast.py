"""Everything the story plays, planned up front from its scale, and what it learns on the way
(the ids the platform gives back)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.story.call_plan import DossierPlan, late_dossier, plan_dossiers
from tests.story.contract_plan import ContractPlan, plan_contracts_2009, plan_contracts_2010
from tests.story.scale import Scale


@dataclass
class Cast:
    scale: Scale
    dossiers: list[DossierPlan]
    late: DossierPlan
    contracts_2009: list[ContractPlan]
    contracts_2010: list[ContractPlan]
    dossier_ids: dict[int, str] = field(default_factory=dict)
    """Dossier rank -> the id in the platform's receipt."""
    late_answers: list[int] = field(default_factory=list)
    """The status codes the late dossier got."""

    @classmethod
    def of(cls, scale: Scale) -> Cast:
        return cls(
            scale=scale,
            dossiers=plan_dossiers(scale),
            late=late_dossier(scale),
            contracts_2009=plan_contracts_2009(scale),
            contracts_2010=plan_contracts_2010(scale),
        )

    @property
    def contracts(self) -> list[ContractPlan]:
        return [*self.contracts_2009, *self.contracts_2010]

    def dossier_id(self, plan: DossierPlan) -> str:
        return self.dossier_ids[plan.rank]

    def preselected(self) -> list[DossierPlan]:
        return [d for d in self.dossiers if d.preselected]
