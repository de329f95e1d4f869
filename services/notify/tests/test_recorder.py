"""The recorder as it runs: an event arriving on a topic notify consumes, through FastStream's
test broker and the kernel's consumer, records one delivery per subscription that selects it and
per default recipient, and a redelivery of the same event records nothing more."""

from __future__ import annotations

import asyncio

from faststream.kafka import TestKafkaBroker

from services.notify.domain.delivery import delivery_id
from services.notify.domain.recipients import default_target_id
from services.notify.handlers import NewSubscription
from services.notify.recorder import CONSUMED_TOPICS
from services.notify.settings import NotifySettings
from services.notify.store import CoalescedMatching
from services.notify.tests.samples import preselected
from services.notify.tests.world import MemorySubscriptionSearch, World
from shared.auth import Principal
from shared.consumer import EventHandlers
from shared.service import build_runtime
from tests.support.kafka_in_memory import deliver

PREFIX = "notify-recorder."
PRESELECTED = preselected("PF-2008", "minalogic", contact="contact@nano.example.fr")
DOSSIER = PRESELECTED.dossier_id


def email(types: list[str], filters: dict[str, str] | None = None) -> NewSubscription:
    return NewSubscription("email", "veille@example.fr", types, filters or {})


async def test_an_event_records_one_delivery_per_matching_subscription_once() -> None:
    world = World()
    commands = world.commands()
    pole = Principal("minalogic-si", frozenset({"pole:minalogic"}))
    other_pole = Principal("cap-digital-si", frozenset({"pole:cap-digital"}))
    state = Principal("dgcis", frozenset({"state"}))
    selecting = [
        await commands.create(pole, email(["calls.dossier.*"]), None),
        await commands.create(state, email(["*"], {"call_id": "PF-2008"}), None),
    ]
    for principal, request in [
        (other_pole, email(["calls.dossier.*"])),  # not its pôle's dossier
        (state, email(["calls.call.*"])),  # another type
        (state, email(["*"], {"call_id": "FUI-8"})),  # another call
    ]:
        await commands.create(principal, request, None)
    paused = await commands.create(state, email(["*"]), None)
    await commands.pause(state, paused["id"], None)

    runtime = build_runtime(NotifySettings(auth_secret="s" * 32, topic_prefix=PREFIX))
    runtime.consume(CONSUMED_TOPICS, EventHandlers(), fallback=world.recorder().on_any_event)
    async with TestKafkaBroker(runtime.broker) as broker:
        sent = await deliver(broker, PRESELECTED, key=DOSSIER, topic_prefix=PREFIX)
        await deliver(broker, PRESELECTED, key=DOSSIER, topic_prefix=PREFIX, event_id=sent.id)

    targets = [sub["id"] for sub in selecting] + [default_target_id("contact@nano.example.fr")]
    expected = sorted(delivery_id(target, sent.id) for target in targets)
    assert sorted(world.delivery_store.documents) == expected
    assert [sorted(d.id for d in told) for told in world.recorded] == [expected]
    recorded = world.delivery(delivery_id(selecting[0]["id"], sent.id))
    assert (recorded.event_id, recorded.event_type, recorded.status) == (
        sent.id,
        PRESELECTED.type_name,
        "pending",
    )
    assert recorded.event["data"]["dossier_id"] == DOSSIER


async def test_concurrent_events_ask_for_their_subscriptions_in_one_query() -> None:
    world = World()
    commands = world.commands()
    state = Principal("dgcis", frozenset({"state"}))
    dossiers = await commands.create(state, email(["calls.dossier.*"]), None)
    await commands.create(state, email(["funding.financing.*"]), None)
    search = MemorySubscriptionSearch(world.subscription_store)
    matching = CoalescedMatching(search)

    dossier, financing, dossier_again = await asyncio.gather(
        matching.matching(PRESELECTED.type_name),
        matching.matching("funding.financing.opened.v1"),
        matching.matching(PRESELECTED.type_name),
    )

    assert search.queries == 1
    assert [s.id for s in dossier] == [s.id for s in dossier_again] == [dossiers["id"]]
    assert [s.event_types for s in financing] == [["funding.financing."]]
    assert await matching.matching("contracts.contract.signed.v1") == []
    assert search.queries == 2
