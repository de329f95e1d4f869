"""Commands from the State's and the CDC's systems, read on ``calls.command``.

A command is a JSON object ``{"command_id": ..., "type": "submit-dossier", ...}`` (the fields
of the matching model in ``commands.py``) with the same bearer token as HTTP in a Kafka header
``authorization``. It runs through the same handler as the HTTP API; the answer is an event on
``calls.command-result``: accepted (with what HTTP would answer) or rejected (status code,
reason, detail: the kernel's ``answer_of`` the refusal, as HTTP answers it). ``command_id`` is
the idempotency key, as ``Idempotency-Key`` is on HTTP.

Commands with the same Kafka key are run in the order they were sent; commands with different
keys may run at the same time. A system that needs a dossier's commands in order keys them by the
dossier (or sends the next after the previous one's answer).

Commands are not CloudEvents and are not read by ``runtime.consume``: the kernel's consumer
passes a handler only the ``ce_*`` attributes, and the token travels in its own header.

The answer is published (and acknowledged) before the offset is committed. If the service dies
in between, the command comes again, finds its key already processed, and the same answer is
sent again with the same event id (derived from the command id and the answer), so readers keep
one.

Each command is a CONSUMER span, continuing the trace its record's ``traceparent`` header names
(if any): the events it decides carry that trace on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from services.calls.commands import COMMANDS, Command
from services.calls.handlers import IDS, CommandHandlers
from services.calls.store import SERVICE
from shared.auth import Principal, read_token
from shared.consumer import by_key_in_order, records_of
from shared.deadletter import DeadLetters, SendRaw
from shared.errors import DomainError, Invalid, Problem, Unauthorized, answer_of
from shared.events.base import new_outbox_entry
from shared.events.calls import CommandAccepted, CommandRejected
from shared.kafka import raw_sender
from shared.repository import source_of
from shared.service import Runtime
from shared.topics import CALLS_COMMAND
from shared.tracing import consuming

Answer = CommandAccepted | CommandRejected


@dataclass(frozen=True)
class CommandTopic:
    handlers: CommandHandlers
    auth_secret: str
    send: SendRaw
    dead_letters: DeadLetters
    topic_prefix: str = ""

    async def handle(self, record: Any) -> None:
        headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
        with consuming(
            f"{record.topic} process",
            headers,
            {"messaging.system": "kafka", "messaging.destination.name": record.topic},
        ):
            await self._handle(record)

    async def _handle(self, record: Any) -> None:
        try:
            body = orjson.loads(record.value or b"")
            command_id = body["command_id"]
            if not isinstance(command_id, str) or not 0 < len(command_id) <= 200:
                raise ValueError("command_id must be a string of 1 to 200 characters")
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as error:
            # Nobody to answer: set it aside for an operator.
            await self.dead_letters.send(record, error, attempts=1)
            return
        command_type = body.get("type") if isinstance(body.get("type"), str) else None
        try:
            principal = self._principal(record.headers or ())
            command = read_command(body)
        except DomainError as error:
            self.handlers.metrics.rejected.labels(error.reason).inc()
            await self._answer(rejected(command_id, command_type, error))
            return
        await self._answer(await self._run(principal, command_id, command))

    async def _run(self, principal: Principal, command_id: str, command: Command) -> Answer:
        try:
            answer = await self.handlers.execute(principal, command_id, command)
        except DomainError as error:  # counted by the handler
            return rejected(command_id, command.type, error)
        return CommandAccepted(
            command_id=command_id,
            command_type=command.type,
            status_code=answer["status_code"],
            answer=answer["body"],
        )

    def _principal(self, headers: Any) -> Principal:
        values = [value for name, value in headers if name.lower() == "authorization"]
        scheme, _, token = (values[0].decode(errors="replace") if values else "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required in the 'authorization' header")
        try:
            return read_token(self.auth_secret, token.strip())
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("the token has expired") from error
        except jwt.InvalidTokenError as error:
            raise Unauthorized("the token is not valid") from error

    async def _answer(self, result: Answer) -> None:
        entry = new_outbox_entry(
            result,
            source=source_of(SERVICE),
            key=result.command_id,
            time=self.handlers.clock.now(),
        )
        # The same answer to the same command always has the same event id.
        outcome = f"{result.command_id}|{result.type_name}|{result.status_code}"
        if isinstance(result, CommandRejected):
            outcome += f"|{result.reason}"
        entry = entry.model_copy(update={"id": str(uuid.uuid5(IDS, outcome))})
        event = entry.cloud_event()
        await self.send(
            self.topic_prefix + entry.topic,
            entry.key.encode(),
            event.kafka_value(),
            event.kafka_headers(),
        )


def read_command(body: dict[str, Any]) -> Command:
    """The command a message's body names (without its ``command_id``); Invalid names the fields
    and why, as HTTP does."""
    try:
        return COMMANDS.validate_python({k: v for k, v in body.items() if k != "command_id"})
    except ValidationError as error:
        raise Invalid(
            [Problem(tuple(item["loc"]), item["msg"], item["type"]) for item in error.errors()]
        ) from error


def rejected(command_id: str, command_type: str | None, error: DomainError) -> CommandRejected:
    answer = answer_of(error)
    return CommandRejected(
        command_id=command_id,
        command_type=command_type,
        status_code=answer.status_code,
        reason=answer.reason,
        detail=answer.detail,
    )


def subscribe(runtime: Runtime, handlers: CommandHandlers) -> CommandTopic:
    """The service's subscriber on ``calls.command``: batches, each key's commands in order."""
    settings = runtime.settings
    topic = CommandTopic(
        handlers,
        settings.auth_secret.get_secret_value(),
        raw_sender(runtime.broker),
        runtime.dead_letters,
        settings.topic_prefix,
    )

    async def on_commands(message: KafkaMessage) -> None:
        await by_key_in_order(records_of(message), topic.handle)

    runtime.broker.subscriber(
        runtime.topic_name(CALLS_COMMAND),
        group_id=f"{settings.topic_prefix}poles-calls-commands",
        group_instance_id=settings.group_instance_id,
        batch=True,
        max_records=settings.consumer_max_records,
        auto_offset_reset="earliest",
        title="calls.command:subscribe",
        description="commands from the State's and the CDC's systems (JSON, bearer token in "
        "the 'authorization' header); answers on calls.command-result",
    )(on_commands)
    return topic
