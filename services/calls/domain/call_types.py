"""Call types are data: ``services/calls/call_types.json`` names each kind of call, its stages
and what its dossiers must contain. The file is read and checked once, when the service starts
(``call_types()``); a call opened with a kind it does not name is refused (422).

The stages, in their order:

- ``screening``: eligible or ineligible, after the deadline (every call);
- ``preselection``: the State's and the CDC's joint votes;
- ``study``: an engineering study commissioned and paid in part by the CDC (optional);
- ``evaluation``: an expert's score (0 to 20) and opinion;
- ``selection``: the final decision (every call).

A move whose stage the dossier's call type lacks is a Conflict (409, reason "lifecycle").
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import Conflict

Stage = Literal["screening", "preselection", "study", "evaluation", "selection"]
Part = Literal["offer", "consortium", "labels"]
STAGE_ORDER: tuple[Stage, ...] = ("screening", "preselection", "study", "evaluation", "selection")
READY_AFTER: dict[Stage, tuple[str, ...]] = {
    "screening": ("eligible",),
    "preselection": ("preselected",),
    "study": ("preselected", "study-completed"),  # the study is optional
    "evaluation": ("evaluated",),
}
"""The statuses a dossier may be decided from, by the stage that comes before the selection."""
CALL_TYPES_FILE = Path(__file__).resolve().parent.parent / "call_types.json"


class CallType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(pattern=r"^[a-z0-9-]{2,40}$")
    title: Annotated[str, Field(min_length=1, max_length=300)]
    stages: Annotated[list[Stage], Field(min_length=2)]
    requires: list[Part] = Field(default_factory=list, description="the dossier's parts")
    money: bool = Field(description="false: a selection grants no money (a labelling call)")

    @model_validator(mode="after")
    def stages_in_order(self) -> CallType:
        if self.stages[0] != "screening" or self.stages[-1] != "selection":
            raise ValueError("a call type starts with the screening and ends with the selection")
        if self.stages != sorted(set(self.stages), key=STAGE_ORDER.index):
            raise ValueError(f"stages come once each, in the order {', '.join(STAGE_ORDER)}")
        if "study" in self.stages and "preselection" not in self.stages:
            raise ValueError("a study follows a pre-selection")
        return self

    def ensure_stage(self, stage: Stage, action: str) -> None:
        if stage not in self.stages:
            raise Conflict(
                f"{action} refused: a {self.kind} call has no {stage} stage", "lifecycle"
            )

    def ready_for_selection(self) -> tuple[str, ...]:
        return READY_AFTER[self.stages[-2]]


class CallTypes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    call_types: Annotated[list[CallType], Field(min_length=1)]

    @model_validator(mode="after")
    def kinds_once(self) -> CallTypes:
        kinds = [call_type.kind for call_type in self.call_types]
        if len(set(kinds)) != len(kinds):
            raise ValueError("a call type's kind is named once")
        return self


def load_call_types(path: Path) -> dict[str, CallType]:
    """The call types of a file, by kind; a pydantic ValidationError says what is wrong."""
    read = CallTypes.model_validate_json(path.read_bytes())
    return {call_type.kind: call_type for call_type in read.call_types}


@cache
def call_types() -> dict[str, CallType]:
    """The service's call types (read once; the app reads them at startup)."""
    return load_call_types(CALL_TYPES_FILE)


def call_type(kind: str) -> CallType:
    """The call type of a call or a dossier (its kind was checked when the call opened)."""
    found = call_types().get(kind)
    if found is None:
        raise Conflict(f"no call type {kind} in the service's call types", "lifecycle")
    return found
