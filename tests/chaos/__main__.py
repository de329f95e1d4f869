"""``make chaos``: start the chaos stack, run the stream of commands under faults, count, report.

The count is made twice: when the stream of commands has ended, then once the platform is idle (no
consumer lag, no event waiting in an outbox, no delivery pending, in every service's /metrics,
twice in a row), or when ``--drain`` seconds have passed. What arrived in between is ``late``;
what never arrived is ``lost``.

Exit status 0 only if nothing was lost or doubled, every aggregate kept its order, no line went
over its amount, nothing was dead-lettered and processing resumed within 15 s (p99).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time

import httpx

from shared.topics import ALL_TOPICS, CALLS_COMMAND
from tests.chaos.checks import Count, Findings
from tests.chaos.client import CommandBus, Platform
from tests.chaos.faults import Chaos, backlog
from tests.chaos.report import (
    RECOVERY_TARGET_S,
    commands_table,
    effects_table,
    faults_table,
    last_line,
    late_by_effect,
)
from tests.chaos.stack import SERVICES, Stack, Tokens, say, use_brokers
from tests.chaos.tap import Tap
from tests.chaos.workload import SIM_START, Pace, Workload
from tests.support.sinks import Receivers

RETRY_DELAYS = "[1, 2, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]"
IDLE_POLL_S = 16.0
"""Between two looks at the backlog: longer than the gauges' refresh (the services' default,
15 s: the run measures the platform as it is configured, and a faster refresh would add scans of
the store that production does not make) and the lag probe's (5 s)."""


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per service (>= 20)")
    parser.add_argument(
        "--infra-kills",
        type=int,
        default=3,
        help="of the broker (of the busiest partitions' leader on three brokers), and the store",
    )
    parser.add_argument(
        "--brokers", type=int, choices=(1, 3), default=3, help="Kafka brokers of the run"
    )
    parser.add_argument("--rounds", type=int, default=Pace.rounds, help="calls at most")
    parser.add_argument("--dossiers", type=int, default=Pace.dossiers_per_round, help="per call")
    parser.add_argument("--contracts", type=int, default=Pace.contracts, help="at most")
    parser.add_argument("--commitments", type=int, default=Pace.commitments, help="at most")
    parser.add_argument("--patience", type=float, default=180.0, help="s a command is retried")
    parser.add_argument(
        "--drain", type=float, default=180.0, help="s to wait at most for the platform to be idle"
    )
    parser.add_argument("--seed", type=int, default=2009)
    return parser.parse_args()


def service_settings(anchor: float, smtp_port: int) -> dict[str, str]:
    """Every service reads the same simulated time (September 2009, real speed); notify may
    call the local webhook receiver, mails the local sink and retries quickly."""
    return {
        "POLES_CLOCK_START": SIM_START.isoformat(),
        "POLES_CLOCK_SPEED": "1",
        "POLES_CLOCK_ANCHOR": str(anchor),
        "POLES_NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
        "POLES_NOTIFY_SMTP_PORT": str(smtp_port),
        "POLES_NOTIFY_RETRY_DELAYS_SECONDS": RETRY_DELAYS,
        "POLES_NOTIFY_DELIVERY_LEASE_SECONDS": "10",
        "POLES_KAFKA_STATIC_MEMBERSHIP": "true",
        "POLES_LOG_LEVEL": "WARNING",
    }


async def idle(platform: Platform, tap: Tap, http: httpx.AsyncClient) -> bool:
    """Whether the tap has read every topic to its end and no service instance has work left
    (its /metrics read, every BACKLOG gauge at zero)."""
    if not await tap.caught_up():
        return False
    for name in SERVICES:
        for port in platform.ports[name]:
            if await backlog(http, port) != 0:
                return False
    return True


async def wait_idle(platform: Platform, tap: Tap, http: httpx.AsyncClient, seconds: float) -> bool:
    """Until the platform is idle twice in a row, IDLE_POLL_S apart (True), or ``seconds``."""
    deadline = time.monotonic() + seconds
    in_a_row = 0
    while time.monotonic() < deadline:
        in_a_row = in_a_row + 1 if await idle(platform, tap, http) else 0
        if in_a_row == 2:
            return True
        await asyncio.sleep(IDLE_POLL_S)
    return False


