"""The two channels: a signed webhook POST (httpx) and a French e-mail (SMTP, aiosmtplib).

A sender never raises for the receiver's sake: every problem becomes a ``Sent`` saying whether it
is worth another try. Only our own bugs escape (the dispatcher logs them; the lease expires and
the delivery comes again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import httpx
import orjson

from services.notify.domain.backoff import Outcome, outcome_of_status, retry_after_seconds
from services.notify.domain.delivery import Delivery
from services.notify.domain.mail import compose, render_html, render_text
from services.notify.domain.webhook_signature import webhook_headers
from services.notify.settings import NotifySettings
from services.notify.targets import PrivateTarget, ensure_public


@dataclass(frozen=True)
class Sent:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")


class WebhookSender:
    def __init__(self, client: httpx.AsyncClient, allow_private: bool) -> None:
        self._client = client
        self._allow_private = allow_private

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, delivery: Delivery, secrets: list[str]) -> Sent:
        try:
            await ensure_public(delivery.target, self._allow_private)
        except PrivateTarget as error:
            return Sent(Outcome.FINAL, error=str(error))
        except OSError as error:
            return Sent(Outcome.RETRY, error=f"the host does not resolve: {_error(error)}")
        body = orjson.dumps(delivery.event)
        headers = webhook_headers(secrets, delivery.id, int(time.time()), body)
        try:
            response = await self._client.post(delivery.target, content=body, headers=headers)
        except httpx.HTTPError as error:
            return Sent(Outcome.RETRY, error=_error(error))
        outcome = outcome_of_status(response.status_code)
        retry_after = None
        if outcome == Outcome.RETRY:
            retry_after = retry_after_seconds(
                response.headers.get("retry-after"), datetime.now(UTC)
            )
        refused = None if outcome == Outcome.DELIVERED else f"HTTP {response.status_code}"
        return Sent(outcome, response.status_code, refused, retry_after)


class MailSender:
    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings

    def message(self, delivery: Delivery) -> EmailMessage:
        mail = compose(delivery.event_type, delivery.event.get("data", {}))
        message = EmailMessage()
        message["Subject"] = mail.subject
        message["From"] = self._settings.notify_mail_from
        message["To"] = delivery.target
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = f"<{delivery.id}@notify.poles>"
        message.set_content(render_text(mail))
        message.add_alternative(render_html(mail), subtype="html")
        return message

    async def send(self, delivery: Delivery) -> Sent:
        s = self._settings
        password = s.notify_smtp_password.get_secret_value() if s.notify_smtp_password else None
        try:
            await aiosmtplib.send(
                self.message(delivery),
                hostname=s.notify_smtp_host,
                port=s.notify_smtp_port,
                username=s.notify_smtp_username,
                password=password,
                start_tls=s.notify_smtp_starttls,
                timeout=s.notify_request_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            return Sent(Outcome.FINAL, error=_error(error))
        except aiosmtplib.SMTPResponseException as error:
            final = error.code >= 500
            return Sent(Outcome.FINAL if final else Outcome.RETRY, error.code, _error(error))
        except (aiosmtplib.SMTPException, OSError) as error:
            return Sent(Outcome.RETRY, error=_error(error))
        return Sent(Outcome.DELIVERED)
