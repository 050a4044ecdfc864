"""How many cores this process may use, and how many texts a CPU forward holds (stdlib only: the API's settings and
the CLI read them before torch is imported)."""

from __future__ import annotations

import math
import os
from pathlib import Path

CPU_CHUNK = 64  # texts per forward call on a CPU (fastest of 16/32/64/128/256 for the 1x128 BiLSTM, fp32 and int8)
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" in µs, or "max <period>"


def cgroup_cpu_limit(path: Path = CPU_MAX) -> float | None:
    """CPUs allowed by the cgroup v2 quota at `path` (``quota / period``), or None without a quota or file."""
    try:
        fields = path.read_text(encoding="ascii").split()
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def cpu_cores(cpu_max: Path = CPU_MAX) -> int:
    """Cores this process may run on: its CPU affinity, capped by the cgroup quota (a container's ``--cpus``),
    rounded down, at least 1."""
    n = len(os.sched_getaffinity(0))
    limit = cgroup_cpu_limit(cpu_max)
    if limit is not None:
        n = min(n, math.floor(limit))
    return max(1, n)


def intra_op_threads(calls: int, cores: int | None = None) -> int:
    """Torch intra-op threads per model call when `calls` calls run at once on `cores` (default: `cpu_cores`)."""
    return max(1, (cores or cpu_cores()) // max(1, calls))
