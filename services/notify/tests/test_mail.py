from datetime import UTC, datetime
from email.message import Message

import pytest

from services.notify.domain.delivery import new_delivery
from services.notify.domain.french import date_time, euros, financer
from services.notify.domain.mail import compose, render_html, render_text
from services.notify.domain.recipients import default_recipients
from services.notify.senders import MailSender
from services.notify.settings import NotifySettings
from shared.cloudevents import CloudEvent

DOSSIER = {
    "dossier_id": "d-42",
    "call_id": "plateformes-2009",
    "pole_id": "minalogic",
    "platform_name": "Nano <Fab> & Co",
    "contact_email": "porteur@labo.fr",
}


def test_dates_are_written_in_french_in_paris_time() -> None:
    assert date_time(datetime(2008, 12, 1, 22, 59, tzinfo=UTC)) == "1er décembre 2008 à 23 h 59"
    assert date_time(datetime(2009, 7, 14, 8, 5, tzinfo=UTC)) == "14 juillet 2009 à 10 h 05"


def test_amounts_are_written_in_french_euros() -> None:
    assert euros(125_000_050) == "1\u202f250\u202f000,50\u00a0€"
    assert euros(5) == "0,05\u00a0€"


def test_the_receipt_gives_its_number_and_the_submission_time() -> None:
    data = {
        **DOSSIER,
        "receipt_number": "AR-2008-0042",
        "submitted_at": "2008-12-01T22:59:00+00:00",
    }
    mail = compose("calls.dossier.submitted.v1", data)
    assert mail.subject == "Accusé de réception de votre dossier n° AR-2008-0042"
    text = render_text(mail)
    assert "1er décembre 2008 à 23 h 59" in text
    assert "Numéro de dépôt : AR-2008-0042" in text
    assert text.startswith("Bonjour,")


def test_values_are_escaped_in_html_and_kept_in_plain_text() -> None:
    mail = compose("calls.dossier.preselected.v1", DOSSIER)
    assert "« Nano <Fab> & Co »" in render_text(mail)
    html = render_html(mail)
    assert "Nano &lt;Fab&gt; &amp; Co" in html
    assert "<Fab>" not in html


def test_decisions_say_what_was_decided_and_why() -> None:
    refused = compose("calls.dossier.not-preselected.v1", {**DOSSIER, "reasons": ["hors champ"]})
    assert "n'a pas été présélectionné" in render_text(refused)
    assert "Motifs : hors champ." in render_text(refused)
    selected = compose("calls.dossier.selected.v1", {**DOSSIER, "state_grant_cents": 150_000_000})
    assert selected.subject.startswith("Décision de sélection")
    assert "est recevable" in render_text(compose("calls.dossier.found-eligible.v1", DOSSIER))


PLAN = [
    {"financer": "state", "years": [{"year": 2010, "amount_cents": 100_000_000}]},
    {
        "financer": "region:82",
        "years": [
            {"year": 2010, "amount_cents": 30_000_000},
            {"year": 2011, "amount_cents": 20_000_000},
        ],
    },
    {"financer": "feder", "years": [{"year": 2011, "amount_cents": 10_000_000}]},
]


def test_the_selection_announces_no_grant_only_the_financers_asked() -> None:
    data = {
        **DOSSIER,
        "state_grant_cents": 100_000_000,
        "cdc_investment_cents": 5_000_000,
        "financing_plan": PLAN,
    }
    mail = compose("calls.dossier.selected.v1", data)
    text = render_text(mail)
    assert "a été retenu" in text
    assert "sollicités pour engager" in text
    assert "Aucune aide n'est acquise" in text
    assert "€" not in text
    assert (
        "Financeurs sollicités",
        "l'État, la région Rhône-Alpes, le FEDER (Fonds européen de développement régional)",
    ) in mail.facts


def test_the_funded_dossier_is_told_each_financers_share_and_the_total() -> None:
    data = {**DOSSIER, "financing_plan": PLAN, "total_cents": 160_000_000}
    mail = compose("calls.dossier.funded.v1", data)
    assert mail.subject == "Financement accordé : dossier « Nano <Fab> & Co »"
    assert ("L'État (2010)", euros(100_000_000)) in mail.facts
    assert ("La région Rhône-Alpes (2010-2011)", euros(50_000_000)) in mail.facts
    assert ("Total", euros(160_000_000)) in mail.facts
    assert mail.facts[-1][0] == "Total"
    html = render_html(mail)
    assert "Nano &lt;Fab&gt; &amp; Co" in html


