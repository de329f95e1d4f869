from services.notify.domain.recipients import default_recipients, default_target_id

PARTIES = [
    {"party_id": "pole:minalogic", "kind": "pole", "contact_email": "dg@minalogic.org"},
    {"party_id": "state", "kind": "state", "contact_email": "dgcis@finances.gouv.fr"},
    {"party_id": "region:82", "kind": "region", "contact_email": "eco@rhonealpes.fr"},
    {"party_id": "city:38185", "kind": "city"},
]


def test_a_dossiers_contact_receives_its_receipt_and_every_decision() -> None:
    data = {"contact_email": "porteur@labo.fr"}
    for what in ["submitted", "found-eligible", "not-preselected", "selected", "not-selected"]:
        assert default_recipients(f"calls.dossier.{what}.v1", data) == ["porteur@labo.fr"]
    assert default_recipients("calls.dossier.preselection-vote.v1", data) == []
    assert default_recipients("calls.dossier.submitted.v1", {}) == []


def test_every_party_receives_the_signature_request() -> None:
    assert default_recipients(
        "contracts.contract.opened-for-signature.v1", {"parties": PARTIES}
    ) == ["dg@minalogic.org", "dgcis@finances.gouv.fr", "eco@rhonealpes.fr"]


def test_only_unsigned_parties_are_reminded_to_sign() -> None:
    data = {"parties": PARTIES, "unsigned_party_ids": ["region:82", "city:38185"]}
    assert default_recipients("contracts.contract.signature-overdue.v1", data) == [
        "eco@rhonealpes.fr"
    ]


def test_the_pole_is_reminded_of_its_overdue_report() -> None:
    data = {"parties": PARTIES}
    assert default_recipients("contracts.contract.report-overdue.v1", data) == ["dg@minalogic.org"]


def test_other_events_and_malformed_parties_have_no_default_recipient() -> None:
    assert default_recipients("contracts.contract.signed.v1", {"parties": PARTIES}) == []
    odd = {"parties": ["x", {"contact_email": 3}], "unsigned_party_ids": "all"}
    assert default_recipients("contracts.contract.opened-for-signature.v1", odd) == []
    assert default_target_id("Porteur@Labo.fr") == "default:porteur@labo.fr"
