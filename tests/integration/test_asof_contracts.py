"""As-of reads of contracts and pôles on the real broker and store: a contract drafted, annexed,
opened, signed party by party, a milestone done, a report filed and validated, amended; a
group-3 pôle renewed by the CIADT. At each instant between their changes, the state rebuilt from
the log equals what the live API showed then (on the fields the events carry); the present
equals the live record; the changes are listed once each, in order, with who made them; a role
that may not see a report not validated yet sees it in neither; the auditors' tool writes them
as CSV."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.contracts.app import create_app
from services.contracts.domain.contract import EDITABLE
from services.contracts.settings import ContractsSettings
from services.contracts.tests.builders import POLE, paris, parties_json, roadmap_json, terms_json
from services.contracts.tests.http_flow import CONTRACT_ID, POLE_AUTH, SIGNERS
from shared import audit
from shared.clock import ManualClock
from shared.reference.poles import RENEWED_2010
from tests.support.infra import Isolation, auth, serve, token
from tests.support.kafka import eventually, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OPERATOR = auth("operator")
STATE = auth("state", subject="dgcis")
CDC = auth("cdc")  # does not see a report before its validation
PATH = f"/contracts/{CONTRACT_ID}"
RENEWED = RENEWED_2010[0]
STEPS = [
    "drafted",
    "roadmap-annexed",
    "opened-for-signature",
    *["party-signed"] * (len(SIGNERS) - 1),
    "party-signed",
    "signed",
    "activated",
    "milestone-completed",
    "indicator-reported",
    "report-validated",
    "amended",
]
WHO_SIGNED = ["state", f"pole:{POLE}", "region:73", "region:72", "state"]  # department: on paper


def carried(rebuilt: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The live view's fields the rebuilt one has; its versions as the events tell them: without
    their terms, the financing once the contract is opened."""
    assert set(rebuilt) <= set(live), set(rebuilt) - set(live)
    shown = {name: live[name] for name in rebuilt}
    opened = live["status"] not in EDITABLE
    shown["versions"] = [
        {
            **{name: version[name] for name in rebuilt["versions"][0] if name != "financing"},
            "financing": version["terms"]["financing"] if opened else None,
        }
        for version in live["versions"]
    ]
    return shown


