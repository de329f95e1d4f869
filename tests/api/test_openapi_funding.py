"""Schemathesis on the funding service's OpenAPI: no operation answers a server error, whatever
the body, path, query or headers, for the State, an operator, a region or a pôle."""

from __future__ import annotations

import pytest

from services.funding.app import create_app
from services.funding.settings import FundingSettings
from tests.api.fuzz import fuzz
from tests.support.infra import Isolation, auth, serve

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_no_operation_answers_a_server_error(isolation: Isolation) -> None:
    app = create_app(isolation.settings(FundingSettings))
    async with serve(app) as client:
        # A commitment to find, pay and give back.
        await client.post(
            "/lines/animation/commitments",
            json={
                "beneficiary": {"kind": "pole", "id": "minalogic"},
                "years": [{"year": 2009, "amount_cents": 100_000_000}],
                "pole_id": "minalogic",
                "reason": "animation 2009",
            },
            headers={**auth("state"), "Idempotency-Key": "seed"},
        )
        tokens = [auth("state"), auth("operator"), auth("region:82"), auth("pole:minalogic")]
        report = await fuzz(app, client, tokens)
    report.check()
