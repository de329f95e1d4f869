"""The innovation-platforms call of 1 October 2008, end to end through HTTP: opened by the State,
dossiers filed by pôles, closed by itself on 2 December 2008, screened, pre-selected jointly,
studied by the CDC and decided; its events read back with a plain Kafka consumer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import DEADLINE, IN_TIME, OTHER_SIRET, dossier, platform_call
from shared.clock import PARIS, ManualClock
from shared.cloudevents import CloudEvent
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

STATE, CDC, OPERATOR = auth("state"), auth("cdc"), auth("operator")
AEROSPACE = auth("pole:aerospace-valley", subject="aerospace-valley")
MINALOGIC = auth("pole:minalogic", subject="minalogic")


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_innovation_platforms_call_from_opening_to_selection(
    isolation: Isolation,
) -> None:
    clock = ManualClock(datetime(2008, 10, 1, 9, 0, tzinfo=PARIS))
    settings = isolation.settings(CallsSettings, calls_close_check_seconds=0.1)
    async with serve(create_app(settings, clock=clock)) as client:
        await ok(await client.post("/calls", json=platform_call(), headers=STATE), 201)

        clock.set(IN_TIME)
        composites = await ok(
            await client.post("/calls/PF-2008/dossiers", json=dossier(), headers=AEROSPACE), 201
        )
        nano = dossier(
            platform_name="Plate-forme nanoélectronique",
            lead="minalogic",
            partners=(),
            siret=OTHER_SIRET,
        )
        nano["financing"][1]["region_code"] = "82"
        nano_receipt = await ok(
            await client.post("/calls/PF-2008/dossiers", json=nano, headers=MINALOGIC), 201
        )
        draft = dossier(platform_name="Brouillon", partners=())
        withdrawn = await ok(
            await client.post("/calls/PF-2008/dossiers", json=draft, headers=AEROSPACE), 201
        )
        await ok(
            await client.post(f"/dossiers/{withdrawn['dossier_id']}/withdrawal", headers=AEROSPACE)
        )
        assert [r["receipt_number"] for r in (composites, nano_receipt, withdrawn)] == [
            "PF-2008-0001",
            "PF-2008-0002",
            "PF-2008-0003",
        ]

        clock.set(DEADLINE)  # the call closes by itself
        await read_events(
            isolation, "calls.call", lambda evs: any(e.type == "calls.call.closed.v1" for e in evs)
        )
        late = await client.post(
            "/calls/PF-2008/dossiers", json=dossier(platform_name="Late"), headers=AEROSPACE
        )
        assert late.status_code == 409

        clock.set(DEADLINE + timedelta(days=40))
        composites_id, nano_id = composites["dossier_id"], nano_receipt["dossier_id"]
        for dossier_id in (composites_id, nano_id):
            await ok(
                await client.post(
                    f"/dossiers/{dossier_id}/screening", json={"eligible": True}, headers=STATE
                )
            )
        yes, no = {"decision": "yes"}, {"decision": "no", "reasons": ["SMEs have no access"]}
        await ok(
            await client.post(
                f"/dossiers/{composites_id}/preselection-votes", json=yes, headers=CDC
            )
        )
        await ok(
            await client.post(
                f"/dossiers/{composites_id}/preselection-votes", json=yes, headers=STATE
            )
        )
        await ok(
            await client.post(f"/dossiers/{nano_id}/preselection-votes", json=no, headers=STATE)
        )

        study = {"cost_cents": 25_000_000, "cdc_share_cents": 20_000_000}
        too_much = {"cost_cents": 25_000_000, "cdc_share_cents": 20_000_001}
        refused = await client.post(f"/dossiers/{composites_id}/study", json=too_much, headers=CDC)
        assert refused.status_code == 422
        await ok(await client.post(f"/dossiers/{composites_id}/study", json=study, headers=CDC))
        clock.set(datetime(2009, 6, 15, 11, 0, tzinfo=PARIS))
        conclusions = {
            "business_model": "equipment hire and testing services billed to users",
            "legal_structure": "groupement d'intérêt économique",
            "business_plan": "break-even in the third year",
        }
        await ok(
            await client.post(
                f"/dossiers/{composites_id}/study/completion", json=conclusions, headers=CDC
            )
        )
        decision = {
            "selected": True,
            "state_grant_cents": 200_000_000,
            "cdc_investment_cents": 50_000_000,
        }
        over = {**decision, "state_grant_cents": 330_000_000}  # 380 M€ asked 375 M€
        over_request = await client.post(
            f"/dossiers/{composites_id}/decision", json=over, headers=STATE
        )
        assert over_request.status_code == 422, over_request.text
        selected = await ok(
            await client.post(f"/dossiers/{composites_id}/decision", json=decision, headers=STATE)
        )
        assert selected["status"] == "selected"

        stats = await ok(await client.get("/calls/PF-2008/statistics", headers=OPERATOR))
        listed = (await client.get("/calls/PF-2008/dossiers", headers=MINALOGIC)).json()
        region = (
            await client.get("/calls/PF-2008/dossiers?status=selected", headers=auth("region:93"))
        ).json()

        def until_selected(events: list[CloudEvent]) -> bool:
            return any(e.type == "calls.dossier.selected.v1" for e in events)

        events = await read_events(isolation, "calls.dossier", until_selected)

    assert stats["dossiers_by_status"] == {"selected": 1, "not-preselected": 1, "withdrawn": 1}
    assert stats["requested_total_cents"] == 750_000_000
    assert stats["granted_total_cents"] == 250_000_000
    assert [d["dossier_id"] for d in listed] == [nano_id]
    assert [d["dossier_id"] for d in region] == [composites_id]

    composites_events = [e for e in events if e.subject == composites_id]
    assert [e.type for e in composites_events] == [
        "calls.dossier.submitted.v1",
        "calls.dossier.found-eligible.v1",
        "calls.dossier.preselection-vote.v1",
        "calls.dossier.preselection-vote.v1",
        "calls.dossier.preselected.v1",
        "calls.study.commissioned.v1",
        "calls.study.completed.v1",
        "calls.dossier.selected.v1",
    ]
    selection = composites_events[-1].data
    assert selection["decision_year"] == 2009
    assert selection["state_grant_cents"] == 200_000_000
    assert selection["cdc_investment_cents"] == 50_000_000
    assert selection["region_codes"] == ["73", "72", "93"]
    # No plan given: the State's grant and the CDC's proposed investment in the decision's year.
    assert selection["financing_plan"] == [
        {"financer": "state", "years": [{"year": 2009, "amount_cents": 200_000_000}]},
        {"financer": "cdc", "years": [{"year": 2009, "amount_cents": 50_000_000}]},
    ]
    assert selection["project_key"] == "plate-forme composites aéronautiques"
    nano_types = [e.type for e in events if e.subject == nano_id]
    assert nano_types[-1] == "calls.dossier.not-preselected.v1"
