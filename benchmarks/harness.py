"""A tiny benchmark harness: best-of-N timing, side by side with gurux-dlms, as ratios.

Every benchmark in this folder runs as ``python benchmarks/<name>.py`` from a checkout (the
repository root is put on ``sys.path`` when asyncdlms is not installed). Timings are the best
of several repeats of a whole workload, which is the figure least disturbed by other load on
the machine; they are printed, never asserted.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def best_time(function: Callable[[], object], *, repeat: int = 7, number: int = 1) -> float:
    """Best wall time in seconds of ``number`` calls of ``function``, over ``repeat`` runs."""
    function()  # warm up caches and lazy imports
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                function()
            best = min(best, (time.perf_counter() - start) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def best_cpu_time(function: Callable[[], object], *, repeat: int = 7) -> float:
    """Best CPU time (this process, user + system) in seconds of one call of ``function``
    over ``repeat`` runs: on a machine shared with other work, time spent descheduled is
    not counted (wall time is)."""
    function()
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.process_time()
            function()
            best = min(best, time.process_time() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def report(title: str, ours: float, theirs: float | None, unit_count: int, unit: str) -> None:
    """Print one line: both times, throughput and the ratio gurux-dlms / asyncdlms."""
    line = f"{title:<48} asyncdlms {ours * 1e3:9.3f} ms ({unit_count / ours:12,.0f} {unit}/s)"
    if theirs is None:
        line += "   (no gurux-dlms figure)"
    else:
        line += (
            f"   gurux-dlms {theirs * 1e3:9.3f} ms ({unit_count / theirs:10,.0f} {unit}/s)"
            f"   ratio {theirs / ours:6.1f}x"
        )
    print(line, flush=True)
