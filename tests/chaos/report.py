"""The tables the chaos run prints, and its last line
``lost=<n> duplicated=<n> recovery_p99_s=<n> brokers=<n> broker_kills=<n>``."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence

from tests.chaos.checks import Findings
from tests.chaos.faults import RESUME_LIMIT, Fault
from tests.chaos.workload import Tally

RECOVERY_TARGET_S = 15.0


def p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.99 * len(ordered)) - 1, 0)] if ordered else 0.0


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def commands_table(tally: Tally) -> str:
    kinds = sorted(tally.sent)
    rows = [
        (k, tally.sent[k], tally.accepted[k], tally.refused[k], tally.unanswered[k]) for k in kinds
    ]
    rows.append(
        (
            "all",
            sum(tally.sent.values()),
            sum(tally.accepted.values()),
            sum(tally.refused.values()),
            sum(tally.unanswered.values()),
        )
    )
    return table(("command", "sent", "accepted", "refused", "never answered"), rows)


def effects_table(findings: Findings) -> str:
    rows = [(r.effect, r.expected, r.found, r.lost, r.duplicated, r.note) for r in findings.rows]
    examples = [f"  {r.effect}: {example}" for r in findings.rows for example in r.examples]
    return "\n".join(
        [table(("effect", "expected", "found", "lost", "doubled", "note"), rows), *examples]
    )


def resume_of(fault: Fault) -> float:
    return RESUME_LIMIT if fault.resume_s is None else fault.resume_s


def faults_table(faults: Sequence[Fault]) -> str:
    by_kind: dict[str, list[Fault]] = defaultdict(list)
    for fault in faults:
        by_kind[fault.kind].append(fault)
    rows = []
    for kind, group in sorted(by_kind.items()):
        resumes = [resume_of(f) for f in group]
        rows.append(
            (
                kind,
                len(group),
                sum(f.mid_batch for f in group),
                sum(f.target.endswith("#2") for f in group),
                f"{statistics.median(f.down_s for f in group):.1f}",
                f"{statistics.median(f.ready_s for f in group):.1f}",
                f"{statistics.median(resumes):.1f}",
                f"{p99(resumes):.1f}",
                f"{max(resumes):.1f}",
                sum(f.resume_s is None for f in group),
            )
        )
    headers = ("fault", "n", "mid-batch", "instance 2", "down s", "restart->ready s",
               "resume p50 s", "p99 s", "max s", "no resume")  # fmt: skip
    return table(headers, rows)


def last_line(
    lost: int, duplicated: int, faults: Sequence[Fault], brokers: int, broker_kills: int
) -> tuple[str, float]:
    recovery = p99([resume_of(f) for f in faults])
    line = (
        f"lost={lost} duplicated={duplicated} recovery_p99_s={recovery:.1f} "
        f"brokers={brokers} broker_kills={broker_kills}"
    )
    return line, recovery


def late_by_effect(first: Findings, final: Findings) -> dict[str, int]:
    """Effects missing at the first count and there at the last: late, not lost."""
    missing = {row.effect: row.lost for row in first.rows}
    late = {row.effect: missing.get(row.effect, 0) - row.lost for row in final.rows}
    return {effect: n for effect, n in late.items() if n > 0}
