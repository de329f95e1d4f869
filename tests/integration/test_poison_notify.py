"""Poison on every topic notify consumes (the events of calls, funding and contracts): each
message goes to deadletter.notify with its origin and error after at most three attempts,
nothing of it reaches the store, and a valid decision sent right behind it on the same
partition is recorded for its contact within seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notify.app import create_app
from services.notify.recorder import CONSUMED_TOPICS
from services.notify.settings import NotifySettings
from shared.events.calls import DossierSelected
from tests.security.poison import (
    check_dead_letter,
    dead_letters,
    quiet_store,
    send_poisons,
    store_snapshot,
)
from tests.support.infra import Isolation, serve
from tests.support.kafka import eventually, publish_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DOSSIER = "d-after-poison"


def selected() -> DossierSelected:
    return DossierSelected(
        dossier_id=DOSSIER,
        call_id="PF-2008",
        call_kind="innovation-platforms",
        pole_id="aerospace-valley",
        region_codes=["73"],
        platform_name="Plate-forme après le poison",
        contact_email="contact@pf.example.fr",
        decided_at=datetime(2009, 6, 15, 10, 0, tzinfo=UTC),
        decision_year=2009,
        state_grant_cents=100_000_000,
        requested_total_cents=100_000_000,
    )


async def test_poison_is_dead_lettered_and_the_next_event_is_recorded(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(NotifySettings)
    async with serve(create_app(settings)):
        before = await quiet_store(settings)
        started = time.monotonic()
        sent = await send_poisons(isolation, list(CONSUMED_TOPICS), key=DOSSIER.encode())
        dead = await dead_letters(isolation, "notify", sent)
        all_dead_after = time.monotonic() - started
        after_poison = await store_snapshot(settings)

        published = time.monotonic()
        event = await publish_event(isolation, selected(), key=DOSSIER)

        async def recorded() -> list[Any]:
            deliveries = (await store_snapshot(settings)).get("deliveries", [])
            return [d for d in deliveries if event.id in str(d)]

        await eventually(recorded, seconds=5)
        applied_after = time.monotonic() - published

    assert len(dead) == sent
    origins = {isolation.topic_prefix + topic.name for topic in CONSUMED_TOPICS}
    for record in dead:
        check_dead_letter(record, "notify", origins)
    assert after_poison == before
    assert all_dead_after < 10, f"{sent} poison messages took {all_dead_after:.1f}s"
    assert applied_after < 5
