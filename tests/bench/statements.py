"""What the services asked their store, read from their ``/metrics`` pages
(``poles_store_commands_total`` and ``poles_store_command_duration_seconds``, see
``shared.store_metrics``): statements and store milliseconds per event end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from shared.store_metrics import StoreTotals, store_totals
from tests.bench.stack import PORTS


async def snapshot() -> dict[str, StoreTotals]:
    """Each service's store totals so far; a service whose page could not be read (three tries)
    is left out, and ``per_event`` names it."""
    async with httpx.AsyncClient(timeout=10) as client:

        async def of(port: int) -> StoreTotals | None:
            for _ in range(3):
                try:
                    page = await client.get(f"http://127.0.0.1:{port}/metrics")
                    page.raise_for_status()
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
                    continue
                return store_totals(page.text)
            return None

        found = await asyncio.gather(*(of(port) for port in PORTS.values()))
    return {name: totals for name, totals in zip(PORTS, found, strict=True) if totals is not None}


def per_event(
    before: dict[str, StoreTotals], after: dict[str, StoreTotals], events: int, settled: str
) -> dict[str, Any]:
    """The statements the four services sent between two snapshots, per event of the burst."""
    events = max(events, 1)
    used = {name: after[name] - before[name] for name in after if name in before}
    total = sum(used.values(), StoreTotals())
    return {
        "events": events,
        "statements": total.commands,
        "per_event": total.commands / events,
        "store_ms_per_event": 1000 * total.seconds / events,
        "by_service": {
            name: {
                "per_event": spent.commands / events,
                "store_ms_per_event": 1000 * spent.seconds / events,
            }
            for name, spent in used.items()
        },
        "by_command": {
            command: count / events
            for command, count in sorted(total.by_command.items(), key=lambda item: -item[1])
        },
        "settled": settled,
        "unread": sorted(set(PORTS) - set(used)),
    }
