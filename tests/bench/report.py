"""The table the bench prints, and its last line."""

from __future__ import annotations

from typing import Any

STAGE_NAMES = {
    "commands_consumed": "calls: commands handled (validated, stored with outbox)",
    "events_published": "calls: dossier events on the broker (outbox relay)",
    "funding_consumed": "funding: dossier events consumed",
    "notify_consumed": "notify: dossier events consumed (deliveries recorded)",
    "webhooks_received": "notify: webhooks delivered to the bench",
    "emails_received": "notify: e-mails delivered to the bench",
}


def table(results: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    machine = results["machine"]
    add(
        f"machine: {machine['cpus']} CPUs, load average before {machine['load_before']}, "
        f"after {machine['load_after']}; machine busy during the burst: "
        f"{machine['busy_during_burst_percent']} %"
    )
    ceiling = results["ceiling"]
    add("")
    add(
        f"{'ceiling (raw aiokafka, consume batch + re-publish each, 1 KB)':<66}"
        f"{ceiling['rate']:>10.0f} msg/s  ({ceiling['messages']} in {ceiling['seconds']:.1f} s)"
    )
    platform = results["platform"]
    add("")
    add(
        f"platform: {platform['submitted']} dossier submissions at once, drained in "
        f"{platform['seconds']:.1f} s; rate of each stage (10 %-90 % window):"
    )
    for stage, rate in platform["rates"].items():
        done = platform["done"][stage]
        add(f"  {STAGE_NAMES.get(stage, stage):<64}{rate:>10.1f} /s   (done {done})")
    add(f"{'end to end (funding and notify consumed)':<66}{platform['end_to_end']:>10.1f} ev/s")
    start, end = platform["window"]
    add(
        f"{f'webhooks delivered in the same window ({start:.1f}-{end:.1f} s)':<66}"
        f"{platform['delivered']:>10.1f} /s"
    )
    add(f"{'delivered per consumed':<66}{platform['delivered_per_consumed']:>10.2f}")
    add(f"{'ratio to the ceiling (webhooks delivered)':<66}{results['ratio']:>10.4f}")
    consumed = "ratio to the ceiling (events consumed, as before)"
    add(f"{consumed:<66}{results['consumed_ratio']:>10.4f}")
    latency = results["latency"]
    add("")
    add(
        f"latency, command -> webhook at {latency['rate']:.1f}/s (half the sustained rate), "
        f"{latency['received']}/{latency['sent']} received:"
    )
    add(
        f"  p50 {latency['p50_ms']:.1f} ms   p99 {latency['p99_ms']:.1f} ms   "
        f"p99.9 {latency['p999_ms']:.1f} ms   max {latency['max_ms']:.1f} ms"
    )
    store = results["store"]
    by_service = store["by_service"]
    add("")
    add(
        f"{'process':<12}{'CPU s / 1000 events':>22}{'RSS MB':>10}{'peak RSS MB':>14}"
        f"{'statements / event':>21}{'store ms / event':>19}"
    )
    for name, cost in results["cost"].items():
        asked = by_service.get(name)
        spent = f"{asked['per_event']:>21.2f}{asked['store_ms_per_event']:>19.2f}" if asked else ""
        add(
            f"{name:<12}{cost['cpu_s_per_1000']:>22.2f}{cost['rss_mb']:>10.0f}"
            f"{cost['peak_rss_mb']:>14.0f}{spent}"
        )
    add(
        f"store, end to end: {store['per_event']:.2f} statements and "
        f"{store['store_ms_per_event']:.2f} ms per event ({store['statements']:.0f} for "
        f"{store['events']} events, counted after {store['settled']})"
    )
    if store["unread"]:
        add(f"  not counted (their /metrics could not be read): {', '.join(store['unread'])}")
    add(
        "  by command, per event: "
        + ", ".join(f"{command} {count:.2f}" for command, count in store["by_command"].items())
    )
    add("")
    add(
        f"scale-out: {results['scale_out_service']} instances in one consumer group, "
        "the same backlog of dossier events:"
    )
    for run in results["scale_out"]:
        members = ", ".join(
            f"{member.split('/')[0]}: {parts}" for member, parts in run["partitions"].items()
        )
        add(
            f"  {run['instances']} instance(s): {run['rate']:>8.0f} ev/s "
            f"({run['consumed']}/{run['events']})  partitions {members}"
        )
    if results["scale_out_speedup"] is not None:
        add(f"  speed-up with two: x{results['scale_out_speedup']:.2f}")
    return "\n".join(lines)


def last_line(results: dict[str, Any]) -> str:
    return (
        f"ratio={results['ratio']:.4f} p99_ms={results['latency']['p99_ms']:.1f} "
        f"statements_per_event={results['store']['per_event']:.2f} "
        f"delivered_per_consumed={results['platform']['delivered_per_consumed']:.2f}"
    )