async def run(args: argparse.Namespace) -> int:
    use_brokers(args.brokers)
    rng = random.Random(args.seed)
    run_id = f"r{int(time.time()) % 1_000_000}"
    anchor = time.time()
    receivers = Receivers()
    webhooks, mail = receivers.webhooks, receivers.mail
    await receivers.start()
    stack = Stack(service_settings(anchor, mail.port))
    began = time.monotonic()
    http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=2.0))
    platform = Platform(http, args.patience, rng)
    bus = CommandBus(args.patience, resend_after=30.0)
    tap = Tap([t for t in ALL_TOPICS if t != CALLS_COMMAND], bus.answered)
    try:
        await stack.start()
        await stack.start_service("notify")
        tokens = Tokens(stack)
        body = {"channel": "webhook", "target": webhooks.url, "event_types": ["*"]}
        reply = await platform.call(
            "notify", "POST", "/subscriptions", tokens.operator, run_id, body
        )
        if not reply.ok:
            raise RuntimeError(f"notify refused the subscription: {reply}")
        for name in ("calls", "funding", "contracts"):
            await stack.start_service(name)
        await bus.start()
        await tap.start()
        poles = [
            (p["pole_id"], p["region_codes"][0])
            for p in await platform.read("contracts", "/poles?status=labelled", tokens.operator)
        ]
        pace = Pace(
            rounds=args.rounds,
            dossiers_per_round=args.dossiers,
            contracts=args.contracts,
            commitments=args.commitments,
        )
        workload = Workload(platform, bus, tokens, pace, run_id, anchor, rng)
        stop = asyncio.Event()
        stream = asyncio.create_task(workload.run(stop, poles))
        say(f"stack ready in {time.monotonic() - began:.0f}s; the stream of commands runs")
        await asyncio.sleep(5.0)

        def busy(name: str) -> bool:
            if name == "notify":
                return time.monotonic() - max(webhooks.last_arrival, mail.last_arrival) < 0.3
            if name == "funding":
                return platform.in_flight["funding"] + platform.in_flight["calls"] > 0
            return platform.in_flight[name] > 0

        chaos = Chaos(stack, platform, busy, args.kills, args.infra_kills, rng, tap, args.brokers)
        await chaos.run()
        say(f"faults done after {time.monotonic() - began:.0f}s; the stream finishes")
        stop.set()
        await asyncio.wait_for(stream, args.patience + 120)
        say("counting every effect")
        count = Count(workload, tap, platform, tokens, webhooks, mail)
        first = await count.run()
        say(f"{first.lost} effects not there yet; waiting until the platform is idle")
        waited = time.monotonic()
        was_idle = await wait_idle(platform, tap, http, args.drain)
        waited = time.monotonic() - waited
        say(f"platform {'idle' if was_idle else 'still busy'} after {waited:.0f}s; counting again")
        findings = await count.run()
        late = late_by_effect(first, findings)
        print(
            f"\nwaited {waited:.0f} s for the platform to be idle "
            f"({'idle' if was_idle else f'not idle after {args.drain:.0f} s'}); "
            f"late (arrived while waiting): {sum(late.values())} {late or ''}"
        )
        return report(workload, chaos, findings, platform, bus, time.monotonic() - began)
    finally:
        await tap.stop()
        await bus.stop()
        await http.aclose()
        await stack.stop()
        await receivers.stop()


def report(
    workload: Workload,
    chaos: Chaos,
    findings: Findings,
    platform: Platform,
    bus: CommandBus,
    seconds: float,
) -> int:
    unanswered = sum(workload.tally.unanswered.values())
    lost = findings.lost + unanswered
    print(f"\nChaos run {workload.run_id}: {seconds:.0f} s\n")
    print(commands_table(workload.tally))
    print(f"\nHTTP retries: {platform.retries}; Kafka commands published again: {bus.republished}")
    for refusal in workload.tally.refusals:
        print(f"  unexpected refusal: {refusal}")
    print()
    print(effects_table(findings))
    print(f"\nlost = missing effects + commands never answered ({unanswered})")
    print(f"event copies on the topics (same id again, at-least-once): {findings.copies}")
    print(f"aggregates out of order: {dict(findings.disordered) or 0}")
    print(f"lines over their amount or out of balance: {findings.over_line or 0}")
    print(f"records dead-lettered: {findings.dead_letters}\n")
    print(faults_table(chaos.faults))
    print(
        "resume: a service from its restart (boot included) to its first command answered or "
        "event consumed or published; the broker and the store from ready again to the next "
        "event consumed (broker) or command or event stored (store)\n"
    )
    line, recovery = last_line(
        lost, findings.duplicated, chaos.faults, chaos.brokers, chaos.broker_kills
    )
    passed = (
        lost == 0
        and findings.duplicated == 0
        and not findings.disordered
        and not findings.over_line
        and findings.dead_letters == 0
        and recovery <= RECOVERY_TARGET_S
    )
    print(line, flush=True)
    return 0 if passed else 1


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="chaos: %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker's deaths are planned
    sys.exit(asyncio.run(run(arguments())))


if __name__ == "__main__":
    main()
