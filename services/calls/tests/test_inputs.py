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


def test_a_refusal_carries_no_money() -> None:
    body = {"selected": False, "state_grant_cents": 1, "reasons": ["no"]}
    assert "no money" in error_of(FinalDecision, body)[1]
    plan = [{"financer": "region:73", "years": [{"year": 2009, "amount_cents": 1}]}]
    assert (
        "no money"
        in error_of(FinalDecision, {**body, "state_grant_cents": 0, "financing_plan": plan})[1]
    )


def test_a_call_kind_is_one_of_the_call_types() -> None:
    loc, msg = error_of(CallSpec, {**platform_call(), "kind": "tourism"})
    assert loc == ("kind",)
    assert "fui-rd" in msg


def test_a_company_of_a_consortium_gives_a_siret_checked_by_its_key() -> None:
    members = [
        {"identifier": "200012345A", "kind": "laboratory", "name": "LAAS"},
        {"identifier": "44306184100048", "kind": "company", "name": "Bad key"},
    ]
    loc, msg = error_of(DossierContent, {**dossier(), "consortium": members})
    assert loc == ("consortium", 1)
    assert "SIRET" in msg


def test_a_financing_line_spread_by_year_adds_up() -> None:
    body = dossier()
    line = body["financing"][0]
    line["years"] = [{"year": 2009, "amount_cents": line["amount_cents"] - 1}]
    assert "add up" in error_of(DossierContent, body)[1]
    line["years"] = [
        {"year": 2009, "amount_cents": line["amount_cents"] - 1},
        {"year": 2010, "amount_cents": 1},
    ]
    DossierContent.model_validate(body)


def test_a_department_line_names_its_department() -> None:
    body = dossier()
    body["financing"][1] = {
        "financer": "department",
        "amount_cents": body["financing"][1]["amount_cents"],
    }
    assert "department_code" in error_of(DossierContent, body)[1]
