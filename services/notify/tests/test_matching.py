import pytest

from services.notify.domain.matching import (
    InvalidPattern,
    filters_match,
    normalize_pattern,
    patterns_matching,
    type_matches,
)


def test_a_star_prefix_is_stored_as_the_prefix_with_its_dot() -> None:
    assert normalize_pattern("calls.dossier.*") == "calls.dossier."
    assert normalize_pattern(" calls.dossier. ") == "calls.dossier."
    assert normalize_pattern("calls.dossier.submitted.v1") == "calls.dossier.submitted.v1"
    assert normalize_pattern("*") == "*"


@pytest.mark.parametrize(
    "bad", ["", ".", "calls..dossier", "Calls.X", "calls.*.v1", "$where", "a b"]
)
def test_what_is_not_a_type_or_a_prefix_is_refused(bad: str) -> None:
    with pytest.raises(InvalidPattern):
        normalize_pattern(bad)


def test_the_patterns_selecting_a_type_are_its_name_its_prefixes_and_star() -> None:
    assert patterns_matching("calls.dossier.submitted.v1") == [
        "calls.dossier.submitted.v1",
        "calls.",
        "calls.dossier.",
        "calls.dossier.submitted.",
        "*",
    ]


def test_types_match_by_exact_name_or_by_prefix_only() -> None:
    assert type_matches(["calls.dossier."], "calls.dossier.selected.v1")
    assert type_matches(["calls.dossier.selected.v1"], "calls.dossier.selected.v1")
    assert type_matches(["*"], "funding.line.transferred.v1")
    assert not type_matches(["calls.dossier."], "calls.call.opened.v1")
    assert not type_matches(["calls.dossier.selected.v1"], "calls.dossier.selected.v2")
    assert not type_matches(["calls.doss"], "calls.dossier.selected.v1")


def test_filters_hold_by_equality_or_list_membership_and_all_must_hold() -> None:
    data = {"pole_id": "minalogic", "region_codes": ["82"], "call_id": "fui-8", "year": 2009}
    assert filters_match({}, data)
    assert filters_match({"pole_id": "minalogic", "region_codes": "82"}, data)
    assert filters_match({"year": "2009"}, data)
    assert not filters_match({"pole_id": "minalogic", "call_id": "fui-9"}, data)
    assert not filters_match({"region_codes": "11"}, data)
    assert not filters_match({"line_id": "l-1"}, data)
