"""Commands from the State's and the CDC's systems, read on ``calls.command``.

A command is a JSON object ``{"command_id": ..., "type": "submit-dossier", ...}`` (the fields
of the matching model in ``commands.py``) with the same bearer token as HTTP in a Kafka header
``authorization``. It runs through the same handler as the HTTP API; the answer is an event on
``calls.command-result``: accepted (with what HTTP would answer) or rejected (status code,
reason, detail). ``command_id`` is the idempotency key, as ``Idempotency-Key`` is on HTTP.

Commands with the same Kafka key are run in the order they were sent; commands with different
keys may run at the same time. A system that needs a dossier's commands in order keys them by the
dossier (or sends the next after the previous one's answer).

Commands are not CloudEvents and are not read by ``runtime.consume``: the kernel's consumer
passes a handler only the ``ce_*`` attributes, and the token travels in its own header.

The answer is published before the offset is committed. If the service dies in between, the
command comes again, finds its key already processed, and the same answer is sent again with
the same event id (derived from the command id and the answer), so readers keep one.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import orjson
from pydantic import ValidationError

from services.calls.commands import COMMANDS
from services.calls.domain.errors import CommandError, Unauthorized
from services.calls.handlers import IDS, SOURCE, CommandHandlers
from shared.auth import Principal, read_token
from shared.deadletter import DeadLetters
from shared.events.base import new_outbox_entry
from shared.events.calls import CommandAccepted, CommandRejected
from shared.outbox import Publish


class CommandTopic:
    def __init__(
        self,
        handlers: CommandHandlers,
        auth_secret: str,
        publish: Publish,
        dead_letters: DeadLetters,
    ) -> None:
        self._handlers = handlers
        self._secret = auth_secret
        self._publish = publish
        self._dead_letters = dead_letters

    async def handle(self, record: Any) -> None:
        try:
            body = orjson.loads(record.value or b"")
            command_id = body["command_id"]
            if not isinstance(command_id, str) or not 0 < len(command_id) <= 200:
                raise ValueError("command_id must be a string of 1 to 200 characters")
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as error:
            # Nobody to answer: set it aside for an operator.
            await self._dead_letters.send(record, error, attempts=1)
            return
        command_type = body.get("type") if isinstance(body.get("type"), str) else None
        result = await self._run(record.headers or (), command_id, command_type, body)
        await self._answer(result, command_id)

    async def _run(
        self, headers: Any, command_id: str, command_type: str | None, body: dict[str, Any]
    ) -> CommandAccepted | CommandRejected:
        metrics = self._handlers.metrics
        try:
            principal = self._principal(headers)
            command = COMMANDS.validate_python({k: v for k, v in body.items() if k != "command_id"})
        except Unauthorized as error:
            metrics.rejected.labels(error.reason).inc()
            return rejected(command_id, command_type, error)
        except ValidationError as error:
            metrics.rejected.labels("invalid").inc()
            detail = error.errors(include_url=False, include_context=False, include_input=False)
            for item in detail:
                item["loc"] = ("body", *item["loc"])
            return CommandRejected(
                command_id=command_id,
                command_type=command_type,
                status_code=422,
                reason="invalid",
                detail=detail,
            )
        try:
            reply = await self._handlers.execute(principal, command_id, command)
        except CommandError as error:
            return rejected(command_id, command_type, error)
        return CommandAccepted(
            command_id=command_id,
            command_type=command.type,
            status_code=reply["status_code"],
            answer=reply["body"],
        )

    def _principal(self, headers: Any) -> Principal:
        values = [value for name, value in headers if name.lower() == "authorization"]
        scheme, _, token = (values[0].decode(errors="replace") if values else "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required in the 'authorization' header")
        try:
            return read_token(self._secret, token.strip())
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("the token has expired") from error
        except jwt.InvalidTokenError as error:
            raise Unauthorized("the token is not valid") from error

    async def _answer(self, result: CommandAccepted | CommandRejected, command_id: str) -> None:
        entry = new_outbox_entry(
            result, source=SOURCE, key=command_id, time=self._handlers.clock.now()
        )
        # The same answer to the same command always has the same event id.
        outcome = f"{command_id}|{result.type_name}|{result.status_code}"
        if isinstance(result, CommandRejected):
            outcome += f"|{result.reason}"
        entry = entry.model_copy(update={"id": str(uuid.uuid5(IDS, outcome))})
        acknowledged = await self._publish(entry)
        await acknowledged


def rejected(command_id: str, command_type: str | None, error: CommandError) -> CommandRejected:
    return CommandRejected(
        command_id=command_id,
        command_type=command_type,
        status_code=error.status_code,
        reason=error.reason,
        detail=error.detail,
    )
