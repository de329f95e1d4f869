"""The reference list at startup (the 2008 situation) and the label decisions of 11 May 2010."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.contracts.domain.pole import PoleRecord
from services.contracts.tests.builders import paris
from shared.errors import Conflict
from shared.events.contracts import PoleDelabelled, PoleLabelLapsed, PoleLabelled, PoleRenewed
from shared.reference.poles import DELABELLED_2010, RENEWED_2010, all_poles, poles_by_id

CIADT = date(2010, 5, 11)


def record(pole_id: str) -> PoleRecord:
    return PoleRecord.from_reference(poles_by_id()[pole_id])


def ecotech_id() -> str:
    return next(p.id for p in all_poles() if p.ecotech)


def test_the_2008_situation() -> None:
    statuses = Counter(PoleRecord.from_reference(p).status for p in all_poles())
    assert statuses == {"labelled": 58, "reconfiguring": 13, "candidate": 6}


def test_confirmed_poles_may_contract_in_2009() -> None:
    assert record("aerospace-valley").may_contract_at(paris(2009, 1, 15))


def test_group_3_poles_get_no_contract_until_renewed() -> None:
    pole = record(RENEWED_2010[0])
    assert not pole.may_contract_at(paris(2009, 3, 1))
    with pytest.raises(Conflict, match="reconfiguring"):
        pole.require_contract_allowed(paris(2009, 3, 1))
    [event] = pole.decide("renewed", CIADT, "CIADT of 11 May 2010").events
    assert isinstance(event, PoleRenewed)
    assert event.effective_at == paris(2010, 5, 11)
    assert not pole.may_contract_at(paris(2010, 5, 10, 23))
    assert pole.may_contract_at(paris(2010, 5, 11))


def test_ecotech_poles_may_contract_only_from_their_labelling() -> None:
    pole = record(ecotech_id())
    assert not pole.may_contract_at(paris(2010, 1, 1))
    decision = pole.decide("labelled", CIADT, "CIADT of 11 May 2010")
    assert isinstance(decision.events[0], PoleLabelled)
    assert decision.answer == {
        "pole_id": pole.pole_id,
        "status": "labelled",
        "events": [PoleLabelled.type_name],
    }
    assert pole.may_contract_at(paris(2010, 6, 1))
    assert not pole.may_contract_at(paris(2010, 5, 10))


def test_delabelled_poles_lose_the_label() -> None:
    pole = record(DELABELLED_2010[0])
    [event] = pole.decide("delabelled", CIADT, "CIADT of 11 May 2010").events
    assert isinstance(event, PoleDelabelled)
    assert pole.status == "delabelled"
    assert pole.label_until == paris(2010, 5, 11)
    assert not pole.may_contract_at(paris(2011, 1, 1))


@pytest.mark.parametrize(
    ("pole_id", "decision"),
    [
        ("aerospace-valley", "labelled"),
        ("aerospace-valley", "renewed"),
        (RENEWED_2010[0], "labelled"),
    ],
)
def test_decisions_that_do_not_fit_the_label(pole_id: str, decision: str) -> None:
    with pytest.raises(Conflict):
        record(pole_id).decide(decision, CIADT, "x")  # type: ignore[arg-type]


def test_a_decision_is_taken_once() -> None:
    pole = record(ecotech_id())
    pole.decide("labelled", CIADT, "x")
    with pytest.raises(Conflict):
        pole.decide("labelled", CIADT, "x")


def test_a_group_3_label_lapses_once_on_1_january_2010_paris() -> None:
    pole = record(RENEWED_2010[0])
    assert pole.lapse(paris(2009, 12, 31, 23, 59, 59)) is None
    decision = pole.lapse(paris(2010, 1, 1))
    assert decision is not None
    [event] = decision.events
    assert isinstance(event, PoleLabelLapsed)
    assert event.effective_at == paris(2010, 1, 1)
    assert event.pole_id == pole.pole_id
    assert pole.status == "lapsed"
    assert pole.lapse(paris(2010, 1, 2)) is None


def test_a_lapsed_pole_is_renewed_or_delabelled_by_the_ciadt() -> None:
    renewed, delabelled = record(RENEWED_2010[0]), record(DELABELLED_2010[0])
    for pole in (renewed, delabelled):
        pole.lapse(paris(2010, 1, 1))
    renewed.decide("renewed", CIADT, "CIADT of 11 May 2010")
    delabelled.decide("delabelled", CIADT, "CIADT of 11 May 2010")
    assert (renewed.status, delabelled.status) == ("labelled", "delabelled")
    assert renewed.may_contract_at(paris(2010, 5, 11))
    assert [c.status for c in renewed.history] == [
        "labelled",
        "reconfiguring",
        "lapsed",
        "labelled",
    ]


def test_only_group_3_poles_lapse() -> None:
    for pole_id in ("aerospace-valley", ecotech_id()):
        assert record(pole_id).lapse(paris(2010, 1, 1)) is None
