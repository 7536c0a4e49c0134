"""Peak resident memory of one step, not of the whole process so far.

On Linux the kernel keeps the high-water mark of resident memory (``VmHWM``) and lets a process
reset it (write ``5`` to ``/proc/self/clear_refs``), so each step's own peak can be read. Where that
is not possible the process's lifetime peak from ``getrusage`` stands in; it is never less than
the step's. Child processes (Spark's JVM, ingest workers) count with their own peaks.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak() -> bool:
    """Start a new high-water mark; False where the platform cannot (the peak then accumulates)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes(*, children: bool = True) -> int:
    """The highest resident memory since the last `reset_peak` (or since start), in bytes,
    with (unless ``children=False``) the largest peak of the children that have ended."""
    own = _vm_hwm()
    if own is None:
        own = _rusage_bytes(resource.RUSAGE_SELF)
    return max(own, _rusage_bytes(resource.RUSAGE_CHILDREN)) if children else own


def _vm_hwm() -> int | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return None


def _rusage_bytes(who: int) -> int:
    peak = resource.getrusage(who).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024
