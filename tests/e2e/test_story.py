"""The Pôles 2.0 story, shortened (seven dossiers, five contracts, three label decisions, one FUI
call with two projects, one agency commitment, the 2012 amendment), through the same steps as
``make demo``: the four services run in this process on the test broker and
store, calls and contracts on one ManualClock that the story moves, and the story's own webhook
receiver and SMTP server listen on loopback. Then the story's invariants must hold.

The story plays once for the module (``told``); after the invariants, issue 16's three parts
are checked from outside on its data, in this order (the last one changes the lines): a dossier
and a line as the log shows them at instants where the live API was read, a late subscription
backfilled with the story, a transfer tried then made."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from services.calls.app import create_app as calls_app
from services.calls.settings import CallsSettings
from services.contracts.app import create_app as contracts_app
from services.contracts.settings import ContractsSettings
from services.funding.app import create_app as funding_app
from services.funding.settings import FundingSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.clock import ManualClock
from tests.e2e.as_of_check import Live, WatchedTimeline, check_as_of, look
from tests.e2e.backfill_check import check_backfill
from tests.e2e.dry_run_check import check_dry_run
from tests.story.as_of import dossier_as_of
from tests.story.cast import Cast
from tests.story.expectations import Expected, check_budget, settle
from tests.story.figures import Figures, gather
from tests.story.platform import Commands, KafkaOptions, Platform, Tokens, send
from tests.story.report_text import render_text
from tests.story.scale import SHORT
from tests.story.schedule import START, run_story
from tests.story.timeline import ManualTimeline
from tests.story.topics import TopicContents, read_topics
from tests.support.infra import AUTH_SECRET, Isolation, kafka_admin, serve
from tests.support.sinks import Receivers

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class Told:
    platform: Platform
    cast: Cast
    figures: Figures
    wanted: Expected
    lines: list[str]
    contents: TopicContents
    began: datetime
    """The machine's time before the story (the topics' records are stamped with it)."""
    live: dict[datetime, Live]
    """What the live API showed at the instants ``WatchedTimeline`` stopped at."""
    kafka: KafkaOptions
    topic_prefix: str


@asynccontextmanager
async def short_story(isolation: Isolation) -> AsyncIterator[Told]:
    kafka, prefix = kafka_admin().options(), isolation.topic_prefix  # admin, as the services
    began = datetime.now(UTC)
    receivers = Receivers()
    await receivers.start()
    clock = ManualClock(START)
    apps = (
        calls_app(isolation.settings(CallsSettings, calls_close_check_seconds=0.05), clock=clock),
        funding_app(isolation.settings(FundingSettings), clock=clock),
        contracts_app(
            isolation.settings(ContractsSettings, contracts_clock_seconds=0.05), clock=clock
        ),
        notify_app(
            isolation.settings(
                NotifySettings,
                notify_allow_private_targets=True,
                notify_smtp_port=receivers.mail.port,
                notify_dispatch_poll_seconds=0.1,
            )
        ),
    )
    try:
        async with AsyncExitStack() as stack:
            calls, funding, contracts, notify = [
                await stack.enter_async_context(serve(app)) for app in apps
            ]
            timeline = WatchedTimeline(ManualTimeline(clock))
            platform = Platform(
                calls=calls,
                funding=funding,
                contracts=contracts,
                notify=notify,
                tokens=Tokens(AUTH_SECRET),
                commands=Commands(kafka, prefix),
                timeline=timeline,
                receivers=receivers,
                concurrency=4,
            )
            cast = Cast.of(SHORT)
            timeline.look = lambda: look(platform, cast)
            lines: list[str] = []
            await run_story(platform, cast, lines.append, side_by_side=False)
            contents, wanted = await settle(
                receivers, lambda: read_topics(kafka, prefix), seconds=30
            )
            figures = await gather(platform, cast, contents, wanted)
            yield Told(
                platform, cast, figures, wanted, lines, contents,
                began=began, live=timeline.seen, kafka=kafka, topic_prefix=prefix,
            )  # fmt: skip
    finally:
        await receivers.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def told(isolation: Isolation) -> AsyncIterator[Told]:
    """The short story, played once for the module's tests."""
    async with short_story(isolation) as story:
        yield story


