"""The harnesses' receivers (tests/support/sinks.py), on loopback: what the story, the bench and
the chaos run count is what arrived."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.sinks import Receivers


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    both = Receivers()
    await both.start()
    yield both
    await both.stop()


SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


def signed(webhook_id: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body.decode()),
    }


async def test_webhooks_are_counted_by_event_and_webhook_id(receivers: Receivers) -> None:
    hooks = receivers.webhooks
    async with httpx.AsyncClient() as client:
        for webhook_id, event in [("w1", "e1"), ("w1", "e1"), ("w2", "e2")]:
            body = orjson.dumps({"id": event, "type": "t"})
            answer = await client.post(hooks.url, content=body, headers={"webhook-id": webhook_id})
            assert answer.status_code == 204
    assert hooks.received == 3
    assert hooks.event_ids == {"e1", "e2"}
    assert hooks.by_webhook_id == {"w1": 2, "w2": 1}
    assert hooks.refused == 0


async def test_a_trusted_hook_takes_only_webhooks_signed_with_its_secret(
    receivers: Receivers,
) -> None:
    hooks = receivers.webhooks
    hooks.trust("integrator", SECRET)
    body = orjson.dumps({"id": "e1", "type": "t"})
    other = "whsec_" + "b3RoZXItb3RoZXItb3RoZXItb3RoZXI="
    async with httpx.AsyncClient() as client:
        good = await client.post(
            hooks.url_for("integrator"), content=body, headers=signed("w1", body)
        )
        forged = await client.post(
            hooks.url_for("integrator"), content=body, headers=signed("w2", body, other)
        )
        unknown = await client.post(
            hooks.url_for("other"), content=body, headers=signed("w3", body)
        )
    assert (good.status_code, forged.status_code, unknown.status_code) == (204, 401, 401)
    assert hooks.refused == 2
    assert hooks.received == 1
    assert hooks.webhook_ids_by_event == {"e1": {"w1"}}


async def test_mail_is_counted_by_message_and_recipient(receivers: Receivers) -> None:
    message = EmailMessage()
    message["Subject"] = "Dossier déposé"
    message["From"] = "notify@example.org"
    message["To"] = "A@example.org, b@example.org"
    message["Message-ID"] = "<m1@example.org>"
    message.set_content("Votre dossier est déposé.")
    for _ in range(2):  # the same message sent again counts once per recipient
        await aiosmtplib.send(message, hostname="127.0.0.1", port=receivers.mail.port)
    assert receivers.mail.by_message_id == {"<m1@example.org>": 2}
    assert receivers.mail.by_recipient() == {"a@example.org": 1, "b@example.org": 1}


async def test_a_message_cut_off_before_the_end_of_its_data_is_not_counted(
    receivers: Receivers,
) -> None:
    """A sender killed in the middle of DATA sent nothing (a server keeps no message without its
    final '.'), whether or not its headers had arrived."""
    for cut_after in (b"Subject: half\r\n", b"Message-ID: <m2@example.org>\r\n\r\nbody\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", receivers.mail.port)
        await reader.readline()
        for command in (b"EHLO test", b"MAIL FROM:<n@example.org>", b"RCPT TO:<a@example.org>"):
            writer.write(command + b"\r\n")
            await reader.readline()
        writer.write(b"DATA\r\n")
        await reader.readline()
        writer.write(cut_after)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    message = EmailMessage()
    message["From"], message["To"] = "notify@example.org", "a@example.org"
    message["Message-ID"] = "<m3@example.org>"
    message.set_content("complet")
    await aiosmtplib.send(message, hostname="127.0.0.1", port=receivers.mail.port)
    assert receivers.mail.by_message_id == {"<m3@example.org>": 1}
