"""Poison on every topic funding consumes (calls.dossier, contracts.contract): each message goes
to deadletter.funding with its origin and error after at most three attempts, nothing of it
reaches the store, and a valid decision sent right behind it on the same partition is applied
within seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from services.funding.app import create_app
from services.funding.reactions import TOPICS
from services.funding.settings import FundingSettings
from shared.events.calls import DossierSelected
from tests.security.poison import (
    check_dead_letter,
    dead_letters,
    quiet_store,
    send_poisons,
    store_snapshot,
)
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, publish_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DOSSIER = "d-after-poison"


def selected() -> DossierSelected:
    return DossierSelected(
        dossier_id=DOSSIER,
        call_id="PF-2008",
        call_kind="innovation-platforms",
        pole_id="aerospace-valley",
        region_codes=["73", "72"],
        platform_name="Plate-forme après le poison",
        decided_at=datetime(2009, 6, 15, 10, 0, tzinfo=UTC),
        decision_year=2009,
        state_grant_cents=100_000_000,
        requested_total_cents=100_000_000,
    )


async def test_poison_is_dead_lettered_and_the_next_event_is_applied(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(FundingSettings)
    async with serve(create_app(settings)) as client:
        before = await quiet_store(settings)
        started = time.monotonic()
        sent = await send_poisons(isolation, list(TOPICS), key=DOSSIER.encode())
        dead = await dead_letters(isolation, "funding", sent)
        all_dead_after = time.monotonic() - started
        after_poison = await store_snapshot(settings)

        published = time.monotonic()
        await publish_event(isolation, selected(), key=DOSSIER)

        async def committed() -> list[Any]:
            response = await client.get("/commitments", headers=auth("operator"))
            return [c for c in response.json() if c.get("dossier_id") == DOSSIER]

        await eventually(committed, seconds=5)
        applied_after = time.monotonic() - published

    assert len(dead) == sent
    origins = {isolation.topic_prefix + topic.name for topic in TOPICS}
    for record in dead:
        check_dead_letter(record, "funding", origins)
    assert after_poison == before
    assert all_dead_after < 10, f"{sent} poison messages took {all_dead_after:.1f}s"
    assert applied_after < 5
