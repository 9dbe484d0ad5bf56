"""Memory of this process, from ``/proc/self/status`` (Linux)."""

from __future__ import annotations

import math
import resource
import sys


def _status_mb(field: str) -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_mb() -> float:
    """Current resident set size (VmRSS) in MB."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak RSS of this process image in MB: VmHWM. (`getrusage`'s ru_maxrss would also count the parent's
    RSS at fork time — Linux carries it across exec — and the bench parent holds the generator's arrays.)"""
    peak = _status_mb("VmHWM")
    if math.isnan(peak):  # no /proc: not Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)
    return peak
