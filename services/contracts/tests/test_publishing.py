"""What the contracts service publishes, through FastStream's ``TestKafkaBroker``: the events a
command saved are sent by the kernel's outbox publisher, on the service's broker, as CloudEvents
from ``/poles/contracts`` keyed by their aggregate (contracts consumes no topic: the relay's
publisher is its only Kafka path)."""

from __future__ import annotations

from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import POLE, paris
from services.contracts.tests.in_memory import command, draft, in_memory
from shared.cloudevents import CloudEvent
from shared.consumer import records_of
from shared.events.contracts import ContractDrafted, PoleLabelled
from shared.kafka import outbox_publisher
from shared.reference.poles import all_poles
from shared.service import build_runtime

PREFIX = "component."


async def test_saved_events_are_published_as_cloudevents_of_the_service() -> None:
    service = await in_memory(paris(2010, 5, 11))
    await draft(service)
    ecotech = next(p.id for p in all_poles() if p.ecotech)
    await service.handlers.decide_label(
        command("state"), ecotech, "labelled", paris(2010, 5, 11).date(), "CIADT of 11 May 2010"
    )
    runtime = build_runtime(ContractsSettings(auth_secret="s" * 32, topic_prefix=PREFIX))
    received: list[tuple[str, bytes, CloudEvent]] = []

    @runtime.broker.subscriber(PREFIX + "contracts.contract", PREFIX + "contracts.pole")
    async def capture(message: KafkaMessage) -> None:
        for record in records_of(message):
            event = CloudEvent.from_kafka(record.headers, record.value)
            received.append((record.topic, record.key, event))

    saved = service.contract_store.published + service.pole_store.published
    async with TestKafkaBroker(runtime.broker):
        publish = outbox_publisher(runtime.broker, PREFIX)
        for entry in saved:
            await publish(entry)

    assert [(topic, key, event.type, event.source) for topic, key, event in received] == [
        (
            PREFIX + "contracts.contract",
            f"contract:{POLE}:2009".encode(),
            ContractDrafted.type_name,
            "/poles/contracts",
        ),
        (PREFIX + "contracts.pole", ecotech.encode(), PoleLabelled.type_name, "/poles/contracts"),
    ]
    assert [event.id for _, _, event in received] == [entry.id for entry in saved]
    assert received[0][2].data == saved[0].data
