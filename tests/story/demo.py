"""``make demo``: reset the local platform, start it on a simulated clock that runs 2008-2012 in a
few minutes, replay phase 2 from outside, report, and leave the platform running."""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx

from shared.clock import SimulatedClock
from tests.story import local
from tests.story.as_of import dossier_as_of
from tests.story.cast import Cast
from tests.story.expectations import check_budget, settle
from tests.story.figures import Figures, gather
from tests.story.platform import Commands, Platform, StoryError, Tokens
from tests.story.report_html import render_html
from tests.story.report_text import render_text
from tests.story.scale import Scale
from tests.story.schedule import END, START, run_story
from tests.story.steps.notifications import unsubscribe_webhook
from tests.story.timeline import SimulatedTimeline
from tests.story.topics import read_topics
from tests.story.traces import VIEWER, StepTraces
from tests.support.sinks import Receivers

PORTS = {"calls": 8001, "funding": 8002, "contracts": 8003, "notify": 8004}
REPORT_DIR = local.LOCAL / "demo"


DEFAULT_SPEED = 100_000.0
"""Simulated seconds per real second: 2008-09-30 to 2012-08-01 in about 20 minutes. Since the
story plays the money end to end (co-financings, FUI calls, agencies, payments by year) the local
store is the bottleneck: at 200,000 the pôles' January reports (due by the 31st, 11 s of real
time) could not all be filed in time on 2 cores; at 100,000 they have 22 s. A slower machine can
set ``POLES_DEMO_SPEED`` lower (every step keeps its simulated date, only the real time per
simulated day changes); a faster store (issue 15) will let it go back up."""


@dataclass(frozen=True)
class Options:
    speed: float
    lead_seconds: float
    """How long after now the simulated clock reads 2008-09-30 (the services start meanwhile)."""


def say(line: str) -> None:
    print(line, flush=True)


def service_settings(speed: float, anchor: float, receivers: Receivers) -> dict[str, str]:
    return {
        "POLES_CLOCK_START": START.isoformat(),
        "POLES_CLOCK_SPEED": str(speed),
        "POLES_CLOCK_ANCHOR": f"{anchor:.3f}",
        # On FerretDB each of these jobs reads a whole collection: leave the store to the
        # story. The story waits for what the clock jobs raise, so their period changes no
        # figure; relays and the dispatcher are woken by each save, their polling is only a
        # fallback.
        "POLES_CALLS_CLOSE_CHECK_SECONDS": "1",
        "POLES_CONTRACTS_CLOCK_SECONDS": "2",
        "POLES_RELAY_POLL_SECONDS": "30",
        "POLES_NOTIFY_DISPATCH_POLL_SECONDS": "30",
        "POLES_METRICS_REFRESH_SECONDS": "30",
        "POLES_NOTIFY_SMTP_HOST": "127.0.0.1",
        "POLES_NOTIFY_SMTP_PORT": str(receivers.mail.port),
        "POLES_NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
    }


async def bring_up(o: Options, receivers: Receivers) -> tuple[SimulatedTimeline, StepTraces]:
    say("The demo RESETS the local platform's data: it deletes and recreates the topics and drops")
    say(f"the databases {', '.join(local.DATABASES)}, then replays 2008-2012.")
    viewer = await asyncio.to_thread(local.start_infrastructure)
    await local.delete_topics()
    await asyncio.to_thread(local.create_topics)
    await asyncio.to_thread(local.drop_databases)
    speed = o.speed
    anchor = time.time() + o.lead_seconds
    settings = service_settings(speed, anchor, receivers)
    await asyncio.to_thread(local.start_services, settings)
    if time.time() > anchor:
        raise SystemExit(
            f"the services took more than {o.lead_seconds:.0f} s to start; "
            f"try --lead {2 * o.lead_seconds:.0f}"
        )
    minutes = (END - START).total_seconds() / speed / 60
    load = f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    say(f"Simulated clock: {START:%d %B %Y} at Unix time {anchor:.0f}, x{speed:,.0f} ({load})")
    say(f"(2008-09-30 to 2012-08-01 in {minutes:.1f} min); every service reads this clock.")
    traces = StepTraces(VIEWER if viewer else None)
    return SimulatedTimeline(SimulatedClock(START, speed, anchor), speed), traces


async def play(o: Options, receivers: Receivers) -> tuple[Figures, StepTraces]:
    timeline, traces = await bring_up(o, receivers)
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}",
                    timeout=30,
                    event_hooks={"response": [traces.record]},
                )
            )
            for name, port in PORTS.items()
        }
        platform = Platform(
            calls=clients["calls"],
            funding=clients["funding"],
            contracts=clients["contracts"],
            notify=clients["notify"],
            tokens=Tokens(local.auth_secret()),
            commands=Commands(local.kafka_as("poles-command-senders"), traces=traces),
            timeline=timeline,
            receivers=receivers,
            traces=traces,
        )
        cast = Cast.of(Scale())
        started = time.monotonic()
        await run_story(platform, cast, say)
        say(f"The story took {time.monotonic() - started:.0f} s; now the last notifications.")
        contents, wanted = await settle(
            receivers, lambda: read_topics(local.kafka_as("admin")), 600
        )
        figures = await gather(platform, cast, contents, wanted)
        say(
            "Budget checked: "
            + ", ".join(check_budget(figures, cast.scale.committed_share_at_least))
        )
        say(await unsubscribe_webhook(platform, cast))
        say("\n".join(await dossier_as_of(platform, cast)))
        return figures, traces


def publish(figures: Figures, traces: StepTraces) -> None:
    """The report: the figures (the same every run), then each step's trace (new every run)."""
    text = render_text(figures) + "\n\n" + "\n".join(traces.report()) + "\n"
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "report.txt").write_text(text, encoding="utf-8")
    (REPORT_DIR / "report.html").write_text(render_html(figures, traces), encoding="utf-8")
    say("\n" + text)
    say(f"The report, with charts: {REPORT_DIR / 'report.html'} (as text: report.txt beside it)")


async def main(o: Options) -> None:
    receivers = Receivers()
    await receivers.start()
    try:
        figures, traces = await play(o, receivers)
    except StoryError as error:
        await asyncio.to_thread(local.script, "services.sh", "stop")
        raise SystemExit(f"The story stopped: {error}") from error
    finally:
        await receivers.stop()
    publish(figures, traces)
    say("\nThe services now restart on the machine's clock (the story's clock would run on fast).")
    await asyncio.to_thread(local.restart_on_real_clock)
    await asyncio.to_thread(local.script, "where.sh")
    say(where_traces(traces))
    say("The platform keeps running with the story's data; `make down` stops it.")


def where_traces(traces: StepTraces) -> str:
    """Where to look for the story's traces, with one to start from."""
    if traces.viewer is None:
        return "No traces: the trace viewer did not start (deploy/local/jaeger.sh start, its log)."
    example = traces.example() or "none (no answer carried a traceresponse header)"
    return (
        f"Traces: {traces.viewer}/search (service calls, funding, contracts, notify); each step's "
        f"trace is in the report; the first command's: {example}"
    )
