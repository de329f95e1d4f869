"""The SIRET key and the regions of a dossier's pôles (which pôles are labelled when:
test_labels.py)."""

from __future__ import annotations

import pytest

from services.calls.domain.poles import region_codes_of
from services.calls.domain.siret import siret_valid
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


def test_regions_are_listed_once_lead_seat_first() -> None:
    poles = [poles_by_id()["aerospace-valley"], poles_by_id()["agrimip-innovation"]]
    assert region_codes_of(poles) == ["73", "72"]
