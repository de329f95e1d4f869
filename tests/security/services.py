"""The four services, built in this process on the real test broker and store, with a small
body limit; and every route each one serves, read from the app so new routes are covered."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from services.calls.app import create_app as calls_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import IN_TIME, dossier, platform_call
from services.contracts.app import create_app as contracts_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import POLE, parties_json, terms_json
from services.funding.app import create_app as funding_app
from services.funding.settings import FundingSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.clock import ManualClock
from shared.settings import ServiceSettings
from tests.support.infra import Isolation, auth, serve

MAX_BODY_BYTES = 4096
PUBLIC = {"/health/live", "/health/ready", "/metrics", "/asyncapi.json"}
"""What anyone may read: liveness, readiness, metrics (scraped by Prometheus), the catalogue."""


@dataclass
class Service:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    ids: dict[str, str]
    """Path parameters that name something that exists (seeded), by parameter name."""

    def routes(self) -> list[tuple[str, str]]:
        """(method, path) of every route that needs a token, with its parameters filled in."""
        return [(method, self.path(template)) for method, template in self.templates()]

    def templates(self) -> list[tuple[str, str]]:
        return [
            (method, route.path or "")
            for route in iter_route_contexts(self.app.routes)
            if isinstance(route.original_route, APIRoute) and route.path not in PUBLIC
            for method in sorted(route.methods or ())
        ]

    def commands(self) -> list[tuple[str, str, str]]:
        """(method, path, path template) of every route that changes something."""
        return [
            (method, self.path(template), template)
            for method, template in self.templates()
            if method != "GET"
        ]

    def path(self, template: str) -> str:
        return re.sub(r"{(\w+)}", lambda m: self.ids.get(m.group(1), "unknown"), template)


Seed = Callable[[httpx.AsyncClient], Any]


async def seed_calls(client: httpx.AsyncClient) -> dict[str, str]:
    await client.post("/calls", json=platform_call(), headers=auth("state"))
    submitted = await client.post(
        "/calls/PF-2008/dossiers", json=dossier(), headers=auth("pole:aerospace-valley")
    )
    return {"call_id": "PF-2008", "dossier_id": submitted.json()["dossier_id"]}


async def seed_funding(client: httpx.AsyncClient) -> dict[str, str]:
    committed = await client.post(
        "/lines/animation/commitments",
        json={
            "beneficiary": {"kind": "pole", "id": "minalogic"},
            "years": [{"year": 2009, "amount_cents": 100_000_000}],
            "pole_id": "minalogic",
            "reason": "animation 2009",
        },
        headers={**auth("state"), "Idempotency-Key": "seed"},
    )
    return {
        "line_id": "animation",
        "commitment_id": committed.json()["commitment_id"],
        "financer": "region:82",
        "dimension": "line",
    }


async def seed_contracts(client: httpx.AsyncClient) -> dict[str, str]:
    drafted = await client.post(
        "/contracts",
        json={"pole_id": POLE, "parties": parties_json(), "terms": terms_json()},
        headers=auth(f"pole:{POLE}"),
    )
    return {
        "contract_id": drafted.json()["contract_id"],
        "pole_id": POLE,
        "period": "2009",
        "milestone_id": "M1",
    }


async def seed_notify(client: httpx.AsyncClient) -> dict[str, str]:
    created = await client.post(
        "/subscriptions",
        json={"channel": "email", "target": "veille@minalogic.example", "event_types": ["*"]},
        headers=auth("pole:minalogic", subject="minalogic"),
    )
    return {"subscription_id": created.json()["id"], "delivery_id": "unknown"}


def calls_with_clock(settings: CallsSettings) -> FastAPI:
    """The calls service at a time its sample call is open."""
    return calls_app(settings, clock=ManualClock(IN_TIME))


SERVICES: dict[str, tuple[Callable[[Any], FastAPI], type[ServiceSettings], Seed]] = {
    "calls": (calls_with_clock, CallsSettings, seed_calls),
    "funding": (funding_app, FundingSettings, seed_funding),
    "contracts": (contracts_app, ContractsSettings, seed_contracts),
    "notify": (notify_app, NotifySettings, seed_notify),
}
"""Each service by name: how its app is built from its settings, and how it is seeded."""


@asynccontextmanager
async def one_service(isolation: Isolation, name: str, **overrides: Any) -> AsyncIterator[Service]:
    """The service running on ``isolation``'s topics, with something in its store."""
    build, settings, seed = SERVICES[name]
    app = build(isolation.settings(settings, **overrides))
    async with serve(app) as client:
        yield Service(name, app, client, await seed(client))


@asynccontextmanager
async def four_services(isolation: Isolation, **overrides: Any) -> AsyncIterator[list[Service]]:
    """The four services running, each with something in its store to be refused access to."""
    values = {"max_body_bytes": MAX_BODY_BYTES, **overrides}
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(one_service(isolation, name, **values))
            for name in SERVICES
        ]
