"""Schemathesis on the contracts service's OpenAPI: no operation answers a server error,
whatever the body, path, query or headers, for the State, a region or a pôle."""

from __future__ import annotations

import pytest

from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import POLE, parties_json, terms_json
from tests.api.fuzz import fuzz
from tests.support.infra import Isolation, auth, serve

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_no_operation_answers_a_server_error(isolation: Isolation) -> None:
    app = create_app(isolation.settings(ContractsSettings))
    async with serve(app) as client:
        # A drafted contract to find and change.
        await client.post(
            "/contracts",
            json={"pole_id": POLE, "parties": parties_json(), "terms": terms_json()},
            headers=auth(f"pole:{POLE}"),
        )
        tokens = [auth("state"), auth("region:73"), auth(f"pole:{POLE}")]
        report = await fuzz(app, client, tokens)
    report.check()
