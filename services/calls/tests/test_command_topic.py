"""The ``calls.command`` subscriber as the service wires it, driven through FastStream's
``TestKafkaBroker`` (no broker runs) on in-memory aggregates: a command is answered on
``calls.command-result``, accepted with what HTTP answers or rejected with the kernel's answer to
the refusal; a message with no ``command_id`` goes to the dead-letter topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.calls import command_topic
from services.calls.settings import CallsSettings
from services.calls.tests.samples import DEADLINE, IN_TIME, dossier, platform_call
from services.calls.tests.world import World
from shared.auth import mint_token
from shared.cloudevents import CloudEvent
from shared.consumer import records_of
from shared.service import build_runtime

SECRET = "a-secret-for-the-command-topic-tests"
PREFIX = "calls-topic."


def bearer(*roles: str, subject: str = "dge") -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(SECRET, subject, list(roles))}"}


STATE = bearer("state")
LEAD = bearer("pole:aerospace-valley", subject="aerospace-valley")


@dataclass
class Topic:
    """The service's command subscriber on a test broker, and what it sent back."""

    world: World
    broker: Any
    answers: list[CloudEvent] = field(default_factory=list)
    dead: list[bytes] = field(default_factory=list)

    async def send(self, body: Any, headers: dict[str, str], key: bytes = b"k") -> None:
        value = body if isinstance(body, bytes) else orjson.dumps(body)
        await self.broker.publish(value, topic=f"{PREFIX}calls.command", key=key, headers=headers)

    def answer_to(self, command_id: str) -> CloudEvent:
        [answer] = [a for a in self.answers if a.data["command_id"] == command_id]
        return answer


@pytest.fixture
async def topic() -> AsyncIterator[Topic]:
    runtime = build_runtime(CallsSettings(auth_secret=SECRET, topic_prefix=PREFIX))
    world = World(IN_TIME)
    runtime.clock = world.clock
    command_topic.subscribe(runtime, world.handlers)
    captured = Topic(world, runtime.broker)

    @runtime.broker.subscriber(f"{PREFIX}calls.command-result")
    async def answers(message: KafkaMessage) -> None:
        [record] = records_of(message)
        captured.answers.append(CloudEvent.from_kafka(record.headers, record.value))

    @runtime.broker.subscriber(f"{PREFIX}deadletter.calls")
    async def dead_letters(message: KafkaMessage) -> None:
        captured.dead.extend(record.value for record in records_of(message))

    async with TestKafkaBroker(runtime.broker) as broker:
        captured.broker = broker
        yield captured


def open_call(command_id: str) -> dict[str, Any]:
    return {"command_id": command_id, "type": "open-call", "call": platform_call()}


async def test_a_command_is_applied_and_answered_on_the_result_topic(topic: Topic) -> None:
    await topic.send(open_call("open-1"), STATE)

    answer = topic.answer_to("open-1")
    assert (answer.type, answer.source, answer.subject) == (
        "calls.command.accepted.v1",
        "/poles/calls",
        "open-1",
    )
    assert answer.data["status_code"] == 201
    assert answer.data["answer"]["call_id"] == "PF-2008"
    [opened] = topic.world.calls.published
    assert (opened.type, opened.source, opened.key) == (
        "calls.call.opened.v1",
        "/poles/calls",
        "PF-2008",
    )


async def test_a_repeated_command_gets_the_same_answer_and_changes_nothing(topic: Topic) -> None:
    await topic.send(open_call("open-1"), STATE)
    submit = {"command_id": "s-1", "type": "submit-dossier", "call_id": "PF-2008"}
    for _ in range(2):
        await topic.send({**submit, "content": dossier()}, LEAD)

    first, again = [a for a in topic.answers if a.data["command_id"] == "s-1"]
    assert first.id == again.id
    assert first.data == again.data
    assert first.data["answer"]["receipt_number"] == "PF-2008-0001"
    assert topic.world.published() == ["calls.call.opened.v1", "calls.dossier.submitted.v1"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (open_call("anon"), {}, 401, "unauthorized"),
        (open_call("forged"), {"authorization": "Bearer forged"}, 401, "unauthorized"),
        ({"command_id": "what", "type": "explode-call"}, STATE, 422, "invalid"),
        (open_call("by-a-pole"), LEAD, 403, "forbidden"),
    ],
)
async def test_a_refused_command_is_answered_with_its_status_and_reason(
    topic: Topic, body: dict[str, Any], headers: dict[str, str], status: int, reason: str
) -> None:
    await topic.send(body, headers)

    answer = topic.answer_to(body["command_id"])
    assert answer.type == "calls.command.rejected.v1"
    assert (answer.data["status_code"], answer.data["reason"]) == (status, reason)
    assert topic.world.published() == []
    assert topic.world.metric("poles_commands_rejected_total", reason=reason) == 1


async def test_a_command_outside_the_window_is_a_conflict_with_the_http_detail(
    topic: Topic,
) -> None:
    await topic.send(open_call("open-1"), STATE)
    topic.world.clock.set(DEADLINE)
    late = {"command_id": "late", "type": "submit-dossier", "call_id": "PF-2008"}
    await topic.send({**late, "content": dossier()}, LEAD)

    rejection = topic.answer_to("late").data
    assert (rejection["status_code"], rejection["reason"]) == (409, "window-closed")
    assert "deadline" in rejection["detail"]


async def test_an_invalid_body_names_the_fields_as_http_does(topic: Topic) -> None:
    await topic.send({"command_id": "bad", "type": "submit-dossier", "call_id": "X"}, LEAD)

    [problem] = topic.answer_to("bad").data["detail"]
    assert problem["loc"] == ["body", "submit-dossier", "content"]
    assert problem["type"] == "missing"


async def test_a_message_without_a_command_id_goes_to_the_dead_letters(topic: Topic) -> None:
    unanswerable = orjson.dumps({"type": "open-call", "call": platform_call()})
    await topic.send(unanswerable, STATE)

    assert topic.dead == [unanswerable]
    assert topic.answers == []
    assert topic.world.published() == []
