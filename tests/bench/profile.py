"""``--profile``: py-spy samples the services while they drain the burst, and the functions that
took the most time (their own time and with what they call) are printed per service.

py-spy reads a process's stacks from outside (no change to the service) and sees through asyncio
to the coroutine running; the raw collapsed stacks stay in ``.local/bench/profile-<name>.txt``
for a flame graph (``flamegraph.pl`` or speedscope.app).
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from tests.bench.stack import LOCAL, ROOT

PY_SPY = ROOT / ".venv" / "bin" / "py-spy"


def start(pids: dict[str, int], seconds: float) -> list[tuple[str, subprocess.Popen[bytes]]]:
    running = []
    for name, pid in pids.items():
        output = LOCAL / f"profile-{name}.txt"
        command = [str(PY_SPY), "record", "--pid", str(pid), "--duration", str(int(seconds))]
        command += ["--rate", "100", "--format", "raw", "--output", str(output), "--nonblocking"]
        quiet = subprocess.DEVNULL
        running.append((name, subprocess.Popen(command, stdout=quiet, stderr=quiet)))
    return running


def finish(running: list[tuple[str, subprocess.Popen[bytes]]], top: int = 12) -> dict[str, Any]:
    summaries: dict[str, Any] = {}
    for name, process in running:
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            continue
        summaries[name] = summarize(LOCAL / f"profile-{name}.txt", top)
    return summaries


def summarize(path: Path, top: int) -> dict[str, Any]:
    """The top functions by own samples (the leaf frame) and by inclusive samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"samples": 0, "own": [], "inclusive": []}
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(frame) for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {"samples": total, "own": shares(own), "inclusive": shares(inclusive)}


def _function(frame: str) -> str:
    """``handle (shared/consumer.py:80)`` -> ``handle (shared/consumer.py)``: one line per
    function, whatever line it was on."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"
