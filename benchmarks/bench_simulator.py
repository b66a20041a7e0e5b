"""Memory of idle virtual meters, and a few requests served, for the meter simulator.

Idle means created and listening (all meters on one shared port, and 1 000 meters on a
port each), no connection. The
figures: Python heap (tracemalloc) per meter and process RSS growth per meter, for 1 000 and
10 000 meters; then associations + reads against a few meters of the 10 000 through our
client, to show they answer.

    python benchmarks/bench_simulator.py [--meters 1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import time
import tracemalloc

from asyncdlms.server import Simulator

TARGET = 50 * 1024


def _rss() -> int:
    """Current resident set size in bytes (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def measure(meters: int, interface: str, shared: bool = True) -> Simulator:
    gc.collect()
    rss_before = _rss()
    tracemalloc.start()
    heap_before = tracemalloc.get_traced_memory()[0]
    simulator = Simulator(meters, interface=interface, shared_port=shared)  # type: ignore[arg-type]
    await simulator.start()
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0] - heap_before
    tracemalloc.stop()
    rss = _rss() - rss_before
    per_heap, per_rss = heap / meters, rss / meters
    verdict = "ok" if max(per_heap, per_rss) < TARGET else "OVER TARGET"
    ports = "one port" if shared else "own ports"
    print(
        f"{meters:>6} idle meters ({interface:7}, {ports}): "
        f"heap {heap / 1024:9.1f} KiB "
        f"= {per_heap:7.0f} B/meter; RSS +{rss / 1024:9.1f} KiB = {per_rss:7.0f} B/meter "
        f"(target < {TARGET // 1024} KiB/meter: {verdict})"
    )
    return simulator


async def serve_some(simulator: Simulator) -> None:
    count = len(simulator.meters)
    picks = sorted({0, count // 3, count // 2, count - 1})
    started = time.perf_counter()
    for index in picks:
        async with simulator.connect(index, client=17, auth="low", password=b"12345678") as meter:
            await meter.read_register("1.0.1.8.0.255")
            await meter.read_profile("1.0.99.1.0.255", entries=(1, 96))
    elapsed = time.perf_counter() - started
    print(
        f"       {len(picks)} associations, each a register and 96 profile rows: "
        f"{elapsed / len(picks) * 1000:.1f} ms per meter"
    )


async def main(counts: list[int]) -> None:
    print(f"Python {sys.version.split()[0]}")
    for interface in ("wrapper", "hdlc"):
        for meters in counts:
            if interface == "hdlc" and meters > 16000:
                continue
            simulator = await measure(meters, interface)
            try:
                await serve_some(simulator)
            finally:
                await simulator.close()
            del simulator
            gc.collect()
    # one listening socket per meter (the --port mode without --shared-port)
    simulator = await measure(min(counts[0], 1000), "wrapper", shared=False)
    try:
        await serve_some(simulator)
    finally:
        await simulator.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", default="1000,10000")
    arguments = parser.parse_args()
    asyncio.run(main([int(n) for n in arguments.meters.split(",")]))