def test_a_refused_financing_gives_the_reason_and_the_financer_never_an_amount() -> None:
    data = {
        **DOSSIER,
        "financer": "state",
        "reason": "over-yearly-ceiling",
        "detail": "intervention.platforms: 35 000 000,00 € left in 2010, 40 000 000,00 € asked",
        "refused_at": "2010-07-30T10:00:00+00:00",
    }
    mail = compose("calls.dossier.funding-refused.v1", data)
    text = render_text(mail)
    assert mail.subject == "Financement non réuni : dossier « Nano <Fab> & Co »"
    assert "le plafond annuel de la ligne est atteint (l'État)" in text
    assert ("Financeur concerné", "l'État") in mail.facts
    assert "€" not in text
    assert "35" not in text
    assert "€" not in render_html(mail)


@pytest.mark.parametrize(
    ("reason", "french"),
    [
        ("over-line", "la ligne budgétaire ne peut plus engager ce montant"),
        ("over-yearly-ceiling", "le plafond annuel de la ligne est atteint"),
        ("over-request", "l'aide dépasse le montant demandé"),
        ("financer-declined", "un cofinanceur a retiré sa participation"),
        ("financer-timeout", "un cofinanceur n'a pas répondu dans le délai fixé"),
        ("year-outside-envelope", "hors de la période du budget"),
        ("something-new", "le financement n'a pas pu être réuni"),
    ],
)
def test_every_refusal_reason_is_written_in_french(reason: str, french: str) -> None:
    data = {**DOSSIER, "financer": "department:38", "reason": reason, "detail": "x"}
    text = render_text(compose("calls.dossier.funding-refused.v1", data))
    assert french in text
    assert "(le département 38)." in text


def test_financers_are_named_in_french() -> None:
    assert financer("cdc") == "la Caisse des Dépôts"
    assert financer("private") == "les financeurs privés"
    assert financer("region:93") == "la région Provence-Alpes-Côte d'Azur"
    assert financer("city:grenoble") == "la commune « grenoble »"


def test_the_dossiers_contact_hears_of_its_financing_whatever_the_outcome() -> None:
    for event_type in ("calls.dossier.funded.v1", "calls.dossier.funding-refused.v1"):
        assert default_recipients(event_type, DOSSIER) == ["porteur@labo.fr"]
    assert default_recipients("funding.financing.refused.v1", DOSSIER) == []


def test_contract_reminders_name_the_pole_and_the_contract() -> None:
    data = {
        "contract_id": "c-7",
        "pole_name": "Minalogic",
        "period_start_year": 2009,
        "period_end_year": 2011,
        "signature_deadline": "2009-06-30T21:59:00+00:00",
    }
    request = compose("contracts.contract.opened-for-signature.v1", data)
    assert "Minalogic" in request.subject
    assert ("Période", "2009-2011") in request.facts
    assert ("À signer avant le", "30 juin 2009 à 23 h 59") in request.facts
    assert "signature" in compose("contracts.contract.signature-overdue.v1", data).subject
    assert "rapport" in compose("contracts.contract.report-overdue.v1", data).subject


def test_other_events_get_the_generic_template_with_their_simple_fields() -> None:
    mail = compose("funding.line.threshold-crossed.v1", {"line_id": "fui", "parties": [1]})
    assert mail.subject == "Pôles 2.0 : funding.line.threshold-crossed.v1"
    assert mail.facts == (("line_id", "fui"),)


def test_the_email_is_multipart_plain_text_and_html() -> None:
    event = CloudEvent(
        id="e-1",
        type="calls.dossier.preselected.v1",
        source="calls",
        time=datetime(2009, 3, 2, tzinfo=UTC),
        data=DOSSIER,
    )
    delivery = new_delivery("default:x", "email", "porteur@labo.fr", event, event.time)
    settings = NotifySettings(auth_secret="x" * 32, notify_mail_from="poles@example.fr")
    message = MailSender(settings).message(delivery)
    assert message.get_content_type() == "multipart/alternative"
    parts = message.get_payload()
    assert isinstance(parts, list)
    assert [part.get_content_type() for part in parts if isinstance(part, Message)] == [
        "text/plain",
        "text/html",
    ]
    assert message["To"] == "porteur@labo.fr"
    assert message["Message-ID"] == f"<{delivery.id}@notify.poles>"
