"""The far ends of notify's deliveries inside a harness's own process (bench, chaos, the story):
a webhook receiver and an SMTP sink. Both are minimal asyncio servers (HTTP/1.1 keep-alive,
SMTP's few verbs), so that receiving costs little and measures notify, not a web framework. They
note what arrived: when, and which ``webhook-id`` (or e-mail ``Message-ID``, and to whom)
carried which event how many times, so that a notification missing or doubled shows.

The webhook receiver accepts everything, unless it was told a hook's secret (``trust``): then it
checks every webhook's signature with the Standard Webhooks library (an implementation that is
not notify's), answers 401 to a bad one and counts it as ``refused``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def event_id(event: dict[str, Any]) -> str:
    return str(event["id"])


class _LoopbackServer:
    """An asyncio server on a free port of 127.0.0.1 that hands each connection to ``_serve``."""

    port = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class WebhookReceiver(_LoopbackServer):
    """Answers 204 to every POST it accepts. ``first_arrival`` maps ``key(event)`` (the event
    id unless told otherwise) to when it first arrived (``time.perf_counter``)."""

    def __init__(self, key: Callable[[dict[str, Any]], str] = event_id) -> None:
        self.received = 0
        """Webhooks accepted, a retry of the same one included."""
        self.refused = 0
        """Webhooks whose signature did not verify (only once a secret is trusted)."""
        self.secrets: dict[str, str] = {}
        self.last_arrival = 0.0
        """``time.monotonic`` of the last request."""
        self.first_arrival: dict[str, float] = {}
        self.by_webhook_id: Counter[str] = Counter()
        self.webhook_ids_by_event: defaultdict[str, set[str]] = defaultdict(set)
        self._key = key

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def url_for(self, hook: str) -> str:
        """A URL of its own for one subscription, whose secret ``trust`` then takes."""
        return f"http://127.0.0.1:{self.port}/hooks/{hook}"

    def trust(self, hook: str, secret: str) -> None:
        """From now on, accept only webhooks signed with a trusted hook's secret."""
        self.secrets[hook] = secret

    @property
    def event_ids(self) -> set[str]:
        return set(self.webhook_ids_by_event)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request, *lines = head.decode(errors="replace").split("\r\n")
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                path = request.split(" ")[1] if request.count(" ") >= 2 else ""
                if self._verified(path.rsplit("/", 1)[-1], body, headers):
                    self._record(headers.get("webhook-id", ""), body)
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                else:
                    self.refused += 1
                    writer.write(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _verified(self, hook: str, body: bytes, headers: dict[str, str]) -> bool:
        if not self.secrets:
            return True
        try:
            Webhook(self.secrets[hook]).verify(body, headers)
        except (KeyError, WebhookVerificationError):
            return False
        return True

    def _record(self, webhook_id: str, body: bytes) -> None:
        arrived = time.perf_counter()
        self.last_arrival = time.monotonic()
        self.received += 1
        self.by_webhook_id[webhook_id] += 1
        try:
            event = orjson.loads(body)
            identity, key = event_id(event), self._key(event)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            identity, key = "?", "?"
        self.webhook_ids_by_event[identity].add(webhook_id)
        self.first_arrival.setdefault(key, arrived)


class SmtpSink(_LoopbackServer):
    """Accepts every message; counts them by ``Message-ID`` and notes their recipients."""

    def __init__(self) -> None:
        self.by_message_id: Counter[str] = Counter()
        self.recipients_by_message_id: defaultdict[str, set[str]] = defaultdict(set)
        self.last_arrival = 0.0
        """``time.monotonic`` of the last message."""

    @property
    def received(self) -> int:
        return sum(self.by_message_id.values())

    def by_recipient(self) -> Counter[str]:
        """Recipient -> the distinct messages it was sent (one sent again counts once)."""
        return Counter(r for rs in self.recipients_by_message_id.values() for r in rs)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"220 sink ESMTP\r\n")
            recipients: list[str] = []
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250 sink\r\n")
                elif verb in (b"MAIL", b"RSET"):
                    recipients = []
                    writer.write(b"250 ok\r\n")
                elif verb == b"RCPT":
                    address = line.partition(b"<")[2].partition(b">")[0]
                    recipients.append(address.decode(errors="replace").lower())
                    writer.write(b"250 ok\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go on\r\n")
                    await writer.drain()
                    await self._message(reader, recipients)
                    writer.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _message(self, reader: asyncio.StreamReader, recipients: list[str]) -> None:
        message_id = "?"
        in_headers = True
        while (line := await reader.readline()) not in (b".\r\n", b".\n"):
            if line == b"":  # the sender went away before the end of DATA: nothing was sent
                raise ConnectionError("the connection closed in the middle of a message")
            if in_headers and line.strip() == b"":
                in_headers = False
            elif in_headers and line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode(errors="replace")
        self.last_arrival = time.monotonic()
        self.by_message_id[message_id] += 1
        self.recipients_by_message_id[message_id].update(recipients)


class Receivers:
    """A webhook receiver and an SMTP sink, started and stopped together."""

    def __init__(self, webhooks: WebhookReceiver | None = None) -> None:
        self.webhooks = webhooks or WebhookReceiver()
        self.mail = SmtpSink()

    async def start(self) -> None:
        await self.webhooks.start()
        await self.mail.start()

    async def stop(self) -> None:
        await self.webhooks.stop()
        await self.mail.stop()
