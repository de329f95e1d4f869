"""Poison on calls.command, the one topic calls consumes. Commands are not CloudEvents: a
message from which no ``command_id`` can be read (not JSON, no id, a 900 KB array, an empty
record) has nobody to answer and goes to deadletter.calls at once; one that names its
``command_id`` but is wrong (unknown type, wrong schema, no token) gets a rejection on
calls.command-result that its sender can read. Neither reaches the store, and a valid command
sent right behind them on the same partition is applied within seconds."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import IN_TIME, platform_call
from shared.clock import ManualClock
from shared.cloudevents import CloudEvent
from tests.security import poison
from tests.support.infra import Isolation, auth, serve, token
from tests.support.kafka import eventually, publish_raw, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

KEY = b"poisoned-partition"
STATE = [("authorization", f"Bearer {token('state')}".encode())]
UNANSWERABLE = [
    b'{"command_id": "c-1", "type": ',
    orjson.dumps({"type": "open-call", "call": platform_call()}),
    orjson.dumps(["x" * 1000] * (poison.HUGE // 1000)),
    b"",
]
ANSWERABLE: dict[str, tuple[dict[str, Any], list[tuple[str, bytes]], int]] = {
    "unknown-type": ({"command_id": "p-type", "type": "explode-call"}, STATE, 422),
    "wrong-schema": ({"command_id": "p-schema", "type": "open-call", "call": 3}, STATE, 422),
    "no-token": ({"command_id": "p-anon", "type": "open-call", "call": platform_call()}, [], 401),
}


async def test_poison_is_dead_lettered_or_rejected_and_the_next_command_is_applied(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(CallsSettings)
    commands = isolation.topic_prefix + "calls.command"
    async with serve(create_app(settings, clock=ManualClock(IN_TIME))) as client:
        before = await poison.quiet_store(settings)
        started = time.monotonic()
        for value in UNANSWERABLE:
            await publish_raw(commands, value, KEY, STATE)
        for body, headers, _ in ANSWERABLE.values():
            await publish_raw(commands, orjson.dumps(body), KEY, headers)
        dead = await poison.dead_letters(isolation, "calls", len(UNANSWERABLE))
        answers = await read_events(
            isolation, "calls.command-result", lambda events: len(events) >= len(ANSWERABLE)
        )
        all_handled_after = time.monotonic() - started
        after_poison = await poison.store_snapshot(settings)

        published = time.monotonic()
        valid = {"command_id": "after-poison", "type": "open-call", "call": platform_call()}
        await publish_raw(commands, orjson.dumps(valid), KEY, STATE)

        async def opened() -> bool:
            return (await client.get("/calls/PF-2008", headers=auth("state"))).status_code == 200

        await eventually(opened, seconds=5)
        applied_after = time.monotonic() - published

    assert [record.value for record in dead] == UNANSWERABLE
    for record in dead:
        poison.check_dead_letter(record, "calls", {commands})
    assert rejections(answers) == {
        body["command_id"]: status for body, _, status in ANSWERABLE.values()
    }
    assert after_poison == before
    assert all_handled_after < 10
    assert applied_after < 5


def rejections(answers: list[CloudEvent]) -> dict[str, Any]:
    return {
        e.data["command_id"]: e.data["status_code"]
        for e in answers
        if e.type == "calls.command.rejected.v1"
    }
