"""Server-side figures from /proc, and the statistics of the report.

CPU: ``utime + stime`` of the server process and its descendants (fields 14 and 15 of
``/proc/<pid>/stat``, in clock ticks of ``SC_CLK_TCK``, usually 10 ms), sampled at the
start and the end of the fixed measurement window; all threads of a process are
included. Over a 10 s window at a few tens of percent of a core the tick resolution is
well under 1 % of the figure.

Memory: ``VmRSS`` from ``/proc/<pid>/status`` (process tree), before any salle joins and
at the end of the window; the difference divided by the number of salles is the
resident memory a connected salle costs the server.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def process_tree(pid: int, limit: int = 256) -> list[int]:
    """``pid`` and its descendants (bounded)."""
    seen, todo = [], [pid]
    while todo and len(seen) < limit:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(_children(p))
    return seen


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) consumed so far by ``pid`` and its descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # the comm field may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / CLK_TCK


def rss_bytes(pid: int) -> int:
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


@dataclass
class CpuWindow:
    """CPU seconds of a process tree between :meth:`start` and :meth:`stop`."""

    pid: int
    cpu0: float = 0.0
    cpu1: float = 0.0

    def start(self) -> None:
        self.cpu0 = cpu_seconds(self.pid)

    def stop(self) -> None:
        self.cpu1 = cpu_seconds(self.pid)

    @property
    def cpu_s(self) -> float:
        return max(0.0, self.cpu1 - self.cpu0)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of an already sorted sequence; 0 if empty."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return float(sorted_values[k])


def delay_summary_ms(delays_us: Iterable[int], zero_us: float = 0.0) -> dict[str, float]:
    """p50/p99/max in ms of one-way delays, each minus ``zero_us`` (the median of the
    direct publisher→subscriber run) and floored at 0."""
    values = sorted(max(0.0, d - zero_us) for d in delays_us)
    return {
        "p50": round(percentile(values, 50) / 1000, 3),
        "p99": round(percentile(values, 99) / 1000, 3),
        "max": round((values[-1] if values else 0.0) / 1000, 3),
    }


def median(values: Iterable[float]) -> float:
    v = sorted(values)
    return percentile(v, 50)
