"""The dispatcher's bound on concurrent sends, and mail over kept-open SMTP connections (on a
loopback SMTP sink)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry

from services.notify.dispatcher import Dispatcher
from services.notify.domain.backoff import Outcome
from services.notify.domain.delivery import Delivery
from services.notify.metrics import NotifyMetrics
from services.notify.senders import MailSender, Sent, WebhookSender
from services.notify.settings import NotifySettings
from services.notify.store import DeliveryLeases
from services.notify.tests.world import NOW, World
from tests.support.kafka import eventually
from tests.support.sinks import SmtpSink


def delivery(n: int, channel: str = "webhook") -> Delivery:
    return Delivery.model_validate(
        {
            "id": f"msg_{n}",
            "channel": channel,
            "target": "https://hooks.example.fr/x" if channel == "webhook" else f"p{n}@labo.fr",
            "event": {"id": f"e-{n}", "data": {}},
            "event_id": f"e-{n}",
            "event_type": "calls.dossier.preselected.v1",
            "next_attempt_at": NOW,
            "created_at": NOW,
        }
    )


class MemoryLeases(DeliveryLeases):
    """Claims on the world's deliveries: those pending and not leased."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def claim(self, ids: Iterable[str], now: datetime, lease: timedelta) -> list[Delivery]:
        claimed = []
        for delivery_id in ids:
            found = self.world.delivery(delivery_id)
            if found.status == "pending" and found.lease_until < now:
                document = self.world.delivery_store.documents[delivery_id]
                document["state"]["lease_until"] = now + lease
                document["version"] += 1
                claimed.append(self.world.delivery(delivery_id))
        return claimed

    async def claim_due(
        self, now: datetime, lease: timedelta, limit: int
    ) -> tuple[list[Delivery], datetime | None]:
        return [], None


class GatedWebhooks(WebhookSender):
    """Holds every send until the gate opens; notes how many were in flight at most."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.in_flight = 0
        self.most = 0
        self.sent = 0

    async def close(self) -> None:
        pass

    async def send(self, delivery: Delivery, secrets: list[str]) -> Sent:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        self.sent += 1
        return Sent(Outcome.DELIVERED, 200)


async def test_the_dispatcher_sends_at_most_its_bound_at_once() -> None:
    world = World()
    for n in range(10):
        assert await world.deliveries.record(delivery(n))
    settings = NotifySettings(auth_secret="x" * 32, notify_max_concurrent_deliveries=3)
    webhooks = GatedWebhooks()
    dispatcher = Dispatcher(
        settings,
        world.deliveries,
        MemoryLeases(world),
        world.subscriptions,
        webhooks,
        MailSender(settings),
        NotifyMetrics(CollectorRegistry()),
        world.clock,
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        dispatcher.wake([f"msg_{n}" for n in range(10)])
        await eventually(lambda: webhooks.in_flight == 3, seconds=5, interval=0.01)
        await asyncio.sleep(0.1)
        assert (webhooks.in_flight, webhooks.sent) == (3, 0)
        webhooks.gate.set()
        await eventually(lambda: webhooks.sent == 10, seconds=5, interval=0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert webhooks.most == 3
    assert {world.delivery(f"msg_{n}").status for n in range(10)} == {"delivered"}


async def test_mail_goes_over_a_few_kept_open_connections_with_its_message_id() -> None:
    sink = SmtpSink()
    await sink.start()
    settings = NotifySettings(
        auth_secret="x" * 32,
        notify_smtp_port=sink.port,
        notify_smtp_connections=2,
        notify_request_timeout_seconds=5.0,
    )
    mail = MailSender(settings)
    try:
        sent = await asyncio.gather(*(mail.send(delivery(n, "email")) for n in range(20)))
        for n in range(20, 25):
            sent.append(await mail.send(delivery(n, "email")))
    finally:
        await mail.close()
        await sink.stop()
    assert {s.outcome for s in sent} == {Outcome.DELIVERED}
    assert sink.by_message_id == {f"<msg_{n}@notify.poles>": 1 for n in range(25)}
    assert sink.connections <= 2


async def test_a_mail_connection_closed_while_idle_is_replaced_without_losing_the_mail() -> None:
    sink = SmtpSink()
    await sink.start()
    settings = NotifySettings(
        auth_secret="x" * 32, notify_smtp_port=sink.port, notify_request_timeout_seconds=5.0
    )
    mail = MailSender(settings)
    try:
        first = await mail.send(delivery(1, "email"))
        for smtp in mail._idle:  # the server hung up on the idle connection
            smtp.close()
        second = await mail.send(delivery(2, "email"))
    finally:
        await mail.close()
        await sink.stop()
    assert (first.outcome, second.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
    assert sink.by_message_id == {"<msg_1@notify.poles>": 1, "<msg_2@notify.poles>": 1}
    assert sink.connections == 2
