"""The SIRET key and which pôles may appear on a dossier at a given instant."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.calls.domain.poles import labelled_pole, region_codes_of
from services.calls.domain.siret import siret_valid
from shared.clock import PARIS
from shared.reference.poles import poles_by_id


@pytest.mark.parametrize(
    ("siret", "valid"),
    [
        ("44306184100047", True),
        ("73282932000074", True),
        ("44306184100048", False),  # wrong key
        ("4430618410004", False),  # 13 digits
        ("4430618410004A", False),
        ("４４３０６１８４１０００４７", False),  # full-width digits are not ASCII
        ("35600000000048", True),  # La Poste's head office keeps the Luhn key
        ("35600000049837", True),  # another La Poste establishment: digit sum 45
        ("35600000049838", False),
    ],
)
def test_a_siret_is_checked_by_its_key(siret: str, valid: bool) -> None:
    assert siret_valid(siret) is valid


def test_an_ecotech_pole_of_2010_is_not_labelled_in_2008() -> None:
    assert labelled_pole("eau", datetime(2008, 11, 1, tzinfo=PARIS)) is None
    assert labelled_pole("eau", datetime(2010, 6, 1, tzinfo=PARIS)) is not None


def test_a_pole_delabelled_on_11_may_2010_is_labelled_only_before() -> None:
    assert labelled_pole("sporaltec", datetime(2010, 5, 10, 23, 59, tzinfo=PARIS)) is not None
    assert labelled_pole("sporaltec", datetime(2010, 5, 11, tzinfo=PARIS)) is None


def test_an_unknown_pole_is_not_labelled() -> None:
    assert labelled_pole("atlantis", datetime(2008, 11, 1, tzinfo=PARIS)) is None


def test_regions_are_listed_once_lead_seat_first() -> None:
    poles = [poles_by_id()["aerospace-valley"], poles_by_id()["agrimip-innovation"]]
    assert region_codes_of(poles) == ["73", "72"]
