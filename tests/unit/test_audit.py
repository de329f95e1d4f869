"""The auditors' tool: for every kind of record it asks the owner service's ``/changes`` route,
with the token of ``POLES_TOKEN`` and the instant given, and writes the changes as CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import httpx
import pytest

from shared import audit

EXPECTED = {
    "call": "http://127.0.0.1:8001/calls/X-1/changes",
    "dossier": "http://127.0.0.1:8001/dossiers/X-1/changes",
    "line": "http://127.0.0.1:8002/lines/X-1/changes",
    "commitment": "http://127.0.0.1:8002/commitments/X-1/changes",
    "contract": "http://127.0.0.1:8003/contracts/X-1/changes",
    "pole": "http://127.0.0.1:8003/poles/X-1/changes",
    "subscription": "http://127.0.0.1:8004/subscriptions/X-1/changes",
}
CHANGE = {
    "time": "2009-07-06T10:00:00Z",
    "type": "contracts.contract.party-signed.v1",
    "event_id": "e1",
    "who": "region:73",
    "trace_id": None,
}


def test_the_seven_kinds_and_their_owners() -> None:
    assert set(audit.KINDS) == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
async def test_each_kind_is_read_from_its_owner_and_written_as_csv(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[httpx.Request] = []

    def owner(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json=[CHANGE])

    monkeypatch.setenv("POLES_TOKEN", "t0ken")
    out = tmp_path / "changes.csv"
    argv = ["history", "--kind", kind, "--id", "X-1", "--csv", str(out)]
    args = audit.parser().parse_args([*argv, "--at", "2009-12-01T00:00:00+01:00"])

    assert await audit.history(args, transport=httpx.MockTransport(owner)) == 1

    [request] = asked
    assert str(request.url.copy_with(query=None)) == EXPECTED[kind]
    assert request.url.params["at"] == "2009-12-01T00:00:00+01:00"
    assert request.headers["Authorization"] == "Bearer t0ken"
    with out.open(encoding="utf-8") as rows:
        assert list(csv.reader(rows)) == [
            list(audit.CSV_COLUMNS),
            ["2009-07-06T10:00:00Z", CHANGE["type"], "e1", "region:73", ""],
        ]


async def test_without_a_token_the_tool_stops_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLES_TOKEN", raising=False)
    args = audit.parser().parse_args(
        ["history", "--kind", "pole", "--id", "p", "--csv", str(tmp_path / "x.csv")]
    )
    with pytest.raises(SystemExit, match="POLES_TOKEN is not set"):
        await audit.history(args, transport=httpx.MockTransport(lambda _: httpx.Response(200)))
