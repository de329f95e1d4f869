"""The commands, one model each. The HTTP routes build them from the path and the body; the
Kafka command topic carries them as JSON (``{"command_id": ..., "type": "submit-dossier", ...}``).
Both hand them to the same handler."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from services.calls.domain.inputs import (
    CallSpec,
    DossierContent,
    FinalDecision,
    Screening,
    StudyConclusions,
    StudyOrder,
    Vote,
)

Id = Annotated[str, Field(min_length=1, max_length=100)]


class CommandBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenCall(CommandBase):
    type: Literal["open-call"] = "open-call"
    call: CallSpec


class SubmitDossier(CommandBase):
    type: Literal["submit-dossier"] = "submit-dossier"
    call_id: Id
    content: DossierContent


class ReplaceDossier(CommandBase):
    type: Literal["replace-dossier"] = "replace-dossier"
    dossier_id: Id
    content: DossierContent


class WithdrawDossier(CommandBase):
    type: Literal["withdraw-dossier"] = "withdraw-dossier"
    dossier_id: Id


class ScreenDossier(CommandBase):
    type: Literal["screen-dossier"] = "screen-dossier"
    dossier_id: Id
    screening: Screening


class VoteOnPreselection(CommandBase):
    type: Literal["vote-preselection"] = "vote-preselection"
    dossier_id: Id
    vote: Vote


class CommissionStudy(CommandBase):
    type: Literal["commission-study"] = "commission-study"
    dossier_id: Id
    study: StudyOrder


class CompleteStudy(CommandBase):
    type: Literal["complete-study"] = "complete-study"
    dossier_id: Id
    conclusions: StudyConclusions


class DecideDossier(CommandBase):
    type: Literal["decide-dossier"] = "decide-dossier"
    dossier_id: Id
    decision: FinalDecision


DossierCommand = (
    ReplaceDossier
    | WithdrawDossier
    | ScreenDossier
    | VoteOnPreselection
    | CommissionStudy
    | CompleteStudy
    | DecideDossier
)
Command = OpenCall | SubmitDossier | DossierCommand
COMMANDS: TypeAdapter[Command] = TypeAdapter(Annotated[Command, Field(discriminator="type")])
