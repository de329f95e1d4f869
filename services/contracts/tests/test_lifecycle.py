"""The contract's life, from the draft to the closing, as the domain sees it."""

from __future__ import annotations

import itertools

import pytest

from services.contracts.domain import execution, signatures
from services.contracts.domain.clocks import tick
from services.contracts.domain.progress import progress
from services.contracts.domain.terms import Roadmap, Terms
from services.contracts.tests.builders import (
    ALL_PARTY_IDS,
    CORRESPONDENT,
    OWN_POLE,
    POLE,
    active_contract,
    drafted,
    kinds,
    open_contract,
    paris,
    roadmap_json,
    roles_for,
    terms_json,
)
from shared.events.base import EventData
from shared.events.contracts import ContractSigned, IndicatorValue


def test_draft_to_open_for_signature() -> None:
    contract = drafted()
    assert contract.contract_id == f"contract:{POLE}:2009"
    assert contract.status == "drafted"
    roadmap = Roadmap.model_validate(roadmap_json())
    assert kinds(signatures.annex_roadmap(contract, roadmap, OWN_POLE, paris(2009, 3, 1))) == [
        "roadmap-annexed"
    ]
    decision = signatures.open_for_signature(contract, OWN_POLE, paris(2009, 4, 1))
    assert kinds(decision) == ["opened-for-signature"]
    assert contract.model_dump()["status"] == "open-for-signature"
    assert all(p.contact_email for p in decision.events[0].parties)  # type: ignore[attr-defined]


@pytest.mark.parametrize("order", list(itertools.permutations(ALL_PARTY_IDS))[::17])
def test_signed_when_the_last_party_signs_in_any_order(order: tuple[str, ...]) -> None:
    contract = open_contract()
    for party_id in order[:-1]:
        decision = signatures.sign(contract, party_id, "X", roles_for(party_id), paris(2009, 6, 1))
        assert kinds(decision) == ["party-signed"]
    decision = signatures.sign(contract, order[-1], "X", roles_for(order[-1]), paris(2009, 6, 17))
    assert kinds(decision) == ["party-signed", "signed", "activated"]
    assert contract.status == "active"


def test_contract_signed_carries_what_funding_needs() -> None:
    contract = open_contract()
    events: list[EventData] = []
    for party_id in ALL_PARTY_IDS:
        signed_by = signatures.sign(
            contract, party_id, "X", roles_for(party_id), paris(2009, 6, 17)
        )
        events += signed_by.events
    signed = next(e for e in events if isinstance(e, ContractSigned))
    wire = ContractSigned.model_validate(signed.model_dump(mode="json"))
    assert wire.contract_id == f"contract:{POLE}:2009"
    assert (wire.period_start_year, wire.period_end_year, wire.version) == (2009, 2011, 1)
    assert wire.region_codes == ["73", "72"]
    assert {p.party_id for p in wire.parties} == set(ALL_PARTY_IDS)
    assert len(wire.financing) == 12
    assert sum(f.amount_cents for f in wire.financing if f.party_id == "state") == 240_000_000


def test_a_contract_signed_before_its_period_becomes_active_when_it_begins() -> None:
    contract = open_contract()
    for party_id in ALL_PARTY_IDS:
        decision = signatures.sign(
            contract, party_id, "X", roles_for(party_id), paris(2008, 12, 20)
        )
    assert kinds(decision)[-1] == "signed"
    assert kinds(tick(contract, paris(2008, 12, 31, 23))) == []
    assert kinds(tick(contract, paris(2009, 1, 1))) == ["activated"]


def test_report_validate_amend_evaluate_close() -> None:
    contract = active_contract()
    value = [IndicatorValue(indicator_id="I1", value=340)]
    assert kinds(
        execution.report_indicators(contract, 2009, value, OWN_POLE, paris(2010, 1, 10))
    ) == ["indicator-reported"]
    assert kinds(execution.validate_report(contract, 2009, CORRESPONDENT, paris(2010, 1, 20))) == [
        "report-validated"
    ]
    extended = Terms.model_validate(terms_json(end_year=2012))
    decision = execution.amend(contract, extended, 2012, "extension to 2012", paris(2010, 6, 1))
    assert kinds(decision) == ["amended"]
    assert decision.events[0].version == 2  # type: ignore[attr-defined]
    assert contract.period_end_year == 2012
    assert kinds(
        execution.evaluate(contract, "très performant", "clear roadmap", paris(2012, 7, 30))
    ) == ["evaluated"]
    assert kinds(execution.close(contract, paris(2012, 12, 31))) == ["closed"]
    assert contract.status == "closed"


def test_progress_reads_against_either_version() -> None:
    contract = active_contract()
    value = [IndicatorValue(indicator_id="I1", value=375)]
    execution.report_indicators(contract, 2009, value, OWN_POLE, paris(2010, 1, 10))
    execution.validate_report(contract, 2009, CORRESPONDENT, paris(2010, 1, 20))
    raised = terms_json(end_year=2012)
    raised["programmes"][0]["indicators"][0]["targets"]["2009"] = 400
    execution.amend(contract, Terms.model_validate(raised), 2012, "new targets", paris(2010, 6, 1))

    def year_2009(version: int) -> dict:  # type: ignore[type-arg]
        indicator = progress(contract, version, False)["programmes"][0]["indicators"][0]
        return next(row for row in indicator["years"] if row["year"] == 2009)

    assert year_2009(1) == {
        "year": 2009,
        "target": 350,
        "actual": 375,
        "report_status": "validated",
        "achieved_percent": 150.0,
    }
    assert year_2009(2)["target"] == 400
    assert year_2009(2)["achieved_percent"] == 75.0
    assert len(progress(contract, 1, False)["programmes"][0]["indicators"][0]["years"]) == 3
    assert len(progress(contract, None, False)["programmes"][0]["indicators"][0]["years"]) == 4


def test_pending_reports_show_only_to_those_allowed() -> None:
    contract = active_contract()
    execution.report_indicators(
        contract, 2009, [IndicatorValue(indicator_id="I1", value=1)], OWN_POLE, paris(2010, 1, 10)
    )

    def actual(include_pending: bool) -> object:
        rows = progress(contract, None, include_pending)["programmes"][0]["indicators"][0]["years"]
        return rows[0]["actual"]

    assert actual(False) is None
    assert actual(True) == 1
