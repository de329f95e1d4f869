"""Schemathesis against a service in this process: cases generated from the app's own OpenAPI
document, sent through the same in-process client as every integration test (the app's lifespan
runs on the real test broker and store), each answer checked by ``not_a_server_error``.

Cases are generated first (Hypothesis is synchronous) and sent afterwards on the test's event
loop, where the app's Mongo and Kafka clients live. Both valid and invalid data are generated;
each case is sent once per token, so the roles' code paths all see the garbage.
"""

from __future__ import annotations

import contextlib
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

MAX_EXAMPLES = 12
"""Per operation and generation mode: about 30 s per service with the tokens below."""


def cases_for(app: FastAPI, max_examples: int = MAX_EXAMPLES) -> list[Case[Any]]:
    schema = schemathesis.openapi.from_dict(app.openapi())
    cases: list[Case[Any]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the app's OpenAPI document is invalid: {result.err()}"
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=max_examples,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def collect(case: Case[Any]) -> None:
                cases.append(case)

            with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no input)
                collect()
    return cases


async def send(
    client: httpx.AsyncClient, case: Case[Any], headers: dict[str, str]
) -> httpx.Response:
    request: dict[str, Any] = case.as_transport_kwargs(
        base_url=str(client.base_url), headers=headers
    )
    body: dict[str, Any] = {}
    if "json" in request:
        body["json"] = request["json"]
    elif request.get("data") is not None:
        data = request["data"]
        body["content"] = data if isinstance(data, bytes | str) else str(data)
    return await client.request(
        request["method"],
        request["url"],
        params=request.get("params"),
        headers=request["headers"],
        **body,
    )


@dataclass
class Report:
    """What the run got: the server errors (with a curl line each) and a count by status."""

    failures: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def check(self) -> None:
        assert not self.failures, "\n\n".join(self.failures[:5])
        assert any(200 <= code < 300 for code in self.statuses), self.statuses
        assert any(400 <= code < 500 for code in self.statuses), self.statuses


async def fuzz(app: FastAPI, client: httpx.AsyncClient, tokens: list[dict[str, str]]) -> Report:
    """Send every generated case with every token; collect 5xx answers and crashes."""
    report = Report()
    for case in cases_for(app):
        for headers in tokens:
            try:
                response = await send(client, case, headers)
                report.statuses[response.status_code] += 1
                case.validate_response(response, checks=[not_a_server_error])
            except Exception:
                report.failures.append(
                    f"{case.operation.label}\n{case.as_curl_command()}\n"
                    f"{traceback.format_exc(limit=6)}"
                )
    return report
