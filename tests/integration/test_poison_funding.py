"""Poison on every topic funding consumes (calls.dossier, contracts.contract): each message goes
to deadletter.funding with its origin and error after at most three attempts, nothing of it
reaches the store, and a valid decision sent right behind it on the same partition is applied
within seconds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.funding.app import create_app
from services.funding.reactions import TOPICS
from services.funding.settings import FundingSettings
from shared.cloudevents import CloudEvent
from tests.security.poison import DOSSIER, poison_then_event, selected
from tests.support.infra import Isolation, auth

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def committed(client: httpx.AsyncClient, _event: CloudEvent) -> list[Any]:
    response = await client.get("/commitments", headers=auth("operator"))
    return [c for c in response.json() if c.get("dossier_id") == DOSSIER]


async def test_poison_is_dead_lettered_and_the_next_event_is_applied(
    isolation: Isolation,
) -> None:
    settings = isolation.settings(FundingSettings)
    event = selected(region_codes=["73", "72"])
    run = await poison_then_event(
        isolation, settings, create_app(settings), TOPICS, event, committed
    )
    run.check()
