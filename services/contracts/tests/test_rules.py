"""The rules that never bend: terms change only by amendment, a party signs once, only named
parties sign, a report is validated once, bad input is refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from services.contracts.domain import execution, signatures
from services.contracts.domain.terms import PartyInput, Roadmap, Terms, check_terms, to_parties
from services.contracts.tests.builders import (
    CORRESPONDENT,
    OWN_POLE,
    POLE,
    REGIONS,
    STATE,
    active_contract,
    drafted,
    open_contract,
    paris,
    parties_json,
    roadmap_json,
    terms_json,
)
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.contracts import IndicatorValue

NOW = paris(2009, 5, 1)


def parse_parties(given: list[dict[str, Any]]) -> None:
    to_parties([PartyInput.model_validate(p) for p in given], POLE, REGIONS)


def locs(error: pytest.ExceptionInfo[Invalid]) -> list[tuple[str | int, ...]]:
    return [p.loc for p in error.value.problems]


def test_terms_change_only_by_amendment_once_opened() -> None:
    contract = open_contract()
    with pytest.raises(Conflict, match="only an amendment"):
        signatures.edit(contract, contract.parties, contract.terms, OWN_POLE, NOW)
    with pytest.raises(Conflict):
        signatures.annex_roadmap(contract, Roadmap.model_validate(roadmap_json()), OWN_POLE, NOW)


def test_a_pole_edits_only_its_own_contract() -> None:
    contract = drafted()
    with pytest.raises(Forbidden):
        signatures.edit(
            contract, contract.parties, contract.terms, frozenset({"pole:minalogic"}), NOW
        )
    assert signatures.edit(contract, contract.parties, contract.terms, STATE, NOW)


def test_a_party_signs_once() -> None:
    contract = open_contract()
    signatures.sign(contract, "region:73", "Martin Malvy", frozenset({"region:73"}), NOW)
    with pytest.raises(Conflict, match="already signed"):
        signatures.sign(contract, "region:73", "Martin Malvy", frozenset({"region:73"}), NOW)
    assert len(contract.signatures) == 1


def test_only_named_parties_sign() -> None:
    contract = open_contract()
    with pytest.raises(Invalid) as error:
        signatures.sign(contract, "region:82", "X", frozenset({"region:82"}), NOW)
    assert locs(error) == [("party_id",)]
    with pytest.raises(Forbidden):
        signatures.sign(contract, "region:73", "X", frozenset({"region:72"}), NOW)
    with pytest.raises(Forbidden):
        signatures.sign(contract, "state", "X", frozenset({"region:73"}), NOW)
    with pytest.raises(Forbidden):
        signatures.sign(contract, "department:31", "X", frozenset({"region:73"}), NOW)


def test_the_state_records_a_departments_paper_signature() -> None:
    contract = open_contract()
    decision = signatures.sign(contract, "department:31", "Pierre Izard", STATE, NOW)
    assert decision.events[0].on_paper is True  # type: ignore[attr-defined]
    assert contract.signatures[0].recorded_by == "state"


def test_signing_needs_the_contract_open() -> None:
    contract = drafted()
    with pytest.raises(Conflict):
        signatures.sign(contract, "state", "X", STATE, NOW)
    signed = active_contract()
    with pytest.raises(Conflict, match="already signed"):
        signatures.sign(signed, "state", "X", STATE, NOW)


def test_opening_needs_a_roadmap_and_complete_terms() -> None:
    contract = drafted()
    with pytest.raises(Conflict, match="roadmap"):
        signatures.open_for_signature(contract, OWN_POLE, NOW)
    signatures.edit(contract, contract.parties, Terms(), OWN_POLE, NOW)
    signatures.annex_roadmap(contract, Roadmap.model_validate(roadmap_json()), OWN_POLE, NOW)
    with pytest.raises(Conflict, match="incomplete"):
        signatures.open_for_signature(contract, OWN_POLE, NOW)


def test_a_report_is_validated_once() -> None:
    contract = active_contract()
    values = [IndicatorValue(indicator_id="I1", value=320)]
    execution.report_indicators(contract, 2009, values, OWN_POLE, paris(2010, 1, 5))
    with pytest.raises(Conflict, match="submitted"):
        execution.report_indicators(contract, 2009, values, OWN_POLE, paris(2010, 1, 6))
    execution.validate_report(contract, 2009, CORRESPONDENT, paris(2010, 1, 7))
    with pytest.raises(Conflict, match="validated once"):
        execution.validate_report(contract, 2009, CORRESPONDENT, paris(2010, 1, 8))
    with pytest.raises(Conflict, match="validated"):
        execution.report_indicators(contract, 2009, values, OWN_POLE, paris(2010, 1, 9))


def test_a_sent_back_report_is_filed_again() -> None:
    contract = active_contract()
    values = [IndicatorValue(indicator_id="I1", value=320)]
    execution.report_indicators(contract, 2009, values, OWN_POLE, paris(2010, 1, 5))
    execution.send_back_report(
        contract, 2009, "count members, not contacts", CORRESPONDENT, paris(2010, 1, 6)
    )
    with pytest.raises(Conflict, match="sent back"):
        execution.validate_report(contract, 2009, CORRESPONDENT, paris(2010, 1, 7))
    execution.report_indicators(contract, 2009, values, OWN_POLE, paris(2010, 1, 8))
    assert execution.validate_report(contract, 2009, CORRESPONDENT, paris(2010, 1, 9))


def test_bad_reports_are_refused_naming_the_field() -> None:
    contract = active_contract()
    with pytest.raises(Invalid) as error:
        execution.report_indicators(
            contract,
            2009,
            [IndicatorValue(indicator_id="I9", value=1)],
            OWN_POLE,
            paris(2010, 1, 5),
        )
    assert locs(error) == [("values", 0, "indicator_id")]
    with pytest.raises(Invalid) as error:
        execution.report_indicators(contract, 2012, [], OWN_POLE, paris(2010, 1, 5))
    assert locs(error) == [("period",)]
    with pytest.raises(Invalid, match="not begun"):
        execution.report_indicators(contract, 2010, [], OWN_POLE, paris(2009, 12, 5))
    with pytest.raises(Forbidden):
        execution.report_indicators(contract, 2009, [], STATE, paris(2010, 1, 5))
    with pytest.raises(NotFound):
        execution.validate_report(contract, 2010, CORRESPONDENT, paris(2011, 1, 5))


def test_amendments_need_an_active_contract_and_a_period_to_2012_at_most() -> None:
    with pytest.raises(Conflict):
        execution.amend(open_contract(), Terms(), 2012, "x", NOW)
    contract = active_contract()
    with pytest.raises(Invalid) as error:
        execution.amend(contract, Terms(), 2013, "x", NOW)
    assert locs(error) == [("period_end_year",)]
    with pytest.raises(Invalid):
        execution.amend(contract, Terms.model_validate(terms_json(2012)), 2011, "x", NOW)


def test_evaluated_once_then_closed() -> None:
    contract = active_contract()
    with pytest.raises(Conflict):
        execution.close(contract, NOW)
    execution.evaluate(contract, "performant", "ok", NOW)
    with pytest.raises(Conflict):
        execution.evaluate(contract, "performant", "again", NOW)
    execution.close(contract, NOW)
    with pytest.raises(Conflict):
        execution.close(contract, NOW)


def test_milestones_are_marked_done_once() -> None:
    contract = active_contract()
    execution.complete_milestone(contract, "M1", OWN_POLE, NOW)
    with pytest.raises(Conflict):
        execution.complete_milestone(contract, "M1", OWN_POLE, NOW)
    with pytest.raises(NotFound):
        execution.complete_milestone(contract, "M9", OWN_POLE, NOW)


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda ps: ps.pop(1), ("parties",)),  # no State
        (lambda ps: ps.pop(0), ("parties",)),  # no pôle
        (lambda ps: ps.append(dict(ps[2])), ("parties", 5, "party_id")),  # twice
        (lambda ps: ps[2].update(party_id="region:99"), ("parties", 2, "party_id")),
        (lambda ps: ps[0].update(party_id="pole:minalogic"), ("parties", 0, "party_id")),
        (lambda ps: ps[4].update(party_id="department:9999"), ("parties", 4, "party_id")),
        (lambda ps: ps[1].update(party_id="ministry"), ("parties", 1, "party_id")),
    ],
)
def test_parties_are_checked(change: Any, loc: tuple[str | int, ...]) -> None:
    given = parties_json()
    change(given)
    with pytest.raises(Invalid) as error:
        parse_parties(given)
    assert loc in locs(error)


def test_parties_need_a_local_authority() -> None:
    with pytest.raises(Invalid, match="local authority"):
        parse_parties(parties_json()[:2])


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda t: t["programmes"].append(dict(t["programmes"][0])), ("programmes", 1, "id")),
        (
            lambda t: t["programmes"][0]["milestones"][0].update(due_on="2013-01-01"),
            ("programmes", 0, "milestones", 0, "due_on"),
        ),
        (
            lambda t: t["programmes"][0]["indicators"][0]["targets"].update({"2014": 1}),
            ("programmes", 0, "indicators", 0, "targets"),
        ),
        (lambda t: t["financing"][0].update(party_id=f"pole:{POLE}"), ("financing", 0, "party_id")),
        (lambda t: t["financing"][0].update(year=2008), ("financing", 0, "year")),
        (lambda t: t["financing"].append(dict(t["financing"][0])), ("financing", 12)),
    ],
)
def test_terms_are_checked(change: Any, loc: tuple[str | int, ...]) -> None:
    given = terms_json()
    change(given)
    contract = drafted()
    with pytest.raises(Invalid) as error:
        check_terms(Terms.model_validate(given), contract.parties, 2009, 2011)
    assert loc in locs(error)


def test_only_the_poles_correspondent_validates_or_sends_back_its_report() -> None:
    contract = active_contract()
    values = [IndicatorValue(indicator_id="I1", value=320)]
    execution.report_indicators(contract, 2009, values, OWN_POLE, paris(2010, 1, 5))
    for roles in (STATE, OWN_POLE, frozenset({"correspondent:minalogic"})):
        with pytest.raises(Forbidden, match="correspondent"):
            execution.validate_report(contract, 2009, roles, paris(2010, 1, 7))
        with pytest.raises(Forbidden, match="correspondent"):
            execution.send_back_report(contract, 2009, "no", roles, paris(2010, 1, 7))
    assert contract.report(2009).status == "submitted"  # type: ignore[union-attr]
    execution.validate_report(contract, 2009, CORRESPONDENT, paris(2010, 1, 7))
