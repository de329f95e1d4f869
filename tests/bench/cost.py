"""What the processes cost, read from /proc: CPU seconds (user + system) and resident memory."""

from __future__ import annotations

import os
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may hold spaces: the fields after its closing parenthesis count.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, resident at its peak) in MB."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in values:
                    values[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, for the machine's load during a phase."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return float(sum(fields) - idle), float(sum(fields))


@dataclass
class CpuMeter:
    """CPU used by each process, and by the whole machine, between ``start`` and ``stop``."""

    pids: dict[str, int]

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._machine = machine_busy()

    def stop(self) -> tuple[dict[str, float], float]:
        """CPU seconds per process, and the machine's busy share (0-1) over the interval."""
        used = {name: cpu_seconds(pid) - self._before[name] for name, pid in self.pids.items()}
        busy, total = machine_busy()
        share = (busy - self._machine[0]) / max(total - self._machine[1], 1.0)
        return used, share
