"""Notify's e-mail on the real broker and store, to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.events.calls import DossierPreselected, DossierSubmitted
from shared.events.notify import DeliveryFailed
from shared.topics import NOTIFY_DELIVERY
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event, read_events
from tests.support.mailbox import REFUSED, Mailbox, running_mailbox

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with running_mailbox() as running:
        yield running


def settings(isolation: Isolation, port: int) -> NotifySettings:
    return isolation.settings(
        NotifySettings,
        notify_smtp_port=port,
        notify_mail_from="Pôles 2.0 <ne-pas-repondre@poles.example.fr>",
        notify_retry_delays_seconds=[0.3],
        notify_retry_jitter=0.0,
        notify_dispatch_poll_seconds=0.1,
    )


def facts(contact: str | None, pole_id: str = "minalogic") -> dict[str, Any]:
    return {
        "dossier_id": f"d-{uuid.uuid4().hex[:8]}",
        "call_id": "plateformes-2008",
        "call_kind": "innovation-platforms",
        "pole_id": pole_id,
        "region_codes": ["82"],
        "platform_name": "Nano <Fab> & Co",
        "contact_email": contact,
    }


def parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


async def test_the_dossiers_contact_receives_a_french_receipt_in_text_and_html(
    isolation: Isolation, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    contact = f"porteur-{uuid.uuid4().hex[:6]}@labo.fr"
    submitted = DossierSubmitted(
        **facts(contact),
        version=1,
        carrier_siret="18004301600018",
        requested_investment_cents=300_000_000,
        requested_operation_cents=50_000_000,
        requested_studies_cents=0,
        requested_total_cents=350_000_000,
        receipt_number="AR-2008-000042",
        submitted_at=datetime(2008, 12, 1, 22, 59, 30, tzinfo=UTC),
    )
    async with serve(create_app(settings(isolation, port))):
        await publish_event(isolation, submitted, key=submitted.dossier_id)
        [message] = await eventually(lambda: mailbox.to(contact))

    assert message["Subject"] == "Accusé de réception de votre dossier n° AR-2008-000042"
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        "Pôles 2.0",
        "ne-pas-repondre@poles.example.fr",
    )
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)["text/plain"], parts(message)["text/html"]
    assert "1er décembre 2008 à 23 h 59" in text
    assert "Numéro de dépôt : AR-2008-000042" in text
    assert "« Nano <Fab> & Co »" in text
    assert "Nano &lt;Fab&gt; &amp; Co" in html


async def test_an_email_subscription_receives_only_what_its_region_may_see(
    isolation: Isolation, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    rhone_alpes, ile_de_france = "eco@region82.example.fr", "eco@region11.example.fr"
    async with serve(create_app(settings(isolation, port))) as client:
        created = {}
        for region, address in (("82", rhone_alpes), ("11", ile_de_france)):
            body = {"channel": "email", "target": address, "event_types": ["calls.dossier."]}
            answer = await client.post(
                "/subscriptions", json=body, headers=auth(f"region:{region}")
            )
            assert answer.status_code == 201, answer.text
            created[region] = answer.json()
        decided = DossierPreselected(**facts(None), decided_at=datetime(2009, 3, 2, tzinfo=UTC))
        await publish_event(isolation, decided, key=decided.dossier_id)
        [message] = await eventually(lambda: mailbox.to(rhone_alpes))
        path = f"/subscriptions/{created['11']['id']}/deliveries"
        not_seen = await client.get(path, headers=auth("region:11"))

    assert "secret" not in created["82"]
    assert not_seen.json() == []
    assert mailbox.to(ile_de_france) == []
    assert message["Subject"] == "Présélection : dossier « Nano <Fab> & Co »"
    assert "a été présélectionné" in parts(message)["text/plain"]


async def test_an_address_the_server_refuses_ends_in_a_failed_delivery_event(
    isolation: Isolation, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    decided = DossierPreselected(**facts(REFUSED), decided_at=datetime(2009, 3, 2, tzinfo=UTC))
    async with serve(create_app(settings(isolation, port))):
        event = await publish_event(isolation, decided, key=decided.dossier_id)
        failures = await read_events(
            isolation,
            NOTIFY_DELIVERY.name,
            lambda events: any(e.data["event_id"] == event.id for e in events),
        )

    [failed] = [e for e in failures if e.data["event_id"] == event.id]
    data = DeliveryFailed.model_validate(failed.data)
    assert (data.channel, data.target, data.attempts) == ("email", REFUSED, 1)
    assert "550" in data.last_error
    assert mailbox.to(REFUSED) == []
