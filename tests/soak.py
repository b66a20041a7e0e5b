"""Soak: many associations against the simulator, then resources back at their baseline.

``python -m tests.soak`` runs the full version: 10 000 associations opened and released in
waves of 250 (connect, GET the clock, release) while 1 000 more stay open with keep-alive
(the simulator closes a connection after 20 s of inactivity, the clients GET every 8 s).
``tests/server/test_soak.py`` runs a short one (1 000 in waves + 100 kept open).

Client and simulator run in this process (both are asyncdlms), so the figures cover both
sides. Before the soak a warm-up round (the same shape, smaller) fills caches and the
allocator's pools; the baseline is taken after it. After the soak, with every connection
closed: open file descriptors (/proc/self/fd) and asyncio tasks must be exactly back, Python
objects (gc) within 2 % + 2 000, blocks allocated by Python's allocator within 2 % + 10 000,
the traced heap (tracemalloc, when tracing) within 1 MiB and RSS within 16 MiB of the
baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field

import asyncdlms
from asyncdlms.server import ServerLimits, Simulator

#: the simulator's inactivity timeout and the kept clients' keep-alive period (full run; the
#: short one uses 4 s and 1.5 s)
INACTIVITY = 20.0
KEEP_ALIVE = 8.0

#: What "back at baseline" means (see the module documentation).
OBJECTS_FRACTION = 0.02
OBJECTS_SLACK = 2000
HEAP_SLACK = 1 << 20
RSS_SLACK = 16 << 20


@dataclass(frozen=True)
class Resources:
    """What a process holds at one moment."""

    file_descriptors: int
    tasks: int
    objects: int
    blocks: int
    heap: int
    rss: int

    @classmethod
    def now(cls) -> Resources:
        gc.collect()
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        return cls(
            len(os.listdir("/proc/self/fd")),
            len(asyncio.all_tasks()),
            len(gc.get_objects()),
            sys.getallocatedblocks(),
            tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0,
            rss,
        )

    def __str__(self) -> str:
        return (
            f"fds {self.file_descriptors}, tasks {self.tasks}, objects {self.objects}, "
            f"blocks {self.blocks}, heap {self.heap / 1e6:.1f} MB, RSS {self.rss / 1e6:.1f} MB"
        )


def problems(baseline: Resources, after: Resources) -> list[str]:
    """What is not back at its baseline (empty: everything is)."""
    found = []
    if after.file_descriptors != baseline.file_descriptors:
        found.append(f"file descriptors {baseline.file_descriptors} -> {after.file_descriptors}")
    if after.tasks != baseline.tasks:
        found.append(f"tasks {baseline.tasks} -> {after.tasks}")
    if after.objects > baseline.objects * (1 + OBJECTS_FRACTION) + OBJECTS_SLACK:
        found.append(f"objects {baseline.objects} -> {after.objects}")
    if after.blocks > baseline.blocks * (1 + OBJECTS_FRACTION) + 5 * OBJECTS_SLACK:
        found.append(f"allocated blocks {baseline.blocks} -> {after.blocks}")
    if after.heap > baseline.heap + HEAP_SLACK:
        found.append(f"heap {baseline.heap} -> {after.heap}")
    if after.rss > baseline.rss + RSS_SLACK:
        found.append(f"RSS {baseline.rss} -> {after.rss}")
    return found


@dataclass
class Round:
    associations: int = 0
    failures: int = 0
    kept_alive: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


async def _associate_once(url: str) -> None:
    async with asyncdlms.connect(url, client=16, timeout=30.0) as meter:
        await meter.get(8, "0.0.1.0.0.255", 2)


async def _wave(url: str, size: int, result: Round) -> None:
    outcomes = await asyncio.gather(
        *(_associate_once(url) for _ in range(size)), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.failures += 1
            result.errors[f"{type(outcome).__name__}: {outcome}"[:120]] += 1
        else:
            result.associations += 1


async def soak_round(
    simulator: Simulator,
    associations: int,
    kept_open: int,
    wave: int,
    keep_alive: float,
    hold: float = 0.0,
) -> Round:
    """``kept_open`` associations held with keep-alive while ``associations`` are opened and
    released in waves of ``wave``; then everything closed."""
    url = simulator.urls[0]
    result = Round()
    started = time.monotonic()
    kept = []
    try:
        for first in range(0, kept_open, wave):
            batch = [
                asyncdlms.connect(url, client=16, timeout=30.0, keep_alive=keep_alive)
                for _ in range(min(wave, kept_open - first))
            ]
            kept += await asyncio.gather(*(meter.__aenter__() for meter in batch))
        done = 0
        while done < associations:
            size = min(wave, associations - done)
            await _wave(url, size, result)
            done += size
        # the kept associations must outlive the server's inactivity timeout by keep-alive
        remaining = hold - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)
        for meter in kept:
            if meter.session.associated:
                result.kept_alive += 1
            else:
                result.failures += 1
    finally:
        await asyncio.gather(*(meter.__aexit__(None, None, None) for meter in kept))
    server = simulator.servers[0]
    while server.connection_count:
        await asyncio.sleep(0.01)
    for _ in range(5):
        await asyncio.sleep(0)
    result.seconds = time.monotonic() - started
    return result


async def soak(
    associations: int,
    kept_open: int,
    wave: int = 250,
    inactivity: float = INACTIVITY,
    keep_alive: float = KEEP_ALIVE,
    verbose: bool = True,
) -> tuple[Resources, Resources, Round]:
    """The whole soak: warm-up, baseline, the soak round, after. Returns the baseline, the
    resources after and the round's counts."""
    _raise_file_limit(2 * kept_open + 2 * wave + 256)
    async with Simulator(
        1,
        inactivity_timeout=inactivity,
        limits=ServerLimits(max_connections_per_peer=None),
    ) as simulator:
        # the warm-up has the soak's peak (every kept association and one wave open): the
        # allocator keeps its pools after a peak, what must not grow is what comes after it
        await soak_round(simulator, min(associations, wave), kept_open, wave, keep_alive)
        baseline = Resources.now()
        if verbose:
            print(f"baseline: {baseline}", flush=True)
        result = await soak_round(
            simulator, associations, kept_open, wave, keep_alive, hold=inactivity + keep_alive
        )
        after = Resources.now()
        if verbose:
            print(
                f"soak: {result.associations} associations in waves of {wave} "
                f"({result.failures} failed), {kept_open} kept open "
                f"({result.kept_alive} still associated after {inactivity + keep_alive:.0f} s+), "
                f"{result.seconds:.1f} s",
                flush=True,
            )
            print(f"after:    {after}", flush=True)
            for error, count in result.errors.most_common(5):
                print(f"  {count} x {error}", flush=True)
    return baseline, after, result


def _raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(f"the soak needs {needed} file descriptors, the hard limit {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--associations", type=int, default=10_000)
    parser.add_argument("--kept-open", type=int, default=1_000)
    parser.add_argument("--wave", type=int, default=250)
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace the heap too (about 2x slower)"
    )
    args = parser.parse_args(arguments)
    if args.tracemalloc:
        tracemalloc.start()
    baseline, after, result = asyncio.run(soak(args.associations, args.kept_open, args.wave))
    found = problems(baseline, after)
    if result.failures:
        found.append(f"{result.failures} associations failed")
    for problem in found:
        print(f"NOT BACK: {problem}")
    print("ok: back at baseline" if not found else "FAILED")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
