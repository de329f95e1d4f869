"""The money view of each pôle (funding's commitments, de-commitments and payments, each applied
once per event id through the ``funding.commitment`` subscriber on FastStream's
``TestKafkaBroker``) and the correspondents' route."""

from __future__ import annotations

from faststream.kafka import TestKafkaBroker

from services.contracts.domain.money import PoleMoney, record
from services.contracts.reactions import TOPICS, MoneyFollower, reactions
from services.contracts.settings import ContractsSettings
from services.contracts.store import MONEY, MoneyRepository
from services.contracts.tests.builders import POLE, paris
from services.contracts.tests.money import decommitted, made, paid
from shared.clock import ManualClock
from shared.events.base import EventData
from shared.service import build_runtime
from tests.support.kafka_in_memory import deliver
from tests.support.memory import MemoryAggregates

PREFIX = "contracts-money."


def test_money_is_kept_by_year_committed_less_decommitted_and_paid() -> None:
    money = PoleMoney(pole_id=POLE)
    for event in (made(POLE, (2010, 500), (2009, 300)), decommitted(POLE, 2010, 100)):
        money = record(money, event).state
    money = record(money, paid(POLE, 2009, 250)).state
    assert [(y.year, y.committed_cents, y.paid_cents) for y in money.years] == [
        (2009, 300, 250),
        (2010, 400, 0),
    ]
    assert money.view()["committed_cents"] == 700
    assert money.view()["paid_cents"] == 250


async def test_each_money_event_is_applied_once_and_those_without_a_pole_are_skipped() -> None:
    store = MemoryAggregates(MONEY)
    runtime = build_runtime(ContractsSettings(auth_secret="s" * 32, topic_prefix=PREFIX))
    runtime.consume(
        TOPICS, reactions(MoneyFollower(MoneyRepository(store, ManualClock(paris(2010, 3, 1)))))
    )
    deliveries: list[tuple[EventData, str]] = [
        (made(POLE, (2010, 500)), "e-1"),
        (made(POLE, (2010, 500)), "e-1"),
        (paid(POLE, 2010, 200), "e-2"),
        (paid(POLE, 2010, 200), "e-2"),
        (made(None, (2010, 900)), "e-3"),
    ]
    async with TestKafkaBroker(runtime.broker) as broker:
        for data, event_id in deliveries:
            await deliver(broker, data, key=POLE, topic_prefix=PREFIX, event_id=event_id)
    [document] = store.documents.values()
    money = PoleMoney.model_validate(document["state"])
    assert (money.committed_cents, money.paid_cents) == (500, 200)
    assert [p["id"] for p in document["processed"]] == ["event:e-1", "event:e-2"]
