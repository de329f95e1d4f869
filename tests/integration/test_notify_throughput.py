"""Notify delivering as fast as it consumes, on the real broker and store (issue 15): claims in
batches that two dispatchers never share, one event's deliveries inserted together, a slow
receiver that cannot hold up a fast one, and SMTP connections kept open and reopened."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notify.app import create_app
from services.notify.domain.delivery import Delivery, new_delivery
from services.notify.senders import MailSender
from services.notify.settings import NotifySettings
from services.notify.store import DELIVERIES, Deliveries, DeliveryLeases
from services.notify.tests.samples import preselected
from shared.clock import SystemClock
from shared.cloudevents import CloudEvent
from shared.store import AggregateStore, create_mongo_client
from tests.integration.test_notify_webhooks import settings, subscribe, webhook_receiver
from tests.support.infra import Isolation, serve
from tests.support.kafka import eventually, publish_event
from tests.support.mailbox import Mailbox

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def event(contact: str | None = None) -> CloudEvent:
    data = preselected("PF-2008", "minalogic", contact=contact)
    return CloudEvent(
        id=str(uuid.uuid4()),
        type=data.type_name,
        source="/poles/calls",
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
    )


def webhooks(count: int) -> list[Delivery]:
    now = datetime.now(UTC)
    return [
        new_delivery("sub-1", "webhook", "https://example.fr/hook", event(), now, "sub-1", "s")
        for _ in range(count)
    ]


async def test_two_dispatchers_claiming_the_same_batch_never_share_a_delivery(
    isolation: Isolation,
) -> None:
    config = isolation.settings(NotifySettings)
    client = create_mongo_client(config.mongo_url.get_secret_value(), "notify-test")
    collection = client[config.database_name][DELIVERIES]
    try:
        deliveries = Deliveries(AggregateStore(collection), SystemClock())
        batch = webhooks(30)
        assert await deliveries.record(batch[:20]) == [d.id for d in batch[:20]]
        # the same event again records nothing more; only the new ones are reported
        assert await deliveries.record(batch) == [d.id for d in batch[20:]]
        ids = [d.id for d in batch]
        one, other = DeliveryLeases(collection), DeliveryLeases(collection)
        now, lease = datetime.now(UTC), timedelta(seconds=30)
        first, second = await asyncio.gather(
            one.claim(ids, now, lease), other.claim(ids, now, lease)
        )
        again, _, _ = await one.claim_due(now, lease, 50)

        assert {c.id for c in first}.isdisjoint(c.id for c in second)
        assert sorted(c.id for c in [*first, *second]) == sorted(ids)
        assert again == []  # leased: nobody takes them again until the lease runs out
        expired, _, _ = await other.claim_due(now + 2 * lease, lease, 50)
        assert sorted(c.id for c in expired) == sorted(ids)
        assert {c.version for c in expired} == {3}  # each claim bumped the version
    finally:
        await client.close()


async def test_two_notify_instances_send_each_webhook_once(isolation: Isolation) -> None:
    call = uuid.uuid4().hex
    config = settings(isolation)
    async with (
        webhook_receiver() as receiver,
        serve(create_app(config)) as client,
        serve(create_app(config)),
    ):
        await subscribe(client, receiver.url, call, "integrator")
        sent = [
            await publish_event(isolation, preselected(call, "minalogic"), key=f"d-{n}")
            for n in range(12)
        ]
        await eventually(lambda: set(receiver.event_ids()) == {e.id for e in sent}, seconds=30)
        await asyncio.sleep(1.0)  # no late, doubled send

    assert sorted(receiver.event_ids()) == sorted(e.id for e in sent)


async def test_a_slow_receiver_does_not_hold_up_a_fast_one(isolation: Isolation) -> None:
    call = uuid.uuid4().hex
    config = settings(
        isolation, notify_max_concurrent_deliveries=4, notify_max_in_flight_per_target=2
    )
    async with (
        webhook_receiver(delay=1.5) as slow,
        webhook_receiver() as fast,
        serve(create_app(config)) as client,
    ):
        await subscribe(client, slow.url, call, "integrator")
        await subscribe(client, fast.url, call, "integrator")
        sent = [
            await publish_event(isolation, preselected(call, "minalogic"), key=f"d-{n}")
            for n in range(8)
        ]
        everything = {e.id for e in sent}
        await eventually(lambda: set(fast.event_ids()) == everything, seconds=30)
        slow_when_fast_done = len(slow.requests)
        await eventually(lambda: set(slow.event_ids()) == everything, seconds=30)

    assert slow_when_fast_done < len(sent)
    # never more than two of the slow receiver's deliveries at once: any third arrival comes
    # after the first of the two before it was answered
    arrivals = sorted(slow.arrivals)
    assert all(
        later - earlier >= 1.4 for earlier, later in zip(arrivals, arrivals[2:], strict=False)
    )


async def test_a_backlog_for_one_receiver_found_by_a_search_is_sent_without_searching_again(
    isolation: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries nobody told the dispatcher about (recorded while it was down) are found by one
    search; those it leaves because their receiver has enough in flight are then claimed by id as
    slots free. Searching again for each (a scan of every pending delivery on FerretDB) made a
    backlog quadratic and saturated the store in make chaos."""
    searches = 0
    search = DeliveryLeases.claim_due

    async def counted(self: DeliveryLeases, *args: Any, **kwargs: Any) -> Any:
        nonlocal searches
        searches += 1
        return await search(self, *args, **kwargs)

    monkeypatch.setattr(DeliveryLeases, "claim_due", counted)
    call = uuid.uuid4().hex
    config = settings(
        isolation, notify_max_concurrent_deliveries=4, notify_max_in_flight_per_target=2
    ).model_copy(update={"notify_dispatch_poll_seconds": 60.0})
    client = create_mongo_client(config.mongo_url.get_secret_value(), "notify-test")
    async with webhook_receiver(delay=0.1) as receiver:
        async with serve(create_app(config)) as api:
            sub = await subscribe(api, receiver.url, call, "integrator")
        now = datetime.now(UTC)
        backlog = [
            new_delivery(sub["id"], "webhook", receiver.url, event(), now, sub["id"], "integrator")
            for _ in range(16)
        ]
        deliveries = Deliveries(
            AggregateStore(client[config.database_name][DELIVERIES]), SystemClock()
        )
        await deliveries.record(backlog)
        searches = 0
        async with serve(create_app(config)):
            await eventually(lambda: len(receiver.event_ids()) == len(backlog), seconds=30)
    await client.close()

    assert sorted(receiver.event_ids()) == sorted(d.event_id for d in backlog)
    assert searches <= 2  # the start's search (and at most one more), not one per delivery


async def test_e_mails_reuse_one_smtp_connection_and_reconnect_when_it_drops(
    isolation: Isolation,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = settings(isolation, notify_smtp_port=port)
        sender = MailSender(config, connections=2)
        now = datetime.now(UTC)

        def mail(n: int) -> Delivery:
            address = f"contact{n}@labo.fr"
            return new_delivery(f"default:{address}", "email", address, event(address), now)

        one_by_one = [await sender.send(mail(n)) for n in range(5)]
        assert {sent.outcome for sent in one_by_one} == {"delivered"}
        assert (len(mailbox.messages), sender.connections_made) == (5, 1)

        together = await asyncio.gather(*(sender.send(mail(n)) for n in range(5, 11)))
        assert {sent.outcome for sent in together} == {"delivered"}
        assert (len(mailbox.messages), sender.connections_made) == (11, 2)

        controller.stop()  # the server drops every connection, then comes back
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        started = time.monotonic()
        assert (await sender.send(mail(11))).outcome == "delivered"
        assert (len(mailbox.messages), sender.connections_made) == (12, 3)
        assert time.monotonic() - started < 5
        await sender.close()
    finally:
        controller.stop()
