"""``python -m tests.bench [--profile]``: the ceiling, the platform's sustained rate and latency,
what each process and the store cost, and a consumer scaled to two instances; one table, one last
line ``ratio=<webhooks delivered/s / ceiling msgs/s> p99_ms=<...> statements_per_event=<...>
delivered_per_consumed=<...>``, and ``.local/bench/results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.kafka_acls import principal
from shared.topics import COMMAND_SENDERS
from tests.bench import ceiling, load, profile, scaleout, statements
from tests.bench.cost import CpuMeter, memory_mb
from tests.bench.report import last_line, table
from tests.bench.stack import LOCAL, PORTS, ROOT, Stack, kafka_as, say, start
from tests.support.sinks import Receivers, WebhookReceiver

BURST_SECONDS = 20.0
"""The burst is sized from the warm-up's rate to last about this long."""
LATENCY_SECONDS = 15.0
SETTLE_SECONDS = 60.0
"""After the burst is consumed, how long the bench waits for its last deliveries (webhooks and
e-mails) before it reads what the store was asked."""


async def prepare(stack: Stack, webhooks: WebhookReceiver) -> None:
    """The call the dossiers are submitted to, and the bench's webhook subscription."""
    state = {"authorization": f"Bearer {stack.token('bench-state', 'state')}"}
    async with httpx.AsyncClient(timeout=10) as client:
        opened = await client.post(
            f"http://127.0.0.1:{PORTS['calls']}/calls",
            json=load.call_spec(datetime.now(UTC)),
            headers=state,
        )
        opened.raise_for_status()
        subscribed = await client.post(
            f"http://127.0.0.1:{PORTS['notify']}/subscriptions",
            json={
                "channel": "webhook",
                "target": webhooks.url,
                "event_types": ["calls.dossier.submitted.v1"],
            },
            headers=state,
        )
        subscribed.raise_for_status()


async def warm_up(feeder: load.Feeder, webhooks: WebhookReceiver, count: int = 50) -> float:
    """A first burst through every stage (groups joined, caches warm); the rate at which its
    webhooks arrived, to size the measured burst."""
    started = time.perf_counter()
    names = await feeder.burst(count)
    await load.wait_until(lambda: all(n in webhooks.first_arrival for n in names), 30)
    arrived = sum(name in webhooks.first_arrival for name in names)
    if arrived < count:
        say(f"warm-up: {arrived}/{count} webhooks in 30 s")
    return arrived / (time.perf_counter() - started)


