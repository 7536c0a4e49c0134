"""The machine a benchmark ran on, for its JSON: the same fields in every benchmark."""

from __future__ import annotations

import os
import platform
from typing import Any

import psutil


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """Platform, Python, cores, memory, and the load average before and now: on a shared machine
    the load says how noisy the figures are."""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