async def test_a_contract_and_a_pole_as_they_stood_at_each_instant_rebuilt_from_the_log(
    isolation: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(paris(2009, 2, 1, 10))
    settings = isolation.settings(ContractsSettings, contracts_clock_seconds=3600)
    app = create_app(settings, clock=clock)
    seen: list[tuple[datetime, dict[str, Any]]] = []  # (instant of a change, the live view then)
    async with serve(app) as client:
        pole_path = f"/poles/{RENEWED}"
        pole_before = (await client.get(pole_path, headers=OPERATOR)).json()

        async def step(when: datetime, method: str, url: str, headers: Any, **body: Any) -> None:
            clock.set(when)
            response = await client.request(method, url, headers=headers, **body)
            assert response.status_code in (200, 201), response.text
            seen.append((when, (await client.get(PATH, headers=OPERATOR)).json()))

        draft = {"pole_id": POLE, "parties": parties_json(), "terms": terms_json()}
        await step(paris(2009, 2, 1, 10), "POST", "/contracts", POLE_AUTH, json=draft)
        roadmap = roadmap_json()
        await step(paris(2009, 3, 2), "PUT", f"{PATH}/roadmap", POLE_AUTH, json=roadmap)
        await step(paris(2009, 4, 1), "POST", f"{PATH}/open-for-signature", POLE_AUTH)
        for day, (party_id, headers) in enumerate(SIGNERS.items()):
            signing = {"party_id": party_id, "signatory_name": "Signatory"}
            await step(paris(2009, 6, 1 + day), "POST", f"{PATH}/signatures", headers, json=signing)
        await step(paris(2009, 9, 1), "POST", f"{PATH}/milestones/M1/done", POLE_AUTH)
        report = {"period": 2009, "values": [{"indicator_id": "I1", "value": 375}]}
        await step(paris(2010, 1, 10), "POST", f"{PATH}/reports", POLE_AUTH, json=report)
        unvalidated_at = clock.now()
        correspondent = auth(f"correspondent:{POLE}", subject="correspondent")
        await step(paris(2010, 1, 20), "POST", f"{PATH}/reports/2009/validation", correspondent)

        clock.set(paris(2010, 5, 11, 9))
        ciadt = {"decision": "renewed", "decided_on": "2010-05-11", "reference": "CIADT"}
        decided = await client.post(f"{pole_path}/label-decisions", json=ciadt, headers=STATE)
        assert decided.status_code == 200, decided.text
        pole_after = (await client.get(pole_path, headers=OPERATOR)).json()

        amendment = {"reason": "to 2012", "period_end_year": 2012, "terms": terms_json(2012)}
        await step(paris(2010, 6, 1), "POST", f"{PATH}/amendments", STATE, json=amendment)
        assert seen[-1][1]["status"] == "active"
        assert len(seen[-1][1]["versions"]) == 2

        published = await read_events(
            isolation,
            "contracts.contract",
            lambda evs: len([e for e in evs if e.subject == CONTRACT_ID]) >= len(STEPS),
        )

        async def changes(path: str, headers: Any = OPERATOR, **params: str) -> list[Any]:
            response = await client.get(f"{path}/changes", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return list(response.json())

        async def all_changes() -> list[Any] | None:
            found = await changes(PATH)
            return found if len(found) >= len(STEPS) else None

        history = await eventually(all_changes)

        async def as_of(path: str, at: datetime, headers: Any = OPERATOR) -> httpx.Response:
            return await client.get(path, params={"at": at.isoformat()}, headers=headers)

        before = await as_of(PATH, seen[0][0] - timedelta(seconds=1))
        assert before.status_code == 404
        assert "did not exist yet at" in before.json()["detail"]
        for index, (instant, live) in enumerate(seen):
            later = seen[index + 1][0] if index + 1 < len(seen) else instant + timedelta(days=30)
            for at in (instant, instant + (later - instant) / 2, later - timedelta(seconds=1)):
                rebuilt = (await as_of(PATH, at)).json()
                assert rebuilt == carried(rebuilt, live), (index, at)
        present = (await as_of(PATH, clock.now())).json()
        live_now = (await client.get(PATH, headers=OPERATOR)).json()
        assert present == carried(present, live_now)
        assert [v["period_end_year"] for v in present["versions"]] == [2011, 2012]
        assert [s["recorded_by"] for s in present["signatures"]] == WHO_SIGNED

        hidden = (await as_of(PATH, unvalidated_at, CDC)).json()
        assert hidden["reports"] == []
        assert (await as_of(PATH, unvalidated_at)).json()["reports"][0]["status"] == "submitted"
        cdc_types = [c["type"] for c in await changes(PATH, CDC)]
        assert "contracts.contract.indicator-reported.v1" not in cdc_types
        assert "contracts.contract.report-validated.v1" in cdc_types

        pole_early = await as_of(pole_path, paris(2008, 6, 17))
        assert pole_early.status_code == 404
        assert "reference list" in pole_early.json()["detail"]
        decided_at = paris(2010, 5, 11, 9)
        for at, live in (
            (paris(2009, 1, 1), pole_before),
            (decided_at - timedelta(seconds=1), pole_before),
            (decided_at, pole_after),
            (clock.now(), pole_after),
        ):
            assert (await as_of(pole_path, at)).json() == live, at
        assert pole_after["status"] == "labelled"
        pole_changes = await changes(pole_path)
        assert [c["type"] for c in pole_changes] == ["contracts.pole.renewed.v1"]
        assert await changes(pole_path, at=(decided_at - timedelta(seconds=1)).isoformat()) == []

        monkeypatch.setenv("POLES_TOKEN", token("operator"))
        outputs = {}
        for kind, record_id in (("contract", CONTRACT_ID), ("pole", RENEWED)):
            outputs[kind] = tmp_path / f"{kind}.csv"
            argv = ["history", "--kind", kind, "--id", record_id, "--csv", str(outputs[kind])]
            await audit.history(
                audit.parser().parse_args(argv), transport=httpx.ASGITransport(app=app)
            )

    ours = [e for e in published if e.subject == CONTRACT_ID]
    assert [c["type"] for c in history] == [f"contracts.contract.{s}.v1" for s in STEPS]
    assert [c["event_id"] for c in history] == [e.id for e in ours]
    assert len({c["event_id"] for c in history}) == len(STEPS)
    signed_by = [c["who"] for c in history if c["type"].endswith("party-signed.v1")]
    assert signed_by == WHO_SIGNED
    times = [datetime.fromisoformat(c["time"]) for c in history]
    assert times == sorted(times)
    assert times[0] == seen[0][0]
    with outputs["contract"].open(encoding="utf-8") as rows:
        lines = list(csv.reader(rows))
    assert lines[0] == list(audit.CSV_COLUMNS)
    assert [row[2] for row in lines[1:]] == [c["event_id"] for c in history]
    with outputs["pole"].open(encoding="utf-8") as rows:
        assert [row[1] for row in list(csv.reader(rows))[1:]] == ["contracts.pole.renewed.v1"]
