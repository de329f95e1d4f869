"""The commands, one model each. The HTTP routes build them from the path and the body; the
Kafka command topic carries them as JSON (``{"command_id": ..., "type": "submit-dossier", ...}``).
Both hand them to the same handler."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from services.calls.domain import inputs

Id = Annotated[str, Field(min_length=1, max_length=100)]


class CommandBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenCall(CommandBase):
    type: Literal["open-call"] = "open-call"
    call: inputs.CallSpec


class SubmitDossier(CommandBase):
    type: Literal["submit-dossier"] = "submit-dossier"
    call_id: Id
    content: inputs.DossierContent


class OnDossier(CommandBase):
    """A command on one dossier, named by its id."""

    dossier_id: Id


class ReplaceDossier(OnDossier):
    type: Literal["replace-dossier"] = "replace-dossier"
    content: inputs.DossierContent


class WithdrawDossier(OnDossier):
    type: Literal["withdraw-dossier"] = "withdraw-dossier"


class ScreenDossier(OnDossier):
    type: Literal["screen-dossier"] = "screen-dossier"
    screening: inputs.Screening


class VoteOnPreselection(OnDossier):
    type: Literal["vote-preselection"] = "vote-preselection"
    vote: inputs.Vote


class CommissionStudy(OnDossier):
    type: Literal["commission-study"] = "commission-study"
    study: inputs.StudyOrder


class CompleteStudy(OnDossier):
    type: Literal["complete-study"] = "complete-study"
    conclusions: inputs.StudyConclusions


class EvaluateDossier(OnDossier):
    type: Literal["evaluate-dossier"] = "evaluate-dossier"
    expertise: inputs.Expertise


class DecideDossier(OnDossier):
    type: Literal["decide-dossier"] = "decide-dossier"
    decision: inputs.FinalDecision


DossierCommand = (
    ReplaceDossier
    | WithdrawDossier
    | ScreenDossier
    | VoteOnPreselection
    | CommissionStudy
    | CompleteStudy
    | EvaluateDossier
    | DecideDossier
)
Command = OpenCall | SubmitDossier | DossierCommand
COMMANDS: TypeAdapter[Command] = TypeAdapter(Annotated[Command, Field(discriminator="type")])