async def bench(with_profile: bool) -> dict[str, Any]:
    machine: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": _load()}
    receivers = Receivers(WebhookReceiver(key=lambda event: str(event["data"]["platform_name"])))
    webhooks, mail = receivers.webhooks, receivers.mail
    await receivers.start()
    stack = await start(
        {"POLES_NOTIFY_ALLOW_PRIVATE_TARGETS": "true", "POLES_NOTIFY_SMTP_PORT": str(mail.port)}
    )
    progress = load.Progress(kafka_as(), webhooks, mail)
    token = stack.token("bench-pole", f"pole:{load.LEAD_POLE}")
    feeder = load.Feeder(kafka_as(principal(COMMAND_SENDERS)), token, "bench")
    try:
        say("ceiling: raw aiokafka")
        top = await ceiling.measure(kafka_as())
        await prepare(stack, webhooks)
        await feeder.start()
        await progress.start()
        say("platform: warm-up")
        rough = await warm_up(feeder, webhooks)
        count = int(min(max(rough * BURST_SECONDS, 20), 30_000))
        say(f"platform: a burst of {count} submissions (warm-up ran at {rough:.0f}/s)")
        pids = stack.pids()
        meter = CpuMeter(pids)
        meter.start()
        services = {
            name: pid for name, pid in pids.items() if name in ("calls", "funding", "notify")
        }
        profiling = profile.start(services, BURST_SECONDS) if with_profile else []
        delivered_before, mailed_before = webhooks.received, mail.received
        store_before = await statements.snapshot()
        burst = await load.drain_burst(feeder, progress, count, max_seconds=45)
        cpu, busy = meter.stop()
        profiles = profile.finish(profiling)
        machine["busy_during_burst_percent"] = round(100 * busy, 1)
        drained = await load.wait_until(
            lambda: (
                webhooks.received >= delivered_before + count
                and mail.received >= mailed_before + count
            ),
            SETTLE_SECONDS,
        )
        settled = (
            "every delivery of the burst arrived"
            if drained
            else f"the {SETTLE_SECONDS:.0f} s wait for deliveries ran out: "
            f"{webhooks.received - delivered_before}/{count} webhooks, "
            f"{mail.received - mailed_before}/{count} e-mails"
        )
        store = statements.per_event(store_before, await statements.snapshot(), count, settled)
        if not drained:
            say("the burst is not fully delivered yet: the latency below includes its backlog")
        rate = max(burst.end_to_end / 2, 0.2)
        say(f"platform: latency at {rate:.1f}/s for {LATENCY_SECONDS:.0f} s")
        latency = await load.measure_latency(feeder, webhooks, rate, LATENCY_SECONDS)
        cost = _cost(pids, cpu, burst.submitted)
        await feeder.stop()
        await progress.stop()
        stack.stop_services()
        say(f"scale-out: one {scaleout.SERVICE}, then two in one group")
        events = 60_000
        scale = [await scaleout.run(stack, instances, events) for instances in (1, 2)]
    finally:
        stack.stop()
        await receivers.stop()
    machine["load_after"] = _load()
    speedup = scale[1].rate / scale[0].rate if scale[0].rate else None
    return {
        "at": datetime.now(UTC).isoformat(),
        "commit": _commit(),
        "machine": machine,
        "ceiling": {**asdict(top), "rate": top.rate},
        "platform": {
            **asdict(burst),
            "end_to_end": burst.end_to_end,
            "delivered_per_consumed": burst.delivered_per_consumed,
        },
        "ratio": burst.delivered / top.rate if top.rate else 0.0,
        "consumed_ratio": burst.end_to_end / top.rate if top.rate else 0.0,
        "store": store,
        "latency": asdict(latency),
        "cost": cost,
        "scale_out": [{**asdict(run), "partitions": run.partitions_by_member} for run in scale],
        "scale_out_service": scaleout.SERVICE,
        "scale_out_speedup": speedup,
        "profile": profiles,
    }


def _cost(pids: dict[str, int], cpu: dict[str, float], events: int) -> dict[str, Any]:
    cost = {}
    for name, pid in pids.items():
        rss, peak = memory_mb(pid)
        cost[name] = {
            "cpu_s_per_1000": 1000 * cpu[name] / max(events, 1),
            "cpu_s": cpu[name],
            "rss_mb": rss,
            "peak_rss_mb": peak,
        }
    return cost


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return ""


def print_profiles(profiles: dict[str, Any]) -> None:
    for name, summary in profiles.items():
        print(f"\nprofile of {name} ({summary['samples']} samples): own time | with callees")
        for (own, own_share), (incl, incl_share) in zip(
            summary["own"], summary["inclusive"], strict=False
        ):
            print(f"  {own_share:5.1f} % {own[:70]:<70} | {incl_share:5.1f} % {incl[:70]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", action="store_true", help="py-spy the services in the burst")
    args = parser.parse_args()
    # aiokafka warns while a fresh topic elects its leaders; it retries, the figures hold.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    results = asyncio.run(bench(args.profile))
    LOCAL.mkdir(parents=True, exist_ok=True)
    (LOCAL / "results.json").write_text(json.dumps(results, indent=2, default=str))
    if results["profile"]:
        print_profiles(results["profile"])
    print()
    print(table(results))
    print(last_line(results))


if __name__ == "__main__":
    main()
