"""The two channels: a signed webhook POST (httpx) and a French e-mail (SMTP, aiosmtplib).

A webhook is sent to the addresses its host resolved to when it was checked, never to its name:
the client's connections go through ``PinnedBackend``, which connects only to the addresses the
current send checked (``targets.resolve_target``), while the URL, so the ``Host`` header and the TLS
server name (and certificate check), stay the target's own. No redirect is followed: a 3xx answer
is a failed attempt with its status.

A sender never raises for the receiver's sake: every problem becomes a ``Sent`` saying whether it
is worth another try. Only our own bugs escape (the dispatcher logs them; the lease expires and
the delivery comes again).

Each send is a CLIENT span in the trace of the event it carries (its ``traceparent``); a webhook
also tells its receiver that trace (a ``traceparent`` header).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

import aiosmtplib
import httpcore
import httpx
import orjson
from opentelemetry.trace import SpanKind

from services.notify.domain.backoff import Outcome, outcome_of_status, retry_after_seconds
from services.notify.domain.delivery import Delivery
from services.notify.domain.mail import compose, render_html, render_text
from services.notify.domain.webhook_signature import webhook_headers
from services.notify.settings import NotifySettings
from services.notify.targets import CheckedTarget, PrivateTarget, TargetPolicy, resolve_target
from shared.tracing import continuing, propagation


@dataclass(frozen=True)
class Sent:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")


_checked: ContextVar[CheckedTarget | None] = ContextVar("checked_webhook_target", default=None)


@contextmanager
def connecting_to(target: CheckedTarget) -> Iterator[None]:
    """Within this block (this task), connections to ``target``'s host go to its checked
    addresses."""
    token = _checked.set(target)
    try:
        yield
    finally:
        _checked.reset(token)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects a host only to the addresses checked for it in this task, trying them in turn;
    a host nobody checked is not connected at all (no lookup ever happens here)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        target = _checked.get()
        if target is None or (target.host, target.port) != (host, port):
            raise httpcore.ConnectError(f"{host}:{port} was not checked: notify does not connect")
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in target.addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def webhook_client(timeout: float, max_connections: int) -> httpx.AsyncClient:
    """The webhooks' client: no redirects, no proxy from the environment, every connection
    pinned to checked addresses."""
    transport = httpx.AsyncHTTPTransport(
        trust_env=False, limits=httpx.Limits(max_connections=max_connections)
    )
    # httpx has no public way to give its pool a network backend; the pool reads this attribute
    # each time it opens a connection (httpcore 1.x).
    pool = transport._pool
    pool._network_backend = PinnedBackend(pool._network_backend)
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )


class WebhookSender:
    """Checks the target again (one lookup), then POSTs to the checked addresses only; follows
    no redirect (a 3xx is a failed attempt, final, with its status)."""

    def __init__(self, client: httpx.AsyncClient, policy: TargetPolicy) -> None:
        self._client = client
        self._policy = policy

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, delivery: Delivery, secrets: list[str]) -> Sent:
        with continuing(
            "webhook POST",
            delivery.event,
            SpanKind.CLIENT,
            {"http.request.method": "POST", "notify.delivery_id": delivery.id},
        ) as span:
            sent = await self._send(delivery, secrets)
            if sent.status_code is not None:
                span.set_attribute("http.response.status_code", sent.status_code)
            return sent

    async def _send(self, delivery: Delivery, secrets: list[str]) -> Sent:
        try:
            target = await resolve_target(delivery.target, self._policy)
        except PrivateTarget as error:
            return Sent(Outcome.FINAL, error=str(error))
        except OSError as error:
            return Sent(Outcome.RETRY, error=f"the host does not resolve: {_error(error)}")
        body = orjson.dumps(delivery.event)
        headers = webhook_headers(secrets, delivery.id, int(time.time()), body) | propagation()
        try:
            with connecting_to(target):
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


class SmtpPool:
    """Up to ``size`` connected SMTP clients, reused from one e-mail to the next: a client is
    connected when first needed, taken by one send at a time, dropped (closed) after any
    failure so that the next send connects afresh, and all closed at stop."""

    def __init__(self, settings: NotifySettings, size: int) -> None:
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._free = asyncio.Semaphore(size)
        self.connections_made = 0

    def _client(self) -> aiosmtplib.SMTP:
        s = self._settings
        password = s.notify_smtp_password.get_secret_value() if s.notify_smtp_password else None
        return aiosmtplib.SMTP(
            hostname=s.notify_smtp_host,
            port=s.notify_smtp_port,
            username=s.notify_smtp_username,
            password=password,
            start_tls=s.notify_smtp_starttls,
            timeout=s.notify_request_timeout_seconds,
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        async with self._free:
            client = None
            while self._idle and client is None:
                candidate = self._idle.pop()
                client = candidate if candidate.is_connected else None
            if client is None:
                client = self._client()
                await client.connect()
                self.connections_made += 1
            try:
                yield client
            except BaseException:
                client.close()
                raise
            self._idle.append(client)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


class MailSender:
    def __init__(self, settings: NotifySettings, connections: int = 1) -> None:
        self._settings = settings
        self._pool = SmtpPool(settings, connections)
        self._sender = parseaddr(settings.notify_mail_from)
        """The From header's name and address (the address is also the envelope's sender)."""

    @property
    def connections_made(self) -> int:
        return self._pool.connections_made

    async def close(self) -> None:
        await self._pool.close()

    def message(self, delivery: Delivery) -> MIMEMultipart:
        """The e-mail, built with the classic (compat32) MIME classes: the default policy's
        ``EmailMessage`` parses and folds every header again when the message is flattened, a
        sixth of notify's CPU in ``make bench --profile``."""
        mail = compose(delivery.event_type, delivery.event.get("data", {}))
        message = MIMEMultipart("alternative")
        message["Subject"] = Header(mail.subject, "utf-8", header_name="Subject").encode()
        message["From"] = formataddr(self._sender, "utf-8")
        message["To"] = delivery.target
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = f"<{delivery.id}@notify.poles>"
        message.attach(MIMEText(render_text(mail), "plain", "utf-8"))
        message.attach(MIMEText(render_html(mail), "html", "utf-8"))
        return message

    async def send(self, delivery: Delivery) -> Sent:
        with continuing(
            "e-mail send",
            delivery.event,
            SpanKind.CLIENT,
            {"messaging.system": "smtp", "notify.delivery_id": delivery.id},
        ):
            return await self._send(delivery)

    async def _send(self, delivery: Delivery) -> Sent:
        message, sender = self.message(delivery), self._sender[1]
        try:
            try:
                async with self._pool.connection() as client:
                    await client.send_message(message, sender=sender, recipients=[delivery.target])
            except aiosmtplib.SMTPServerDisconnected:
                # a kept connection the server closed meanwhile: once more on a new one
                async with self._pool.connection() as client:
                    await client.send_message(message, sender=sender, recipients=[delivery.target])
        except aiosmtplib.SMTPRecipientsRefused as error:
            return Sent(Outcome.FINAL, error=_error(error))
        except aiosmtplib.SMTPResponseException as error:
            final = error.code >= 500
            return Sent(Outcome.FINAL if final else Outcome.RETRY, error.code, _error(error))
        except (aiosmtplib.SMTPException, OSError) as error:
            return Sent(Outcome.RETRY, error=_error(error))
        return Sent(Outcome.DELIVERED)
