import pytest

from services.notify.domain.visibility import may_see

DOSSIER = "calls.dossier.submitted.v1"
ABOUT_AEROSPACE = {
    "pole_id": "aerospace-valley",
    "partner_pole_ids": ["minalogic"],
    "region_codes": ["73", "72"],
}


@pytest.mark.parametrize("role", ["state", "cdc", "operator", "integrator"])
def test_national_and_platform_roles_see_every_event(role: str) -> None:
    assert may_see([role], DOSSIER, ABOUT_AEROSPACE)
    assert may_see([role], "funding.line.threshold-crossed.v1", {"line_id": "l-1"})


def test_a_pole_sees_the_events_about_itself_as_lead_or_partner() -> None:
    assert may_see(["pole:aerospace-valley"], DOSSIER, ABOUT_AEROSPACE)
    assert may_see(["pole:minalogic"], DOSSIER, ABOUT_AEROSPACE)


def test_a_pole_never_sees_another_poles_dossier_events() -> None:
    assert not may_see(["pole:cap-digital"], DOSSIER, ABOUT_AEROSPACE)


def test_a_region_sees_the_events_about_its_territory_only() -> None:
    assert may_see(["region:73"], DOSSIER, ABOUT_AEROSPACE)
    assert not may_see(["region:11"], DOSSIER, ABOUT_AEROSPACE)


def test_public_acts_are_seen_by_poles_and_regions() -> None:
    opened = {"call_id": "fui-8"}
    assert may_see(["pole:cap-digital"], "calls.call.opened.v1", opened)
    assert may_see(["region:11"], "calls.call.closed.v1", opened)


def test_events_about_nobody_in_particular_are_not_a_poles_or_a_regions() -> None:
    line = {"line_id": "fui-2009", "threshold_percent": 80}
    assert not may_see(["pole:cap-digital"], "funding.line.threshold-crossed.v1", line)
    assert not may_see(["region:11"], "funding.line.threshold-crossed.v1", line)


def test_another_poles_commitment_is_not_seen() -> None:
    made = {"pole_id": "aerospace-valley", "line_id": "fui-2009", "region_codes": ["73"]}
    assert not may_see(["pole:cap-digital"], "funding.commitment.made.v1", made)
    assert may_see(["pole:aerospace-valley"], "funding.commitment.made.v1", made)


def test_malformed_fields_grant_nothing() -> None:
    odd = {"pole_id": ["cap-digital"], "partner_pole_ids": "cap-digital", "region_codes": "11"}
    assert not may_see(["pole:cap-digital", "region:11"], DOSSIER, odd)
    assert not may_see([], "calls.call.opened.v1", {})


def test_a_state_correspondent_sees_the_events_of_the_pole_it_follows() -> None:
    assert may_see(["correspondent:minalogic"], DOSSIER, ABOUT_AEROSPACE)
    assert not may_see(["correspondent:cap-digital"], DOSSIER, ABOUT_AEROSPACE)


def test_a_financer_sees_the_financing_events_that_name_it() -> None:
    plan = {
        **ABOUT_AEROSPACE,
        "plan": [{"financer": "department:31", "years": []}, {"financer": "feder", "years": []}],
    }
    assert may_see(["department:31"], "funding.financing.opened.v1", plan)
    assert not may_see(["department:38"], "funding.financing.opened.v1", plan)
    committed: dict[str, object] = {"financer": "city:toulouse", "region_codes": []}
    assert may_see(["city:toulouse"], "funding.ledger.committed.v1", committed)
    assert not may_see(["city:grenoble"], "funding.ledger.committed.v1", committed)
    selected = {**ABOUT_AEROSPACE, "financing_plan": [{"financer": "department:31"}]}
    assert may_see(["department:31"], "calls.dossier.selected.v1", selected)
