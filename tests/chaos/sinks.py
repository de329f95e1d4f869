"""The far ends of notify's deliveries, inside the chaos process: a webhook receiver and an SMTP
sink. Both accept everything and note what arrived: which ``webhook-id`` (or e-mail
``Message-ID``) carried which event, and how many times, so that a notification missing or
doubled shows in the count."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict

import orjson


class WebhookReceiver:
    """Answers 204 to every POST; per event id, the set of webhook-ids that carried it."""

    def __init__(self) -> None:
        self.webhook_ids_by_event: defaultdict[str, set[str]] = defaultdict(set)
        self.arrivals: Counter[str] = Counter()
        self.last_arrival = 0.0
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/chaos"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower()] = value.strip().decode(errors="replace")
                length = int(headers.get(b"content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                self._record(headers.get(b"webhook-id", ""), body)
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _record(self, webhook_id: str, body: bytes) -> None:
        self.last_arrival = time.monotonic()
        self.arrivals[webhook_id] += 1
        try:
            event_id = str(orjson.loads(body)["id"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            event_id = "?"
        self.webhook_ids_by_event[event_id].add(webhook_id)


class SmtpSink:
    """Accepts every message; counts them by ``Message-ID``."""

    def __init__(self) -> None:
        self.arrivals: Counter[str] = Counter()
        self.last_arrival = 0.0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"220 chaos ESMTP\r\n")
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250 chaos\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go on\r\n")
                    await writer.drain()
                    await self._message(reader)
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

    async def _message(self, reader: asyncio.StreamReader) -> None:
        message_id = "?"
        in_headers = True
        while (line := await reader.readline()) not in (b".\r\n", b".\n", b""):
            if in_headers and line.strip() == b"":
                in_headers = False
            elif in_headers and line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode(errors="replace")
        self.last_arrival = time.monotonic()
        self.arrivals[message_id] += 1
