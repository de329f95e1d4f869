"""HTTP edges every service shares: a body size limit (413 before parsing), the requests' duration
histogram, health routes, what a service still waits for while it starts, and the answer to a
refused command (the kernel's ``DomainError``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import DomainError, Unavailable, answer_of
from shared.tracing import exemplar

Check = Callable[[], Awaitable[bool]]

RETRY_AFTER_SECONDS = 5
"""What a 503 answer tells its caller to wait (``Retry-After``) before asking again."""


class Readiness:
    """What a starting service still waits for (``store``, ``broker``), and whether it started.

    The service serves HTTP at once; ``/health/ready`` answers 503 naming what it waits for until
    ``started()``; its own routes answer 503 until the store is up (``serves_requests``: the
    store's indexes and reference data exist). A dependency that goes away again later is
    named back with ``waiting`` while it is retried.
    """

    def __init__(self, *waiting: str) -> None:
        self._waiting = list(waiting)
        self._started = asyncio.Event()

    @property
    def waiting_for(self) -> list[str]:
        return list(self._waiting)

    @property
    def ready(self) -> bool:
        return self._started.is_set()

    def waiting(self, name: str) -> None:
        if name not in self._waiting:
            self._waiting.append(name)

    def done(self, name: str) -> None:
        if name in self._waiting:
            self._waiting.remove(name)

    def started(self) -> None:
        self._waiting.clear()
        self._started.set()

    def serves_requests(self) -> bool:
        """Whether the service's own routes may run: its store is up and prepared."""
        return self.ready or "store" not in self._waiting

    def refuse_while_starting(self, service: str) -> None:
        """Raise ``Unavailable`` (503, reason ``starting``) while the store is not up yet."""
        if not self.serves_requests():
            raise Unavailable(
                f"{service} is starting: it waits for {', '.join(self._waiting)}; "
                f"try again in {RETRY_AFTER_SECONDS} s",
                "starting",
            )

    async def wait(self) -> None:
        """Return once the service started (callers bound it with ``asyncio.timeout``)."""
        await self._started.wait()


def problem_answer(error: DomainError) -> JSONResponse:
    """A refusal as HTTP answers it: the status of its kind, ``detail`` saying why (for a broken
    rule of the body, the fields and reasons, like FastAPI's own validation errors) and
    ``reason``, the short code the metrics count."""
    answer = answer_of(error)
    return JSONResponse(
        {"detail": answer.detail, "reason": answer.reason},
        status_code=answer.status_code,
        headers=_retry_after(answer.status_code),
    )


def _retry_after(status_code: int) -> dict[str, str]:
    """A 503 tells when to ask again; no other answer does."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if status_code == 503 else {}


def install_problem_answers(app: FastAPI) -> None:
    """Every route of the app answers a ``DomainError`` with ``problem_answer``."""

    async def refuse(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)
        return problem_answer(error)

    app.add_exception_handler(DomainError, refuse)


class BodySizeLimit:
    """Refuses a request whose body is larger than ``max_bytes`` with 413, before any parsing.

    A declared ``Content-Length`` over the limit is refused at once; otherwise the body is read
    (never more than the limit) and handed to the application only when it fits.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"the request body is larger than {self.max_bytes} bytes"}, status_code=413
        )
        await response(scope, receive, send)


class RequestDurations:
    """``poles_http_request_duration_seconds{method,route,status}``: how long each HTTP request
    took to answer, by route template (``unmatched`` for a path no route serves), with the
    request's trace id as exemplar when it is traced (inside ``TracedRequests``)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.duration = Histogram(
            "poles_http_request_duration_seconds",
            "Time from an HTTP request's arrival to the start of its answer, by route and status",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                labels = self.duration.labels(scope["method"], route, str(message["status"]))
                labels.observe(time.perf_counter() - started, exemplar())
            await send(message)

        await self.app(scope, receive, answer)


def health_router(checks: Mapping[str, Check], readiness: Readiness | None = None) -> APIRouter:
    """``/health/live`` answers while the process runs, from its first instant;
    ``/health/ready`` answers 503 ``{"status": "starting", "waiting_for": [...]}`` while the
    service starts, then 200 only when every check (the broker, the store) answers."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @router.get("/ready", responses={503: {"description": "a dependency does not answer"}})
    async def ready() -> JSONResponse:
        if readiness is not None and not readiness.ready:
            return JSONResponse(
                {"status": "starting", "waiting_for": readiness.waiting_for},
                status_code=503,
                headers=_retry_after(503),
            )
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await check()
            except Exception:
                results[name] = False
        ok = all(results.values())
        body = {"status": "ready" if ok else "not ready", "checks": results}
        status_code = 200 if ok else 503
        return JSONResponse(body, status_code=status_code, headers=_retry_after(status_code))

    return router
