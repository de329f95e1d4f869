"""The HTTP edge: thin routes that authenticate, validate, call a handler and map refusals."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.contracts.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

STATUS_OF: dict[type[DomainError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409}


def install_error_handlers(app: FastAPI) -> None:
    """A refused command answers 403/404/409 with ``detail`` saying why, or 422 naming the body
    field and the reason, like FastAPI's own validation errors."""

    async def refuse(_: Request, error: Exception) -> JSONResponse:
        if isinstance(error, Invalid):
            detail = [
                {"loc": ["body", *p.loc], "msg": p.msg, "type": "value_error"}
                for p in error.problems
            ]
            return JSONResponse({"detail": detail}, status_code=422)
        code = next((c for kind, c in STATUS_OF.items() if isinstance(error, kind)), 409)
        return JSONResponse({"detail": str(error)}, status_code=code)

    app.add_exception_handler(DomainError, refuse)
