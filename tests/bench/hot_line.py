"""Twenty concurrent commitments on one budget line, measured from outside (issue 15, hot lines).

Two funding processes (``python -m services.funding.app``) on one database of the test store,
on private topics of the test broker; a budget officer's system (token role ``state``) sends
``POST /lines/animation/commitments`` to both at once, half to each, over real HTTP. It prints
each answer's time, p50 and max, and checks the line: its committed total is the sum of the
accepted commitments, each accepted once.

    deploy/local/test-stack.sh .venv/bin/python -m tests.bench.hot_line [--commitments 20]

It never fails on time (the integration test tests/integration/test_hot_line.py asserts the
bound); it exits non-zero only if the line's books are wrong.

Measured on this machine (2 cores, other work running, load average 0.4-3), p50 / max:

| code | 20 | 40 | 20, after 300 (``--history 300``) |
|---|---|---|---|
| racing retries (before) | 1.8-2.7 / 2.6-3.6 s | 7.9 / 11.0 s | 23.0 / 30.4 s |
| a queue per line | 0.9-1.4 / 1.5-2.6 s | 2.2-3.2 / 3.8-6.3 s | 4.6 / 8.0 s |
| and decisions noted (no scan) | 0.5-0.6 / 0.9 s | 1.0 / 1.6 s | 0.7 / 1.2 s |

The last row: "was this decision applied?" was a query by decision, a scan of the whole journal
on the local store, taken while holding the line; now answered from what the process noted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.infra import ROOT, auth, isolated_topics, unique

LINE = "animation"
ASK_CENTS = 1_000_00
STATE = auth("state", subject="budget-officer")
READY_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def commitment_body(number: int) -> dict[str, object]:
    return {
        "beneficiary": {"kind": "pole", "id": f"pole-{number}"},
        "years": [{"year": 2010, "amount_cents": ASK_CENTS}],
        "reason": "animation credits",
    }


@contextmanager
def funding_processes(count: int, logs: Path) -> Iterator[list[str]]:
    """``count`` funding processes on one database of the test store and private topics of the
    test broker; their base URLs. Stopped (by their own process ids) on the way out."""
    isolation = asyncio.run(isolated_topics())
    database = unique("bench_hot_line_")
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for number in range(1, count + 1):
            port = free_port()
            env = isolation.env(
                "funding", mongo_database=database, http_port=port, instance=str(number)
            )
            with (logs / f"{database}-funding-{number}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "services.funding.app"],
                        cwd=ROOT,
                        env={**os.environ, **env},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


async def until_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    raise SystemExit(f"{client.base_url} not ready within {READY_SECONDS:.0f} s")


async def commit(client: httpx.AsyncClient, number: int, run: str) -> tuple[int, float]:
    started = time.monotonic()
    response = await client.post(
        f"/lines/{LINE}/commitments",
        json=commitment_body(number),
        headers={**STATE, "Idempotency-Key": f"{run}-{number}"},
    )
    return response.status_code, time.monotonic() - started


async def measure(urls: list[str], commitments: int, history: int) -> bool:
    clients = [httpx.AsyncClient(base_url=url, timeout=120) for url in urls]
    async with contextlib.AsyncExitStack() as stack:
        for client in clients:
            await stack.enter_async_context(client)
            await until_ready(client)
        run = unique("hot-")
        for number in range(history):  # a line with a past: its journal holds these entries
            await commit(clients[number % 2], number, f"{run}-history")
        before = (await clients[0].get(f"/lines/{LINE}", headers=auth("operator"))).json()
        results = await asyncio.gather(
            *(commit(clients[n % 2], n, run) for n in range(commitments))
        )
        line = (await clients[1].get(f"/lines/{LINE}", headers=auth("operator"))).json()
    times = sorted(seconds for _, seconds in results)
    accepted = sum(1 for status, _ in results if status == 201)
    statuses = sorted({status for status, _ in results})
    committed = line["committed_cents"] - before["committed_cents"]
    print(
        f"{commitments} concurrent commitments on line {LINE} "
        f"(after {history} one by one), two funding processes"
    )
    print("answer times (s): " + " ".join(f"{seconds:.2f}" for seconds in times))
    print(
        f"p50={statistics.median(times):.2f}s max={times[-1]:.2f}s "
        f"accepted={accepted} statuses={statuses} committed_cents={committed} "
        f"expected_cents={accepted * ASK_CENTS}"
    )
    return committed == accepted * ASK_CENTS and statuses == [201]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commitments", type=int, default=20)
    parser.add_argument(
        "--history", type=int, default=0, help="commitments made one by one before, on the line"
    )
    parser.add_argument("--logs", type=Path, default=ROOT / ".local" / "test" / "logs")
    arguments = parser.parse_args()
    with funding_processes(2, arguments.logs) as urls:
        books_right = asyncio.run(measure(urls, arguments.commitments, arguments.history))
    if not books_right:
        raise SystemExit("the line's committed total is not the sum of the accepted commitments")


if __name__ == "__main__":
    main()
