"""Fleet throughput: the fleet poller against N simulated meters served by ANOTHER process.

Scenario 1, each cycle = associate + read 4 registers (attribute 2, one GET each) + release.
Scenario 2, associations kept open: one cycle opens them (client memory per open
association measured there: resident set growth / N), then cycles of reads only.
Reported per N: reads per second, client CPU seconds per read (user + system of this
process; the simulator's CPU is not counted), memory per open association, and how they
grow with N. ``--gurux`` adds the baseline: gurux-dlms's sans-IO GXDLMSClient driven by
blocking sockets, one thread per meter in a thread pool, on the same simulated fleet
(scenario 1, and scenario 2 with one thread holding each association).

    python benchmarks/bench_fleet.py                     # N = 100, 1000, 10000
    python benchmarks/bench_fleet.py --quick             # N = 100, 1000 (a few seconds)
    python benchmarks/bench_fleet.py --meters 500 --gurux
    python benchmarks/bench_fleet.py --floor --meters 100,1000     # CPU per read vs the floor
    python benchmarks/bench_fleet.py --floor --loop uvloop         # the same on uvloop
    python benchmarks/bench_fleet.py --round-trips --latency 0.2   # round trips per cycle

``--floor``: client CPU per read with associations kept open, against the floor
(benchmarks/floor.py: an asyncio.Protocol + Future + per-request timer against an echo
server in another process), in interleaved repeats; the median ratio is printed, with every
pair's ratio. Servers run pinned to the last CPU and measured clients to the first
(:func:`pin`): unpinned, the scheduler sometimes ran client and server on one CPU in turns,
which batches every answer into one wake-up of the client and changed a client's CPU per
read by up to 2x between runs. A client's CPU per round trip also depends on how fast its
server answers (a fast server: many answers per wake-up of the client; a slow one: a
wake-up per answer or two): the floor client costs about twice as much against an echo
server spending 100 µs per request as against a plain echo, and about 1.5-2x as much
against an echo server on uvloop as against one on the stock loop. So three floors are
printed: the echo server on the stock asyncio loop (the floor of issue 17, the target's
denominator and the cheapest), the same on uvloop, and the paced floor, an echo server
(stock loop) that spends the simulator's own CPU per request (measured in the same run)
before answering. The simulator runs on uvloop when installed, as ``asyncdlms simulate``.
``--round-trips``: the default plan (4 registers and the clock) against meters that answer
after ``--latency`` seconds: requests sent per meter cycle and the wall time of a cycle.

The file-descriptor limit is raised to its hard limit in both processes (each open
association is one socket on each side).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import resource
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import median
from typing import Any

from harness import ROOT

from asyncdlms.aio.loop import loop_factory
from asyncdlms.fleet import (
    DEFAULT_PLAN,
    FleetPoller,
    FleetStatistics,
    Meter,
    ReadAttribute,
    ReadPlan,
    RetryPolicy,
)
from asyncdlms.obis import Obis

REGISTERS = ("1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.3.8.0.255", "1.0.4.8.0.255")
PLAN = ReadPlan(tuple(ReadAttribute(3, Obis(obis), 2) for obis in REGISTERS))


def raise_descriptor_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def pin(role: str) -> None:
    """Pin this process to one CPU: the servers (simulator, echo) to the last, the measured
    client to the first, so that a measurement does not depend on where the scheduler puts
    the two busy processes (sharing a CPU, or moving between them, changed a client's CPU
    per read by up to 2x from one run to the next). No-op with one CPU or without
    ``sched_setaffinity``."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[-1] if role == "server" else cpus[0]})


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- the simulator process ----------------------------------------------------------------


