"""The contract's and the pôle's folds: at every step of a life run by the domain, the fold of the
events published so far equals the live record then, on the fields the events carry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.contracts.asof import (
    REFERENCE_AT,
    ContractAsOf,
    contract_at,
    evolve_contract,
    pole_at,
)
from services.contracts.domain import execution, signatures
from services.contracts.domain.clocks import tick
from services.contracts.domain.contract import EDITABLE, Contract
from services.contracts.domain.pole import LabelDecision, PoleRecord
from services.contracts.domain.terms import Roadmap, Terms
from services.contracts.tests.builders import (
    ALL_PARTY_IDS,
    CORRESPONDENT,
    OWN_POLE,
    STATE,
    drafted,
    open_contract,
    paris,
    roadmap_json,
    roles_for,
    terms_json,
)
from shared.asof import state_at, who
from shared.cloudevents import CloudEvent
from shared.decision import Decision
from shared.errors import NotFound
from shared.events.base import new_outbox_entry
from shared.events.contracts import IndicatorValue
from shared.reference.poles import (
    DELABELLED_2010,
    GROUP_3_2008,
    RENEWED_2010,
    Pole,
    poles_by_id,
)

Move = Callable[[Contract, datetime], Decision[Contract]]
REPORT = [IndicatorValue(indicator_id="I1", value=375)]


def published(decision: Decision[Any], key: str, now: datetime) -> list[CloudEvent]:
    return [
        new_outbox_entry(data, source="contracts", key=key, time=now).cloud_event()
        for data in decision.events
    ]


def carried(contract: Contract) -> ContractAsOf:
    """The live contract on the fields its events carry: each version's financing, not its
    terms, and that only once the contract is opened for signature."""
    view = contract.model_dump()
    for version in view["versions"]:
        version["financing"] = (
            None if contract.status in EDITABLE else version["terms"]["financing"]
        )
    return ContractAsOf.model_validate(view)


def sign(party_id: str) -> Move:
    return lambda c, t: signatures.sign(c, party_id, "Signatory", roles_for(party_id), t)


MOVES: list[tuple[datetime, Move]] = [
    (
        paris(2009, 2, 10),
        lambda c, t: signatures.edit(
            c, c.parties, Terms.model_validate(terms_json(end_year=2010)), OWN_POLE, t
        ),
    ),
    (
        paris(2009, 3, 1),
        lambda c, t: signatures.annex_roadmap(
            c, Roadmap.model_validate(roadmap_json()), OWN_POLE, t
        ),
    ),
    (paris(2009, 4, 1), lambda c, t: signatures.open_for_signature(c, OWN_POLE, t)),
    *[(paris(2009, 6, 1 + day), sign(party)) for day, party in enumerate(ALL_PARTY_IDS[:-1])],
    (paris(2009, 7, 2), tick),  # a party has not signed by 30 June: overdue
    (paris(2009, 7, 6), sign(ALL_PARTY_IDS[-1])),  # the last one: signed and active
    (paris(2010, 1, 2), tick),  # milestone M1 (31 December 2009) missed
    (paris(2010, 1, 10), lambda c, t: execution.report_indicators(c, 2009, REPORT, OWN_POLE, t)),
    (
        paris(2010, 1, 15),
        lambda c, t: execution.send_back_report(c, 2009, "no source given", CORRESPONDENT, t),
    ),
    (paris(2010, 1, 20), lambda c, t: execution.report_indicators(c, 2009, REPORT, OWN_POLE, t)),
    (paris(2010, 1, 25), lambda c, t: execution.validate_report(c, 2009, CORRESPONDENT, t)),
    (paris(2010, 3, 1), lambda c, t: execution.complete_milestone(c, "M2", OWN_POLE, t)),
    (
        paris(2010, 6, 1),
        lambda c, t: execution.amend(
            c, Terms.model_validate(terms_json(end_year=2012)), 2012, "extended to 2012", t
        ),
    ),
    (paris(2012, 6, 1), lambda c, t: execution.evaluate(c, "performant", "on track", t)),
    (paris(2012, 12, 31), execution.close),
]


def draft(now: datetime) -> Decision[Contract]:
    sample = drafted(now)
    return signatures.draft(
        pole_id=sample.pole_id,
        pole_name=sample.pole_name,
        region_codes=sample.region_codes,
        start_year=2009,
        end_year=2011,
        signature_deadline=sample.signature_deadline,
        parties=sample.parties,
        terms=Terms.model_validate(terms_json()),
        now=now,
    )


def test_a_contract_rebuilt_at_each_step_equals_its_live_record_then() -> None:
    start = paris(2009, 2, 1)
    first = draft(start)
    contract = first.state
    log = published(first, contract.contract_id, start)
    steps: list[tuple[datetime, ContractAsOf]] = [(start, carried(contract))]
    for now, move in MOVES:
        log += published(move(contract, now), contract.contract_id, now)
        steps.append((now, carried(contract)))

    assert contract.status == "closed"
    assert state_at(log, evolve_contract, start - timedelta(seconds=1)) is None
    for index, (instant, live) in enumerate(steps):
        later = steps[index + 1][0] if index + 1 < len(steps) else instant + timedelta(days=30)
        for at in (instant, later - timedelta(seconds=1)):
            assert state_at(log, evolve_contract, at) == live, (index, at)
    rebuilt = state_at(log, evolve_contract, paris(2013, 1, 1))
    assert rebuilt is not None
    assert rebuilt.milestones_missed == ["M1"]
    assert [(r.status, r.reason) for r in rebuilt.reports] == [("validated", None)]
    assert [v.period_end_year for v in rebuilt.versions] == [2011, 2012]
    assert rebuilt.signature_overdue_at == paris(2009, 7, 2)
    kinds = {event.type.split(".")[2] for event in log}
    assert {"terms-edited", "signature-overdue", "milestone-missed", "amended"} <= kinds
    assert {"report-sent-back", "report-validated", "evaluated", "closed"} <= kinds


def test_the_as_of_contract_keeps_the_offsets_written_and_is_a_404_before_its_draft() -> None:
    start = paris(2009, 2, 1)
    log = published(draft(start), "c1", start)
    shown = contract_at(log, start, "c1").model_dump(mode="json")
    assert shown["signature_deadline"] == "2009-06-30T23:59:59+02:00"  # as the live view shows it
    assert shown["versions"][0]["effective_at"] == "2009-02-01T00:00:00+01:00"
    with pytest.raises(NotFound, match="contract c1 did not exist yet at 2009-01-31"):
        contract_at(log, start - timedelta(hours=1), "c1")


def test_a_pole_rebuilt_from_the_reference_list_and_its_label_events() -> None:
    group_3, gone = poles_by_id()[RENEWED_2010[0]], poles_by_id()[DELABELLED_2010[0]]
    assert group_3.id in GROUP_3_2008
    decisions: list[tuple[Pole, LabelDecision]] = [(group_3, "renewed"), (gone, "delabelled")]
    for reference, decision in decisions:
        live = PoleRecord.from_reference(reference)
        log: list[CloudEvent] = []
        steps = [(REFERENCE_AT, live.model_copy(deep=True))]
        lapse = live.lapse(paris(2010, 1, 1))
        if lapse is not None:
            log += published(lapse, reference.id, paris(2010, 1, 1))
            steps.append((paris(2010, 1, 1), live.model_copy(deep=True)))
        ciadt = live.decide(decision, paris(2010, 5, 11).date(), "CIADT du 11 mai 2010")
        log += published(ciadt, reference.id, paris(2010, 5, 11, 9))
        steps.append((paris(2010, 5, 11, 9), live.model_copy(deep=True)))
        for index, (instant, then) in enumerate(steps):
            later = steps[index + 1][0] if index + 1 < len(steps) else paris(2012, 1, 1)
            for at in (instant, later - timedelta(seconds=1)):
                assert pole_at(log, at, reference) == then, (reference.id, index, at)
        assert pole_at(log, paris(2012, 1, 1), reference).status == live.status
    shown = pole_at([], REFERENCE_AT, group_3).model_dump(mode="json")
    assert shown == PoleRecord.from_reference(group_3).model_dump(mode="json")
    with pytest.raises(NotFound, match="reference list of 2008-06-18"):
        pole_at([], REFERENCE_AT - timedelta(seconds=1), group_3)


def test_who_signed_is_the_role_that_recorded_the_signature() -> None:
    contract = open_contract()
    decision = signatures.sign(contract, "department:31", "Préfet", STATE, paris(2009, 5, 1))
    [event] = published(decision, contract.contract_id, paris(2009, 5, 1))
    assert who(event) == "state"
