"""Bodies that break a rule are refused with the field and the reason (422)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.calls.domain.inputs import (
    CallSpec,
    DossierContent,
    FinalDecision,
    Screening,
    Vote,
)
from services.calls.tests.samples import DEADLINE, OPENS_AT, dossier, platform_call


def error_of(model: Any, body: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    first = caught.value.errors()[0]
    return tuple(first["loc"]), first["msg"]


def test_the_samples_are_valid() -> None:
    CallSpec.model_validate(platform_call())
    DossierContent.model_validate(dossier())


def test_a_call_ends_after_it_opens() -> None:
    body = {**platform_call(), "deadline": OPENS_AT.isoformat(), "opens_at": DEADLINE.isoformat()}
    assert "deadline" in error_of(CallSpec, body)[1]


def test_call_instants_carry_a_timezone() -> None:
    loc, _ = error_of(CallSpec, {**platform_call(), "deadline": "2008-12-02T00:00:00"})
    assert loc == ("deadline",)


def test_a_wrong_siret_names_the_field() -> None:
    body = dossier(siret="44306184100048")
    loc, msg = error_of(DossierContent, body)
    assert loc == ("carrier", "siret")
    assert "check key" in msg


def test_the_financing_plan_covers_the_amounts_requested() -> None:
    body = dossier()
    body["financing"][0]["amount_cents"] -= 1
    assert "financing plan" in error_of(DossierContent, body)[1]


def test_the_lead_pole_is_not_a_partner_too() -> None:
    body = dossier(partners=("aerospace-valley",))
    assert "lead pôle" in error_of(DossierContent, body)[1]


def test_a_partner_pole_is_named_once() -> None:
    body = dossier(partners=("pegase", "pegase"))
    assert "twice" in error_of(DossierContent, body)[1]


def test_negative_amounts_are_refused() -> None:
    body = dossier()
    body["requested"]["operation_cents"] = -1
    assert error_of(DossierContent, body)[0] == ("requested", "operation_cents")


def test_unknown_fields_are_refused() -> None:
    assert error_of(DossierContent, {**dossier(), "budget": 1})[0] == ("budget",)


def test_refusals_give_reasons() -> None:
    assert "reasons" in error_of(Screening, {"eligible": False})[1]
    assert "reasons" in error_of(Vote, {"decision": "no"})[1]
    assert "reasons" in error_of(FinalDecision, {"selected": False})[1]


def test_a_selection_carries_money_and_a_refusal_none() -> None:
    assert "grant" in error_of(FinalDecision, {"selected": True})[1]
    body = {"selected": False, "state_grant_cents": 1, "reasons": ["no"]}
    assert "no money" in error_of(FinalDecision, body)[1]