def serve(meters: int, latency: float = 0.0) -> None:
    """Run ``meters`` simulated meters on one port until standard input closes, on the
    event loop ``asyncdlms simulate`` picks (uvloop when the ``speed`` extra is installed)."""
    from asyncdlms.aio.loop import run as run_fast
    from asyncdlms.server import Faults, Simulator
    from asyncdlms.server.limits import ServerLimits

    raise_descriptor_limit()
    pin("server")
    faults = Faults(latency=latency) if latency else None
    # the whole fleet connects from one loopback address: no per-peer or total cap
    limits = ServerLimits(max_connections=None, max_connections_per_peer=None)

    async def main() -> None:
        async with Simulator(
            meters=meters, interface="wrapper", shared_port=True, faults=faults, limits=limits
        ) as sim:
            print(f"PORT {sim.targets[0].url.rsplit(':', 1)[1]}", flush=True)
            await asyncio.to_thread(sys.stdin.read)

    run_fast(main())  # uvloop when installed, as `asyncdlms simulate` runs it


class SimulatorProcess:
    process: subprocess.Popen[str] | None

    @classmethod
    def attach(cls, port: int, meters: int) -> SimulatorProcess:
        """The simulator another process started (for a measurement process)."""
        sim = cls.__new__(cls)
        sim.meters, sim.port, sim.process = meters, port, None
        return sim

    def __init__(
        self,
        meters: int,
        latency: float = 0.0,
        echo: bool = False,
        busy: float = 0.0,
        stock_loop: bool = False,
        canned: bool = False,
    ) -> None:
        """The simulator (or, ``echo``, the floor's echo server spending ``busy`` CPU seconds
        per request; ``canned``, the floor's canned DLMS answers) in its own process, on
        uvloop when installed unless ``stock_loop``."""
        self.meters = meters
        command = [sys.executable, __file__, "--serve", str(meters), "--latency", str(latency)]
        if echo:
            command = [sys.executable, str(ROOT / "benchmarks" / "floor.py"), str(busy)]
        if canned:
            command = [sys.executable, str(ROOT / "benchmarks" / "floor.py"), "--canned"]
        environment = dict(os.environ)
        if stock_loop:
            environment["ASYNCDLMS_LOOP"] = "asyncio"  # (asyncdlms.aio.loop)
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=environment,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.port = int(line.split()[1])

    def meters_list(self, **options: object) -> list[Meter]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [
            Meter(url, {"server": 1 + i, **options}, name=f"m{i}", bus=False)
            for i in range(self.meters)
        ]

    def cpu_seconds(self) -> float:
        """CPU seconds the server process used so far (Linux /proc)."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


# -- asyncdlms ----------------------------------------------------------------------------


@dataclass
class Figures:
    reads: int
    failed_meters: int
    seconds: float
    cpu: float
    memory_per_association: float | None = None
    requests_per_cycle: float | None = None

    @property
    def reads_per_second(self) -> float:
        return self.reads / self.seconds

    @property
    def cpu_per_read(self) -> float:
        return self.cpu / max(self.reads, 1)


async def _measure_cycles(poller: FleetPoller, cycles: int, statistics: FleetStatistics) -> Figures:
    reads_before, failed_before = statistics.reads_ok, statistics.meters_failed
    cpu, start = cpu_seconds(), time.perf_counter()
    for _ in range(cycles):
        async for _result in poller.poll():
            pass
    return Figures(
        statistics.reads_ok - reads_before,
        statistics.meters_failed - failed_before,
        time.perf_counter() - start,
        cpu_seconds() - cpu,
    )


class RequestCounter:
    """A trace hook: counts what the clients send (wrapper: one write per APDU)."""

    def __init__(self) -> None:
        self.sent = 0

    def __call__(self, direction: str, data: bytes, now: float) -> None:
        if direction == "->":
            self.sent += 1


def run_loop(main: object, loop: str) -> Any:
    """Run a coroutine on the stock event loop or on uvloop."""
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)  # type: ignore[arg-type]


def ours(
    sim: SimulatorProcess,
    cycles: int,
    concurrency: int,
    keep_open: bool,
    loop: str = "asyncio",
    count_requests: bool = False,
    single_gets: bool = False,
) -> Figures:
    counter = RequestCounter()

    async def main() -> Figures:
        statistics = FleetStatistics()
        options: dict[str, object] = {"trace": counter} if count_requests else {}
        if single_gets:  # one round trip per read, as the floor does: chunks of 1
            options["with_list_chunk_size"] = 1
        plan = DEFAULT_PLAN if count_requests else PLAN
        poller = FleetPoller(
            sim.meters_list(**options), plan, concurrency=concurrency, timeout=30.0,
            retry=RetryPolicy(attempts=1), keep_open=keep_open, metrics=statistics,
        )  # fmt: skip
        async with poller:
            memory = None
            if keep_open:  # the opening cycle: what N open associations cost
                gc.collect()
                before = resident_bytes()
                await _measure_cycles(poller, 1, statistics)
                gc.collect()
                memory = (resident_bytes() - before) / max(poller.open_associations, 1)
            else:  # a warm-up cycle (first imports, first code paths), not measured
                await _measure_cycles(poller, 1, statistics)
            counter.sent = 0
            figures = await _measure_cycles(poller, cycles, statistics)
            figures.memory_per_association = memory
            if count_requests:
                figures.requests_per_cycle = counter.sent / (cycles * sim.meters)
            return figures

    figures: Figures = run_loop(main(), loop)
    return figures


def floor(sim: SimulatorProcess, reads_per_connection: int, loop: str) -> Figures:
    """The floor client (benchmarks/floor.py) against the echo server: CPU per round trip."""
    from floor import floor_reads

    async def main() -> Figures:
        start = time.perf_counter()
        reads, (before, after) = await floor_reads(
            sim.port, sim.meters, reads_per_connection, cpu_seconds
        )
        return Figures(reads, 0, time.perf_counter() - start, after - before)

    figures: Figures = run_loop(main(), loop)
    return figures


# -- gurux-dlms, a thread per meter ---------------------------------------------------------


class GuruxMeter:
    """One meter read with gurux-dlms's GXDLMSClient over a blocking socket."""

    def __init__(self, port: int, server: int) -> None:
        from gurux_dlms import GXDLMSClient
        from gurux_dlms.enums import Authentication, InterfaceType

        self.client = GXDLMSClient(
            True, 16, server, Authentication.NONE, None, InterfaceType.WRAPPER
        )
        self.port = port
        self.socket: socket.socket | None = None

    def _exchange(self, frames: object) -> object:
        from gurux_dlms import GXByteBuffer, GXReplyData

        reply = GXReplyData()
        assert self.socket is not None
        for frame in frames:  # type: ignore[attr-defined]
            self.socket.sendall(bytes(frame))
            buffer = GXByteBuffer()
            while True:
                chunk = self.socket.recv(4096)
                if not chunk:
                    raise ConnectionError("closed by the meter")
                buffer.set(chunk)
                if self.client.getData(buffer, reply):
                    break
        return reply

    def open(self) -> None:
        self.socket = socket.create_connection(("127.0.0.1", self.port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reply = self._exchange(self.client.aarqRequest())
        self.client.parseAareResponse(reply.data)  # type: ignore[attr-defined]

    def read_registers(self) -> int:
        from gurux_dlms.objects import GXDLMSRegister

        reads = 0
        for obis in REGISTERS:
            register = GXDLMSRegister(obis)
            reply = self._exchange(self.client.read(register, 2))
            self.client.updateValue(register, 2, reply.value)  # type: ignore[attr-defined]
            reads += 1
        return reads

    def close(self) -> None:
        if self.socket is None:
            return
        try:
            release = self.client.releaseRequest()
            if release:
                self._exchange(release)
        finally:
            self.socket.close()
            self.socket = None


def gurux(sim: SimulatorProcess, cycles: int, threads: int, keep_open: bool) -> Figures:
    meters = [GuruxMeter(sim.port, 1 + i) for i in range(sim.meters)]

    def cycle_one(meter: GuruxMeter) -> int:
        try:
            if meter.socket is None:
                meter.open()
            reads = meter.read_registers()
            if not keep_open:
                meter.close()
            return reads
        except Exception:
            meter.close()
            return -1

    memory = None
    with ThreadPoolExecutor(max_workers=threads) as pool:
        if keep_open:
            gc.collect()
            before = resident_bytes()
            list(pool.map(cycle_one, meters))
            gc.collect()
            opened = sum(1 for m in meters if m.socket is not None)
            memory = (resident_bytes() - before) / max(opened, 1)
        else:  # a warm-up cycle, not measured
            list(pool.map(cycle_one, meters))
        cpu, start = cpu_seconds(), time.perf_counter()
        outcomes: list[int] = []
        for _ in range(cycles):
            outcomes.extend(pool.map(cycle_one, meters))
        seconds, used = time.perf_counter() - start, cpu_seconds() - cpu
        for meter in meters:
            meter.close()
    reads = sum(n for n in outcomes if n > 0)
    return Figures(reads, sum(1 for n in outcomes if n < 0), seconds, used, memory)


# -- one measurement per fresh client process ----------------------------------------------


def measure(
    kind: str,
    port: int,
    n: int,
    cycles: int,
    keep_open: bool,
    width: int,
    loop: str = "asyncio",
    count_requests: bool = False,
    single_gets: bool = False,
) -> None:
    """Run one measurement in this (fresh) process and print its figures as JSON."""
    raise_descriptor_limit()
    pin("client")
    sim = SimulatorProcess.attach(port, n)
    if kind == "ours":
        figures = ours(sim, cycles, width, keep_open, loop, count_requests, single_gets)
    elif kind == "floor":
        figures = floor(sim, cycles * len(REGISTERS), loop)
    else:
        figures = gurux(sim, cycles, width, keep_open)
    print(json.dumps(dataclasses.asdict(figures)), flush=True)


def in_child(
    kind: str,
    sim: SimulatorProcess,
    cycles: int,
    keep_open: bool,
    width: int,
    loop: str = "asyncio",
    count_requests: bool = False,
    single_gets: bool = False,
) -> Figures:
    command = [sys.executable, __file__, "--measure", kind, "--port", str(sim.port),
               "--meters", str(sim.meters), "--cycles", str(cycles),
               "--width", str(width), "--loop", loop]  # fmt: skip
    if keep_open:
        command.append("--keep-open")
    if count_requests:
        command.append("--count-requests")
    if single_gets:
        command.append("--single-gets")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} measurement failed: {done.stderr.strip()[-2000:]}")
    return Figures(**json.loads(done.stdout.strip().splitlines()[-1]))


# -- the report ----------------------------------------------------------------------------


def line(title: str, figures: Figures) -> str:
    memory = (
        f"  {figures.memory_per_association / 1024:6.1f} KiB/association"
        if figures.memory_per_association is not None
        else ""
    )
    failed = f"  ({figures.failed_meters} meter outcomes failed)" if figures.failed_meters else ""
    return (
        f"{title:<52} {figures.reads_per_second:7,.0f} reads/s "
        f"{figures.cpu_per_read * 1e6:7.1f} µs CPU/read{memory}{failed}"
    )


def run(meters: list[int], cycles: int, concurrency: int, with_gurux: bool, threads: int) -> None:
    limit = raise_descriptor_limit()
    print(
        "fleet benchmark: wrapper over loopback TCP, simulator in a separate process, each "
        f"measurement in a fresh client process; descriptor limit {limit}; "
        f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
    )
    table: list[tuple[int, str, Figures]] = []
    for n in meters:
        repeats = max(1, cycles if n <= 1000 else 1)
        sim = SimulatorProcess(n)
        try:
            print(f"N = {n} meters, {repeats} measured cycle(s):", flush=True)
            plan: list[tuple[str, str, bool, int]] = [
                ("asyncdlms", f"associate + 4 reads + release, concurrency {concurrency}",
                 False, concurrency),
                ("asyncdlms", f"kept open, 4 reads, concurrency {concurrency}", True, concurrency),
            ]  # fmt: skip
            if with_gurux:
                pool = min(n, threads)
                plan.append(("gurux-dlms", f"associate + 4 reads + release, {pool} threads",
                             False, pool))  # fmt: skip
                if n <= threads:
                    plan.append(("gurux-dlms", f"kept open, 4 reads, {n} threads", True, n))
            for library, scenario, keep_open, width in plan:
                kind = "ours" if library == "asyncdlms" else "gurux"
                figures = in_child(kind, sim, repeats, keep_open, width)
                table.append((n, f"{library} {scenario.split(',')[0]}", figures))
                print(line(f"  {library:<10} {scenario}", figures), flush=True)
        finally:
            sim.close()
    print("\nratios (asyncdlms / gurux-dlms): reads/s, and gurux CPU per read / ours")
    for n in meters:
        rows = {title: figures for size, title, figures in table if size == n}
        for scenario in ("associate + 4 reads + release", "kept open"):
            mine, theirs = rows.get(f"asyncdlms {scenario}"), rows.get(f"gurux-dlms {scenario}")
            if mine is not None and theirs is not None:
                speed = mine.reads_per_second / theirs.reads_per_second
                cpu = theirs.cpu_per_read / mine.cpu_per_read
                print(
                    f"  N = {n:>6} {scenario:<32} {speed:5.1f}x reads/s, "
                    f"{cpu:5.1f}x less CPU per read"
                )


def _listed(ratios: list[float]) -> str:
    return ", ".join(f"{ratio:.2f}" for ratio in ratios)


def run_floor(meters: list[int], cycles: int, concurrency: int, loop: str, repeats: int) -> None:
    """Kept-open CPU per read against the floor client, interleaved, medians of ratios.

    Three servers for the floor client, each in its own process: the echo server on the stock
    asyncio loop (the floor of issue 17: the target's denominator), the same on uvloop, and
    the paced echo (stock loop) spending the simulator's CPU per request."""
    raise_descriptor_limit()
    print(
        f"client CPU per read, kept open, vs the floor (Protocol + Future + timer, echo "
        f"server in another process); loop {loop}; {repeats} interleaved repeats; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for n in meters:
        sim = SimulatorProcess(n)
        echoes = {"asyncio": SimulatorProcess(n, echo=True, stock_loop=True)}
        if loop_factory() is not None:
            echoes["uvloop"] = SimulatorProcess(n, echo=True)
        paced: SimulatorProcess | None = None
        # canned DLMS answers from a server as cheap as the echo, on the echo's loop: our
        # client in the floor's rhythm, so that only the two clients' own CPU differs
        same = "uvloop" if loop == "uvloop" and "uvloop" in echoes else "asyncio"
        canned = SimulatorProcess(n, canned=True, stock_loop=same == "asyncio")
        try:
            mine_all, listed_all, server_all, canned_all, canned_ratios = [], [], [], [], []
            floors: dict[str, list[float]] = {name: [] for name in (*echoes, "paced")}
            ratios: dict[str, list[float]] = {name: [] for name in floors}
            for _ in range(repeats):
                theirs = {name: in_child("floor", echo, cycles, True, n, loop)
                          for name, echo in echoes.items()}  # fmt: skip
                server_before = sim.cpu_seconds()
                mine = in_child("ours", sim, cycles, True, concurrency, loop, single_gets=True)
                # the simulator's CPU per request (the opening cycle's 2 per meter included)
                server_all.append((sim.cpu_seconds() - server_before) / (mine.reads + 2 * n))
                if paced is None:
                    paced = SimulatorProcess(n, echo=True, busy=server_all[0], stock_loop=True)
                theirs["paced"] = in_child("floor", paced, cycles, True, n, loop)
                listed_all.append(
                    in_child("ours", sim, cycles, True, concurrency, loop).cpu_per_read
                )
                against_canned = in_child(
                    "ours", canned, cycles, True, concurrency, loop, single_gets=True
                ).cpu_per_read
                canned_all.append(against_canned)
                canned_ratios.append(against_canned / theirs[same].cpu_per_read)
                mine_all.append(mine.cpu_per_read)
                for name, figures in theirs.items():
                    floors[name].append(figures.cpu_per_read)
                    ratios[name].append(mine.cpu_per_read / figures.cpu_per_read)
            print(
                f"  N = {n:>5}: asyncdlms {median(mine_all) * 1e6:6.1f} µs CPU per read "
                f"({min(mine_all) * 1e6:.0f}-{max(mine_all) * 1e6:.0f}; single GETs, a round "
                f"trip each; the simulator {median(server_all) * 1e6:.0f} µs per request); "
                f"the default GET with-list: {median(listed_all) * 1e6:6.1f} µs CPU per value read",
                flush=True,
            )
            for name, values in floors.items():
                title = {
                    "asyncio": "echo server, asyncio loop (the floor)",
                    "uvloop": "echo server, uvloop",
                    "paced": f"paced echo ({server_all[0] * 1e6:.0f} µs per request)",
                }[name]
                print(
                    f"           vs {title}: floor {median(values) * 1e6:5.1f} µs per round "
                    f"trip ({min(values) * 1e6:.0f}-{max(values) * 1e6:.0f}); ratio (median) "
                    f"{median(ratios[name]):4.2f}x (all: {_listed(ratios[name])})",
                    flush=True,
                )
            print(
                f"           our client against canned answers as fast as the echo "
                f"({same} loop, the floor's rhythm): {median(canned_all) * 1e6:5.1f} µs per "
                f"read ({min(canned_all) * 1e6:.0f}-{max(canned_all) * 1e6:.0f}); ratio to "
                f"the {same} echo floor (median) {median(canned_ratios):4.2f}x (all: "
                f"{_listed(canned_ratios)})",
                flush=True,
            )
        finally:
            sim.close()
            canned.close()
            for echo in echoes.values():
                echo.close()
            if paced is not None:
                paced.close()


def run_round_trips(meters: list[int], latency: float, concurrency: int) -> None:
    """Requests per meter cycle and the wall time of a cycle, meters answering late."""
    raise_descriptor_limit()
    for n in meters:
        sim = SimulatorProcess(n, latency=latency)
        try:
            for keep_open in (False, True):
                figures = in_child("ours", sim, 1, keep_open, concurrency, count_requests=True)
                scenario = "kept open" if keep_open else "associate + release"
                print(
                    f"N = {n:>5}, latency {latency:g} s, default plan (4 registers + clock), "
                    f"concurrency {concurrency}, {scenario}: "
                    f"{figures.requests_per_cycle:4.1f} round trips per meter cycle, "
                    f"a cycle of all meters in {figures.seconds:5.2f} s",
                    flush=True,
                )
        finally:
            sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", default="100,1000,10000", help="comma-separated N values")
    parser.add_argument("--quick", action="store_true", help="N = 100 and 1000 only")
    parser.add_argument(
        "--cycles", type=int, help="measured cycles for N <= 1000 (3; 10 with --floor)"
    )
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--gurux", action="store_true", help="add the gurux-dlms baseline")
    parser.add_argument("--threads", type=int, default=1000, help="gurux thread pool bound")
    parser.add_argument("--floor", action="store_true", help="CPU per read vs the floor")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (--floor)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--round-trips", action="store_true", help="round trips per cycle")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds (--round-trips)")
    parser.add_argument("--count-requests", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--single-gets", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=("ours", "gurux", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keep-open", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cycles is None:
        args.cycles = 10 if args.floor else 3
    if args.serve:
        serve(args.serve, args.latency)
        return
    if args.measure:
        measure(args.measure, args.port, int(args.meters), args.cycles, args.keep_open,
                args.width, args.loop, args.count_requests, args.single_gets)  # fmt: skip
        return
    meters = [100, 1000] if args.quick else [int(n) for n in args.meters.split(",")]
    if args.floor:
        run_floor(meters if args.meters != "100,1000,10000" else [100, 1000], args.cycles,
                  args.concurrency, args.loop, args.repeats)  # fmt: skip
        return
    if args.round_trips:
        run_round_trips([1000] if args.meters == "100,1000,10000" else meters, args.latency,
                        args.concurrency)  # fmt: skip
        return
    run(meters, args.cycles, args.concurrency, args.gurux, args.threads)


if __name__ == "__main__":
    main()
