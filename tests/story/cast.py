"""Everything the story plays, planned up front from its scale, and what it learns on the way
(the ids the platform gives back)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.story.call_plan import DossierPlan, late_dossier, plan_dossiers
from tests.story.contract_plan import ContractPlan, plan_contracts_2009, plan_contracts_2010
from tests.story.rd_plan import AgencyPlan, ProjectPlan, plan_agencies, plan_projects
from tests.story.scale import Scale


@dataclass
class Cast:
    scale: Scale
    dossiers: list[DossierPlan]
    late: DossierPlan
    contracts_2009: list[ContractPlan]
    contracts_2010: list[ContractPlan]
    projects: list[ProjectPlan]
    agencies: list[AgencyPlan]
    dossier_ids: dict[int, str] = field(default_factory=dict)
    """Dossier rank -> the id in the platform's receipt."""
    late_answers: list[int] = field(default_factory=list)
    """The status codes the late dossier got."""
    project_ids: dict[str, str] = field(default_factory=dict)
    """R&D project key -> its dossier id."""
    agency_commitment_ids: dict[str, str] = field(default_factory=dict)
    """Agency commitment key -> funding's commitment id."""

    @classmethod
    def of(cls, scale: Scale) -> Cast:
        projects = plan_projects(scale)
        return cls(
            scale=scale,
            dossiers=plan_dossiers(scale),
            late=late_dossier(scale),
            contracts_2009=plan_contracts_2009(scale),
            contracts_2010=plan_contracts_2010(scale),
            projects=projects,
            agencies=plan_agencies(scale, projects),
        )

    @property
    def contracts(self) -> list[ContractPlan]:
        return [*self.contracts_2009, *self.contracts_2010]

    def dossier_id(self, plan: DossierPlan) -> str:
        return self.dossier_ids[plan.rank]

    def preselected(self) -> list[DossierPlan]:
        return [d for d in self.dossiers if d.preselected]

    def selected_in(self, year: int) -> list[DossierPlan]:
        return [d for d in self.dossiers if d.selection_year == year]

    def refused_platforms(self) -> list[DossierPlan]:
        """The selections funding refuses: one declined by its region, one over the ceiling."""
        return [d for d in self.dossiers if d.declined_by_region or d.oversized_cents]

    def projects_of(self, call_id: str) -> list[ProjectPlan]:
        return [p for p in self.projects if p.call.call_id == call_id]
