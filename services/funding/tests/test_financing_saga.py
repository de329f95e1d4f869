"""The co-financing saga and the contract sources on in-memory aggregates: selected dossiers and
amended contracts delivered through FastStream's test broker (twice: applied once), financers'
answers, a refusal giving the State's money back, overdue financers, ledger payments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from services.funding.domain import ids
from services.funding.domain.commitment import Payment
from services.funding.reactions import TOPICS, reactions
from services.funding.settings import FundingSettings
from services.funding.tests.memory import Funding
from services.funding.tests.support import M_EUR, NOW
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events.base import EventData
from shared.events.calls import DossierSelected
from shared.events.contracts import ContractAmended, Party, YearlyCommitment
from shared.events.funding import ConsortiumMember, PlanShare, YearAmount
from shared.service import build_runtime
from tests.support.kafka_in_memory import deliver

PREFIX = "funding-financing."
REGION = Principal("rhone-alpes", frozenset({"region:82"}))
STATE = Principal("dge", frozenset({"state"}))
NANO = ConsortiumMember(identifier="12345678901234", kind="sme", name="Nano SA")


def share(financer: str, *years: tuple[int, int]) -> PlanShare:
    return PlanShare(
        financer=financer, years=[YearAmount(year=y, amount_cents=a) for y, a in years]
    )


def selected(dossier_id: str, plan: list[PlanShare], **more: Any) -> DossierSelected:
    values: dict[str, Any] = {
        "dossier_id": dossier_id,
        "call_id": "PF-2008",
        "call_kind": "innovation-platforms",
        "pole_id": "minalogic",
        "region_codes": ["82"],
        "platform_name": f"Plate-forme {dossier_id}",
        "decided_at": NOW,
        "decision_year": 2009,
        "state_grant_cents": 0,
        "requested_total_cents": 100 * M_EUR,
        "financing_plan": plan,
    }
    return DossierSelected(**{**values, **more})


PLAN = [
    share("state", (2009, 3 * M_EUR)),
    share("region:82", (2009, M_EUR)),
    share("private", (2009, M_EUR)),
]


async def delivered(funding: Funding, *events: EventData, twice: bool = True) -> None:
    runtime = build_runtime(FundingSettings(auth_secret="s" * 32, topic_prefix=PREFIX))
    runtime.consume(TOPICS, reactions(funding.sources))
    async with TestKafkaBroker(runtime.broker) as broker:
        for data in events:
            first = await deliver(broker, data, key="k", topic_prefix=PREFIX, time=NOW)
            if twice:
                await deliver(
                    broker, data, key="k", topic_prefix=PREFIX, event_id=first.id, time=NOW
                )


async def committed_on(funding: Funding, line_id: str) -> dict[str, int]:
    line = await funding.books.lines.get(line_id)
    assert line is not None
    return line.committed_by_year


async def test_a_selected_dossier_delivered_twice_opens_one_financing_then_completes() -> None:
    funding = await Funding().loaded()
    await delivered(funding, selected("D-1", PLAN))

    assert await committed_on(funding, "intervention.platforms") == {"2009": 3 * M_EUR}
    [financing] = await funding.reads.financings("open")
    assert financing.due_at == NOW + timedelta(days=60)
    [private] = funding.reads.entries()
    assert (private.financer, private.amount_cents) == ("private", M_EUR)

    answer = await funding.financings.commit("D-1", "region:82", REGION, None, "k-1")
    again = await funding.financings.commit("D-1", "region:82", REGION, None, "k-1")
    assert answer == again
    assert answer["status"] == "completed"
    [completed] = await funding.reads.financings("completed")
    assert completed.dossier_id == "D-1"
    region = next(e for e in funding.reads.entries() if e.financer == "region:82")
    assert (region.entry_id, region.dossier_id) == (answer["entry_id"], "D-1")
    types = funding.published_types()
    assert types.count("funding.financing.opened.v1") == 1
    assert types.count("funding.financing.financer-committed.v1") == 3
    assert types.count("funding.financing.completed.v1") == 1
    assert types.count("funding.ledger.committed.v1") == 2
    assert types.count("funding.commitment.made.v1") == 1


async def test_a_financer_answers_only_through_its_own_role() -> None:
    funding = await Funding().loaded()
    await delivered(funding, selected("D-1", PLAN), twice=False)
    with pytest.raises(Forbidden):
        await funding.financings.commit("D-1", "region:82", STATE, None, "k-1")


async def test_a_plan_over_the_yearly_ceiling_is_refused_with_the_line_reason() -> None:
    funding = await Funding().loaded()
    plan = [share("state", (2009, 36 * M_EUR))]
    await delivered(funding, selected("D-2", plan))

    [refused] = await funding.reads.financings("refused")
    assert refused.refusal is not None
    assert refused.refusal.reason == "over-yearly-ceiling"
    assert await committed_on(funding, "intervention.platforms") == {}
    assert funding.published_types().count("funding.financing.refused.v1") == 1


async def test_a_plan_over_the_request_commits_nothing() -> None:
    funding = await Funding().loaded()
    await delivered(funding, selected("D-3", PLAN, requested_total_cents=5 * M_EUR - 1))
    [refused] = await funding.reads.financings("refused")
    assert refused.refusal is not None
    assert refused.refusal.reason == "over-request"
    assert "funding.commitment.made.v1" not in funding.published_types()


async def test_a_financer_declining_gives_the_state_money_back_and_cancels_the_entries() -> None:
    funding = await Funding().loaded()
    await delivered(funding, selected("D-4", PLAN), twice=False)

    answer = await funding.financings.decline("D-4", "region:82", REGION, "budget voted down", "k")
    assert answer["reason"] == "financer-declined"
    assert await committed_on(funding, "intervention.platforms") == {"2009": 0}
    state_commitment = await funding.budget.commitment(ids.financing_state_commitment("D-4"))
    assert state_commitment is not None
    assert state_commitment.remaining_cents == 0
    [private] = funding.reads.entries()
    assert (private.cancelled_cents, private.remaining_cents) == (M_EUR, 0)
    assert funding.published_types().count("funding.commitment.decommitted.v1") == 1


async def test_a_crash_before_the_follow_ups_is_completed_by_the_sweep() -> None:
    funding = await Funding().loaded()
    await delivered(funding, selected("D-5", PLAN), twice=False)
    original = funding.financings._finish

    async def crash(entry_id: str) -> None:
        raise RuntimeError("the process dies")

    funding.financings._finish = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await funding.financings.decline("D-5", "region:82", REGION, "no", "k")
    assert await committed_on(funding, "intervention.platforms") == {"2009": 3 * M_EUR}
    funding.financings._finish = original  # type: ignore[method-assign]

    assert await funding.financings.sweep() == 1
    assert await committed_on(funding, "intervention.platforms") == {"2009": 0}
    assert await funding.financings.sweep() == 0


async def test_an_overdue_financer_is_flagged_once_and_counted() -> None:
    funding = await Funding().loaded()
    await delivered(funding, selected("D-6", PLAN), twice=False)
    assert await funding.financings.check_overdue() == 0

    funding.clock.advance(timedelta(days=61))
    assert await funding.financings.check_overdue() == 1
    assert await funding.financings.check_overdue() == 1
    assert funding.published_types().count("funding.financing.financer-overdue.v1") == 1
    assert funding.financings.overdue_gauge._value.get() == 1

    await funding.financings.commit("D-6", "region:82", REGION, None, "late")
    assert await funding.financings.check_overdue() == 0


async def test_a_member_funded_twice_for_the_same_project_is_flagged() -> None:
    funding = await Funding().loaded()
    rd = {"call_kind": "fui-rd", "project_key": "nano", "consortium": [NANO]}
    await delivered(
        funding,
        selected("R-1", [share("state", (2009, M_EUR))], **rd),
        selected("R-2", [share("state", (2009, M_EUR))], **rd),
        twice=False,
    )
    second = await funding.financings.journal.get("R-2")
    assert second is not None
    [overlap] = second.overlaps
    assert overlap.identifier == NANO.identifier
    assert sorted(overlap.other_ids) == sorted(["R-1", ids.financing_state_commitment("R-1")])
    assert funding.published_types().count("funding.financing.overlap-flagged.v1") == 1


async def test_a_ledger_entry_is_paid_by_its_financer_only() -> None:
    funding = await Funding().loaded()
    await delivered(funding, selected("D-7", PLAN), twice=False)
    answer = await funding.financings.commit("D-7", "region:82", REGION, None, "k")
    entry_id = answer["entry_id"]
    payment = Payment("p-1", 2009, M_EUR // 2, author="rhone-alpes")
    with pytest.raises(Forbidden):
        await funding.financings.ledgers.pay("region:82", entry_id, STATE, payment, "k")
    paid = await funding.financings.ledgers.pay("region:82", entry_id, REGION, payment, "k")
    again = await funding.financings.ledgers.pay("region:82", entry_id, REGION, payment, "k")
    assert paid == again
    assert paid["remaining_cents"] == M_EUR // 2
    assert funding.published_types().count("funding.ledger.paid.v1") == 1


def amended() -> ContractAmended:
    parties = [
        Party(party_id="state", kind="state", name="État"),
        Party(party_id="region:82", kind="region", name="Rhône-Alpes"),
    ]
    financing = [
        YearlyCommitment(party_id=party, year=year, amount_cents=M_EUR)
        for party in ("state", "region:82", "feder")
        for year in (2011, 2012)
    ]
    return ContractAmended(
        contract_id="CP-minalogic",
        version=2,
        pole_id="minalogic",
        pole_name="Minalogic",
        region_codes=["82"],
        parties=parties,
        reason="prolongation 2012",
        period_start_year=2009,
        period_end_year=2012,
        financing=financing,
        amended_at=datetime(2010, 6, 1, tzinfo=UTC),
    )


async def test_a_contract_amendment_commits_the_new_years_once() -> None:
    funding = await Funding().loaded()
    await delivered(funding, amended())

    # No amendment of the envelope yet: the line refuses 2012, which is right.
    assert "funding.commitment.refused.v1" in funding.published_types()
    entries = {(e.financer, tuple(y.year for y in e.years)) for e in funding.reads.entries()}
    assert entries == {("region:82", (2011, 2012)), ("feder", (2011, 2012))}
    assert funding.published_types().count("funding.ledger.committed.v1") == 2
