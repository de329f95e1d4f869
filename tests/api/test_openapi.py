"""Schemathesis on each service's OpenAPI: no operation answers a server error, whatever the body,
path, query or headers, for every role the service serves. Each service runs on its own topics,
seeded (tests/security/services.py) so that generated ids sometimes hit: an open call and a
dossier, a commitment to pay and give back, a drafted contract, a subscription to pause and
replay."""

from __future__ import annotations

import pytest

from services.contracts.tests.builders import POLE
from tests.api.fuzz import fuzz
from tests.security.services import one_service
from tests.support.infra import auth, isolated_topics

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ROLES = {
    "calls": ["state", "cdc", "pole:aerospace-valley"],
    "contracts": ["state", "region:73", f"pole:{POLE}"],
    "funding": ["state", "operator", "region:82", "pole:minalogic"],
    "notify": ["operator", "state", "pole:minalogic"],
}


@pytest.mark.parametrize("service", list(ROLES))
async def test_no_operation_answers_a_server_error(service: str) -> None:
    async with one_service(await isolated_topics(), service) as running:
        tokens = [auth(role) for role in ROLES[service]]
        report = await fuzz(running.app, running.client, tokens)
    report.check()
