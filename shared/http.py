"""HTTP edges every service shares: a body size limit (413 before parsing), health routes, and
the answer to a refused command (the kernel's ``DomainError``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import DomainError, answer_of

Check = Callable[[], Awaitable[bool]]


def problem_answer(error: DomainError) -> JSONResponse:
    """A refusal as HTTP answers it: the status of its kind, ``detail`` saying why (for a broken
    rule of the body, the fields and reasons, like FastAPI's own validation errors) and
    ``reason``, the short code the metrics count."""
    answer = answer_of(error)
    return JSONResponse(
        {"detail": answer.detail, "reason": answer.reason}, status_code=answer.status_code
    )


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


def health_router(checks: Mapping[str, Check]) -> APIRouter:
    """``/health/live`` answers while the process runs; ``/health/ready`` only when every check
    (the broker, the store) answers."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @router.get("/ready", responses={503: {"description": "a dependency does not answer"}})
    async def ready() -> JSONResponse:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await check()
            except Exception:
                results[name] = False
        ok = all(results.values())
        body = {"status": "ready" if ok else "not ready", "checks": results}
        return JSONResponse(body, status_code=200 if ok else 503)

    return router
