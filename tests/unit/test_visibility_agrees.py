"""One visibility rule (issue 17): for every kind of role, notify's rule (which event a
subscription's owner receives) and contracts' read APIs (what a reader is shown of a contract and
its history) give the same answer, for an unvalidated indicator report and for a validated one.

Contracts runs on in-memory aggregates behind its real read routes and role check; notify's
answer is ``may_see`` on the very events contracts published."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from services.contracts.api.reads import contract_reads
from services.contracts.domain import execution, signatures
from services.contracts.domain.terms import Roadmap
from services.contracts.store import ContractQueries
from services.contracts.tests.builders import ALL_PARTY_IDS, POLE, paris, roadmap_json, roles_for
from services.contracts.tests.in_memory import (
    InMemory,
    PublishedLog,
    command,
    draft,
    in_memory,
)
from services.notify.domain.visibility import may_see
from shared.auth import authenticator, mint_token
from shared.events.contracts import IndicatorValue

SECRET = "visibility-test-secret-of-enough-length"
CONTRACT_ID = f"contract:{POLE}:2009"
REPORTED = "contracts.contract.indicator-reported.v1"
VALIDATED = "contracts.contract.report-validated.v1"

# Aerospace Valley's contract: Midi-Pyrénées (73) and Aquitaine (72).
EXPECTED_FOR_UNVALIDATED = {
    "state": True,
    "cdc": False,
    "operator": True,
    "integrator": False,
    f"pole:{POLE}": True,
    "pole:minalogic": False,
    f"correspondent:{POLE}": True,
    "correspondent:minalogic": False,
    "region:73": True,
    "region:11": False,
    "department:31": False,
    "city:toulouse": False,
    "agency:anr": False,
}
EVERY_ROLE_KIND = sorted(EXPECTED_FOR_UNVALIDATED)


async def active_with_report(validated: bool) -> InMemory:
    service = await in_memory(paris(2009, 2, 1))
    await draft(service)
    own = command(f"pole:{POLE}")
    roadmap = Roadmap.model_validate(roadmap_json())
    await service.handlers.change(
        own, CONTRACT_ID, lambda c, now: signatures.annex_roadmap(c, roadmap, own.roles, now)
    )
    await service.handlers.change(
        own, CONTRACT_ID, lambda c, now: signatures.open_for_signature(c, own.roles, now)
    )
    service.clock.set(paris(2009, 6, 17))
    for party_id in ALL_PARTY_IDS:
        await sign(service, party_id)
    service.clock.set(paris(2010, 1, 10))
    values = [IndicatorValue(indicator_id="I1", value=375)]
    await service.handlers.change(
        own,
        CONTRACT_ID,
        lambda c, now: execution.report_indicators(c, 2009, values, own.roles, now),
    )
    if validated:
        correspondent = command(f"correspondent:{POLE}")
        await service.handlers.change(
            correspondent,
            CONTRACT_ID,
            lambda c, now: execution.validate_report(c, 2009, correspondent.roles, now),
        )
    return service


async def sign(service: InMemory, party_id: str) -> None:
    roles = roles_for(party_id)
    await service.handlers.change(
        command(*roles, subject=party_id),
        CONTRACT_ID,
        lambda c, now: signatures.sign(c, party_id, "Signatory", roles, now),
    )


def reads_of(service: InMemory) -> httpx.AsyncClient:
    app = FastAPI()
    queries = cast(ContractQueries, None)  # the routes read here never query
    app.include_router(
        contract_reads(
            service.contracts, queries, service.clock, authenticator(SECRET), PublishedLog(service)
        )
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://contracts")


async def contracts_shows(client: httpx.AsyncClient, role: str, event_type: str) -> bool:
    """Whether contracts shows ``role`` the 2009 report, in the contract and in its history, now
    and as rebuilt from its events (``?at=``, ``/changes``)."""
    headers = {"Authorization": f"Bearer {mint_token(SECRET, 'someone', [role])}"}
    path = f"/contracts/{CONTRACT_ID}"
    contract = await client.get(path, headers=headers)
    history = await client.get(f"{path}/history", headers=headers)
    as_of = await client.get(path, params={"at": "2010-12-31T00:00:00Z"}, headers=headers)
    changes = await client.get(f"{path}/changes", headers=headers)
    answers = (contract, history, as_of, changes)
    if {answer.status_code for answer in answers} == {403}:
        return False
    assert {answer.status_code for answer in answers} == {200}, [a.text for a in answers]
    in_contract = any(r["period"] == 2009 for r in contract.json()["reports"])
    in_history = any(e["type"] == event_type for e in history.json()["events"])
    in_as_of = any(r["period"] == 2009 for r in as_of.json()["reports"])
    in_changes = any(c["type"] == event_type for c in changes.json())
    assert in_contract == in_history == in_as_of == in_changes, role
    return in_contract


def published(service: InMemory, event_type: str) -> dict[str, Any]:
    [entry] = [e for e in service.contract_store.published if e.type == event_type]
    return entry.data


@pytest.mark.parametrize("role", EVERY_ROLE_KIND)
async def test_an_unvalidated_report_is_seen_by_the_same_roles_in_notify_and_contracts(
    role: str,
) -> None:
    service = await active_with_report(validated=False)
    async with reads_of(service) as client:
        shown = await contracts_shows(client, role, REPORTED)
    notified = may_see([role], REPORTED, published(service, REPORTED))

    assert shown == notified == EXPECTED_FOR_UNVALIDATED[role]


@pytest.mark.parametrize("role", EVERY_ROLE_KIND)
async def test_a_validated_report_is_public_in_notify_and_contracts(role: str) -> None:
    service = await active_with_report(validated=True)
    async with reads_of(service) as client:
        shown = await contracts_shows(client, role, VALIDATED)
    notified = may_see([role], VALIDATED, published(service, VALIDATED))

    assert shown == notified is True


@pytest.mark.parametrize("role", EVERY_ROLE_KIND)
def test_a_sent_back_report_follows_the_unvalidated_rule(role: str) -> None:
    data = {"pole_id": POLE, "region_codes": ["73", "72"], "period": 2009}
    assert (
        may_see([role], "contracts.contract.report-sent-back.v1", data)
        == EXPECTED_FOR_UNVALIDATED[role]
    )
