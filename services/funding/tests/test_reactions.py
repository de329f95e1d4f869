"""The funding service's subscribers driven through FastStream's test broker and the kernel's
consumer, on in-memory aggregates: what calls and contracts decide becomes commitments and
co-financings, once per event."""

from __future__ import annotations

from datetime import UTC, datetime

from faststream.kafka import TestKafkaBroker

from services.funding.reactions import TOPICS, reactions
from services.funding.settings import FundingSettings
from services.funding.tests.memory import Funding
from services.funding.tests.support import M_EUR, NOW
from shared.events.calls import DossierSelected
from shared.service import build_runtime
from tests.support.kafka_in_memory import deliver

PREFIX = "funding-reactions."


def selected(grant_cents: int, investment_cents: int) -> DossierSelected:
    return DossierSelected(
        dossier_id="D-1",
        call_id="PF-2008",
        call_kind="innovation-platforms",
        pole_id="aerospace-valley",
        region_codes=["73", "72"],
        platform_name="Plate-forme D-1",
        decided_at=datetime(2009, 6, 15, 10, tzinfo=UTC),
        decision_year=2009,
        state_grant_cents=grant_cents,
        cdc_investment_cents=investment_cents,
        requested_total_cents=grant_cents + investment_cents,
    )


async def test_a_selected_dossier_delivered_twice_commits_on_its_line_once() -> None:
    funding = await Funding().loaded()
    runtime = build_runtime(FundingSettings(auth_secret="s" * 32, topic_prefix=PREFIX))
    runtime.consume(TOPICS, reactions(funding.sources))

    async with TestKafkaBroker(runtime.broker) as broker:
        event = await deliver(
            broker, selected(3 * M_EUR, M_EUR), key="D-1", topic_prefix=PREFIX, time=NOW
        )
        await deliver(
            broker,
            selected(3 * M_EUR, M_EUR),
            key="D-1",
            topic_prefix=PREFIX,
            event_id=event.id,
            time=NOW,
        )

    platforms = await funding.books.lines.get("intervention.platforms")
    assert platforms is not None
    assert (platforms.committed_cents, platforms.committed_by_year) == (
        3 * M_EUR,
        {"2009": 3 * M_EUR},
    )
    [commitment_id] = funding.shown
    commitment = await funding.budget.commitment(commitment_id)
    assert commitment is not None
    assert (commitment.dossier_id, commitment.source.event_id) == ("D-1", event.id)
    # The CDC's investment is its own decision now: it is asked, not recorded at selection.
    [financing] = await funding.reads.financings("open")
    assert [(s.financer, s.status) for s in financing.shares] == [
        ("state", "committed"),
        ("cdc", "asked"),
    ]
    assert list(funding.ledgers.states()) == []
    assert funding.published_types().count("funding.commitment.made.v1") == 1
    assert funding.published_types().count("funding.financing.opened.v1") == 1