async def test_a_short_story_keeps_the_invariants_of_phase_2(told: Told) -> None:
    print("\n".join(told.lines))  # the story as it went, shown if an assertion fails
    print(render_text(told.figures))
    p, figures, cast = told.platform, told.figures, told.cast
    state = p.tokens("state")

    check_budget(figures, 0.0)  # no line over its amount, nothing paid beyond committed

    dossiers = await send(p.calls, "GET", "/calls/PF-2008/dossiers?limit=500", state)
    status = {d["dossier_id"]: d["status"] for d in dossiers}
    declined = cast.dossier_id(next(d for d in cast.dossiers if d.declined_by_region))
    oversized = cast.dossier_id(next(d for d in cast.dossiers if d.oversized_cents))
    assert status[declined] == status[oversized] == "funding-refused"
    funded = {i for i, s in status.items() if s == "funded"}
    assert len(funded) == SHORT.selected_2009
    for dossier_id, reason in (
        (declined, "financer-declined"),
        (oversized, "over-yearly-ceiling"),
    ):
        read = await send(p.calls, "GET", f"/dossiers/{dossier_id}", state)
        assert reason in str(read), read  # the dossier says why
    commitments: list[dict[str, Any]] = await send(
        p.funding, "GET", "/commitments?line_id=intervention.platforms", state
    )
    per_dossier = Counter(c["dossier_id"] for c in commitments)
    assert per_dossier == Counter([*funded, declined])  # the line refused the oversized one
    types = Counter(e.type for e in told.contents.events["calls.dossier"])
    assert types["calls.dossier.funding-refused.v1"] == 2
    assert types["calls.dossier.funded.v1"] == SHORT.selected_2009 + 2  # + the 2 projects
    told_contacts = [d.contact_email for d in cast.refused_platforms()]
    assert all(told.wanted.mails[address] for address in told_contacts)

    hooks = p.receivers.webhooks
    assert hooks.refused == 0
    assert hooks.event_ids == told.wanted.webhook_event_ids
    ids_per_event = {len(ids) for ids in hooks.webhook_ids_by_event.values()}
    assert ids_per_event == {1}  # one webhook per event, retries share its id
    assert p.receivers.mail.by_recipient() == told.wanted.mails  # one e-mail per recipient
    assert told.wanted.mails
    assert told.wanted.webhook_event_ids

    # the demo's last lines: a pre-selected dossier as the log shows it on two dates
    _, filed, studied, *changes = await dossier_as_of(p, cast)
    assert "on 01 December 2008: submitted (version 1)" in filed, filed
    assert "on 01 June 2009: submitted" not in studied, studied
    assert "votes: cdc yes" in studied, studied
    assert "calls.dossier.submitted.v1" in changes[0], changes

    board = await send(p.contracts, "GET", "/dashboards/signatures", state)
    assert board["totals"]["contracts"] == len(cast.contracts)
    for row in board["contracts"]:  # every contract signed by all its parties
        assert row["unsigned_party_ids"] == [], row["contract_id"]
        assert all(party["signed"] for party in row["parties"])

    assert dict(figures.funnel) == {
        "submitted in time": 7,
        "refused late (409)": 1,
        "eligible": 6,
        "pre-selected": 5,
        "studied by the CDC": 5,
        "selected": 3,
        "funded": 1,
        "funding refused": 2,
        "not selected": 2,
    }
    fui = dict(figures.fui_funnel)
    assert (fui["projects filed"], fui["funded"], fui["overlaps flagged"]) == (2, 2, 3)
    lines = {line.line_id: line for line in figures.lines}
    assert lines["intervention.rd"].committed == sum(pr.state_cents for pr in cast.projects)
    assert lines["agencies.anr"].committed == cast.agencies[0].amount_cents
    assert lines["agencies.anr"].paid > 0
    assert lines["animation"].committed_by_year[2012] > 0  # the amendment, then 2012 money
    financers = {f.financer: f for f in figures.financers}
    for who in ("state", "feder", "region:73"):
        assert financers[who].paid > 0, who  # every financer commits and pays
    assert figures.contracts["signed late"] == 1  # Minalogic: Rhône-Alpes on 6 July 2009
    assert figures.contracts["signature-overdue events"] == 1
    late = sum(len(c.late_reports) for c in cast.contracts)
    assert figures.contracts["report-overdue events"] == late
    assert figures.ratings == {"très performant": 2, "moins performant": 2, "performant": 1}


async def test_the_log_shows_a_dossier_and_a_line_as_the_live_api_showed_them(told: Told) -> None:
    await check_as_of(told.platform, told.cast, told.live)


async def test_a_late_subscription_gets_the_story_in_order_then_live_events(told: Told) -> None:
    await check_backfill(told.platform, told.began, told.kafka, told.topic_prefix)


async def test_a_transfer_tried_on_the_story_changes_nothing_then_does_what_it_said(
    told: Told,
) -> None:
    await check_dry_run(told.platform, told.cast, told.kafka, told.topic_prefix)
