"""A small ASGI app served by uvicorn in this test process on a free loopback port (the webhook
receiver, the OTLP receiver)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from tests.support.kafka import eventually


def loopback_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 (its address is known before serving)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serving(app: ASGIApp, sock: socket.socket) -> AsyncIterator[None]:
    """``app`` answers on ``sock`` inside the block; stopped at its end."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, seconds=5, interval=0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task
