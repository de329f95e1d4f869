"""The story's own webhook receiver and SMTP server on 127.0.0.1, as an integrator and the
pôles' contacts would run them: webhooks are checked with the Standard Webhooks library (an
implementation that is not notify's), and every e-mail is kept."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Webhooked:
    webhook_id: str
    hook: str
    event_id: str
    event_type: str


@dataclass
class WebhookReceiver:
    secrets: dict[str, str] = field(default_factory=dict)
    received: list[Webhooked] = field(default_factory=list)
    refused: int = 0
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def url(self, hook: str) -> str:
        return f"http://{HOST}:{self.port}/hooks/{hook}"

    def trust(self, hook: str, secret: str) -> None:
        self.secrets[hook] = secret

    async def receive(self, request: Request) -> Response:
        hook = request.path_params["hook"]
        body = await request.body()
        try:
            Webhook(self.secrets[hook]).verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError):
            self.refused += 1
            return Response(status_code=401)
        event: dict[str, Any] = orjson.loads(body)
        self.received.append(
            Webhooked(request.headers["webhook-id"], hook, str(event["id"]), str(event["type"]))
        )
        return Response(status_code=204)

    def distinct(self) -> int:
        return len({w.webhook_id for w in self.received})

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks/{hook}", self.receive, methods=["POST"])])
        sock = socket.socket()
        sock.bind((HOST, 0))
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


@dataclass(frozen=True)
class Mailed:
    message_id: str
    recipient: str
    subject: str


@dataclass
class MailReceiver:
    """An SMTP server that accepts every message and keeps its Message-ID, recipient, subject."""

    received: list[Mailed] = field(default_factory=list)
    port: int = 0
    _controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        for recipient in envelope.rcpt_tos:
            self.received.append(
                Mailed(str(message["Message-ID"]), recipient.lower(), str(message["Subject"]))
            )
        return "250 OK"

    def distinct(self) -> int:
        return len({(m.message_id, m.recipient) for m in self.received})

    def by_recipient(self) -> Counter[str]:
        return Counter(r for _, r in {(m.message_id, m.recipient) for m in self.received})

    async def start(self) -> None:
        self.port = free_port()
        self._controller = Controller(self, hostname=HOST, port=self.port)
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)


@dataclass
class Receivers:
    webhooks: WebhookReceiver = field(default_factory=WebhookReceiver)
    mail: MailReceiver = field(default_factory=MailReceiver)

    async def start(self) -> None:
        await self.webhooks.start()
        await self.mail.start()

    async def stop(self) -> None:
        await self.webhooks.stop()
        await self.mail.stop()
