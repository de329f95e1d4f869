"""Who gets in, on every route of the four services (read from each app, so a new route is
covered the day it is added): no token, an expired one, one signed with another secret or not
signed at all get 401; a role that may read but not command gets 403 on every command; a pôle
or a subscriber asking for what is another's gets 404, never its data."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import pytest_asyncio

from services.calls.tests.samples import dossier, platform_call
from shared.auth import mint_token
from tests.security.services import Service, four_services
from tests.support.infra import AUTH_SECRET, Isolation, auth

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

UNTRUSTED: dict[str, str] = {
    "expired": mint_token(AUTH_SECRET, "late", ["state"], ttl_seconds=-60),
    "another secret": mint_token("another-secret-that-is-long-enough", "forger", ["state"]),
    "not signed": jwt.encode(
        {"sub": "forger", "roles": ["state"], "exp": 2**31}, key=None, algorithm="none"
    ),
    "not a jwt": "a-bearer-that-is-no-token",
}
VALID_BODIES: dict[str, Any] = {
    "/calls": platform_call("PF-2010"),
    "/calls/{call_id}/dossiers": dossier(platform_name="Autre plate-forme"),
    "/dossiers/{dossier_id}": dossier(),
    "/dossiers/{dossier_id}/screening": {"eligible": True},
    "/dossiers/{dossier_id}/preselection-votes": {"decision": "yes"},
    "/dossiers/{dossier_id}/study": {"cost_cents": 1000, "cdc_share_cents": 500},
    "/dossiers/{dossier_id}/study/completion": {
        "business_model": "b",
        "legal_structure": "l",
        "business_plan": "p",
    },
    "/dossiers/{dossier_id}/evaluation": {"score": 15, "opinion": "an expert's opinion"},
    "/dossiers/{dossier_id}/decision": {"selected": True, "state_grant_cents": 1000},
    "/transfers/dry-run": {
        "from_line_id": "intervention.rd",
        "to_line_id": "intervention.platforms",
        "amount_cents": 1000,
        "reason": "tried first",
        "years": [{"year": 2010, "amount_cents": 1000}],
    },
}
"""Bodies for the routes that check the role after the body (calls' handler decides who may)."""
READER_WITHOUT_COMMANDS = "operator"
"""Operators read everything and command nothing (notify excepted: they manage subscriptions)."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(isolation: Isolation) -> AsyncIterator[list[Service]]:
    async with four_services(isolation) as running:
        yield running


async def test_every_route_refuses_a_missing_or_untrusted_token(services: list[Service]) -> None:
    routes = [(service, *route) for service in services for route in service.routes()]
    assert len(routes) >= 50, "the four services serve more routes than that"
    tries = {"missing": {}, **{k: {"Authorization": f"Bearer {t}"} for k, t in UNTRUSTED.items()}}
    wrong: list[str] = []
    for (service, method, path), (name, headers) in itertools.product(routes, tries.items()):
        response = await service.client.request(method, path, json={}, headers=headers)
        if response.status_code != 401:
            wrong.append(f"{service.name} {method} {path} {name}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_every_command_refuses_a_role_that_may_not_command(services: list[Service]) -> None:
    wrong: list[str] = []
    for service in services:
        if service.name == "notify":
            continue  # anyone may subscribe; the owner rule is checked below
        for method, path, template in service.commands():
            body = VALID_BODIES.get(template, {})
            response = await service.client.request(
                method, path, json=body, headers=auth(READER_WITHOUT_COMMANDS)
            )
            if response.status_code != 403:
                wrong.append(f"{service.name} {method} {path}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def by_name(services: list[Service], name: str) -> Service:
    return next(service for service in services if service.name == name)


async def test_a_pole_asking_for_another_poles_dossier_gets_404_and_nothing_of_it(
    services: list[Service],
) -> None:
    calls = by_name(services, "calls")
    dossier_id = calls.ids["dossier_id"]
    stranger = auth("pole:minalogic", subject="minalogic")
    for path in (f"/dossiers/{dossier_id}", f"/dossiers/{dossier_id}/history"):
        response = await calls.client.get(path, headers=stranger)
        assert response.status_code == 404
        assert "aerospace" not in response.text.lower()
        assert dossier_id not in response.text
    listed = await calls.client.get("/calls/PF-2008/dossiers", headers=stranger)
    assert listed.json() == []
    lead = await calls.client.get(f"/dossiers/{dossier_id}", headers=auth("pole:aerospace-valley"))
    assert lead.status_code == 200


async def test_a_subscriber_asking_for_anothers_subscription_gets_404(
    services: list[Service],
) -> None:
    notify = by_name(services, "notify")
    sub_id = notify.ids["subscription_id"]
    other = auth("pole:aerospace-valley", subject="aerospace-valley")
    for method, path in [
        ("GET", f"/subscriptions/{sub_id}"),
        ("GET", f"/subscriptions/{sub_id}/deliveries"),
        ("POST", f"/subscriptions/{sub_id}/pause"),
        ("POST", f"/subscriptions/{sub_id}/rotate-secret"),
        ("DELETE", f"/subscriptions/{sub_id}"),
    ]:
        response = await notify.client.request(method, path, headers=other)
        assert response.status_code == 404, (method, path, response.text)
        assert "veille@minalogic" not in response.text
    listed = await notify.client.get("/subscriptions", headers=other)
    assert listed.json() == []
    owner = await notify.client.get(
        f"/subscriptions/{sub_id}", headers=auth("pole:minalogic", subject="minalogic")
    )
    assert owner.status_code == 200


async def test_a_region_asking_for_another_financers_ledger_gets_404(
    services: list[Service],
) -> None:
    funding = by_name(services, "funding")
    response = await funding.client.get("/ledgers/region:82", headers=auth("region:42"))
    assert response.status_code == 404
