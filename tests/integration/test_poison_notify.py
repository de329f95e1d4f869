"""Poison on every topic notify consumes (the events of calls, funding and contracts): each
message goes to deadletter.notify with its origin and error after at most three attempts,
nothing of it reaches the store, and a valid decision sent right behind it on the same
partition is recorded for its contact within seconds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.notify.app import create_app
from services.notify.recorder import CONSUMED_TOPICS
from services.notify.settings import NotifySettings
from shared.cloudevents import CloudEvent
from tests.security.poison import poison_then_event, selected, store_snapshot
from tests.support.infra import Isolation

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_poison_is_dead_lettered_and_the_next_event_is_recorded(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(NotifySettings)

    async def recorded(_client: httpx.AsyncClient, event: CloudEvent) -> list[Any]:
        deliveries = (await store_snapshot(settings)).get("deliveries", [])
        return [d for d in deliveries if event.id in str(d)]

    event = selected(contact_email="contact@pf.example.fr")
    app = create_app(settings)
    run = await poison_then_event(isolation, settings, app, CONSUMED_TOPICS, event, recorded)
    run.check()
