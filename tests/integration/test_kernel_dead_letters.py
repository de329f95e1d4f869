"""A message that fails validation lands on the dead-letter topic with headers naming its origin
and the error, and the consumer goes on with the next message."""

from __future__ import annotations

from typing import Any

import pytest

from shared.consumer import EventHandlers
from shared.service import build_runtime, create_service_app
from shared.store import AggregateStore
from shared.topics import create_topics, dead_letter_topic
from tests.integration.probe import Counted, ProbeSettings, applier
from tests.support.infra import Isolation, kafka_admin, serve
from tests.support.kafka import eventually, publish_event, publish_raw, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_an_invalid_message_is_dead_lettered_with_its_origin_and_the_next_one_is_applied(
    isolation: Isolation,
) -> None:
    await create_topics(
        kafka_admin(), (dead_letter_topic("receiver"),), prefix=isolation.topic_prefix
    )
    runtime = build_runtime(isolation.settings(ProbeSettings, service="receiver"))
    store = AggregateStore(runtime.db["totals"])
    applied: list[str] = []
    runtime.consume([Counted.topic], EventHandlers().on(Counted, applier(store, applied)))
    topic = isolation.topic_prefix + Counted.topic.name

    async with serve(create_service_app(runtime, title="receiver", description="probe")):
        await publish_raw(
            topic,
            b'{"counter_id": "counter-dlt", "by": -4}',
            key=b"counter-dlt",
            headers=[
                ("ce_id", b"poison-1"),
                ("ce_type", Counted.type_name.encode()),
                ("ce_source", b"tests"),
                ("ce_specversion", b"1.0"),
                ("ce_time", b"2009-01-01T00:00:00+00:00"),
            ],
        )
        good = await publish_event(
            isolation, Counted(counter_id="counter-dlt", by=2), key="counter-dlt"
        )
        await eventually(lambda: applied == [good.id])

        dead: list[Any] = await read_topic(
            isolation.topic_prefix + dead_letter_topic("receiver").name,
            lambda records: len(records) >= 1,
        )
        loaded = await store.load("counter-dlt")
    headers = dict(dead[0].headers)
    assert dead[0].value == b'{"counter_id": "counter-dlt", "by": -4}'
    assert headers["ce_id"] == b"poison-1"
    assert headers["dlt-origin-topic"] == topic.encode()
    assert headers["dlt-consumer"] == b"receiver"
    assert headers["dlt-error-type"] == b"ValidationError"
    assert b"by" in headers["dlt-error"]
    assert headers["dlt-attempts"] == b"1"
    assert loaded is not None
    assert loaded.state == {"total": 2}
