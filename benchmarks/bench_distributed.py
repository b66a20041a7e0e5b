"""The distributed fleet (issue 16): jobs per second through Redis with 1 and 2 worker
processes, and the queue's per-job overhead against one in-process FleetPoller polling the
same meters (the same concurrency, the same store writes).

The simulated meters run in their own process with added latency (``--latency``) so that
the work is I/O-bound on this 2-core machine; redis-server runs on a free loopback port in
a temporary folder. Rounds are interleaved (poller, 1 worker, 2 workers, again...) so that
the machine's other load hits every variant alike; the per-round ratio is the figure to
read. The load average is printed with the numbers. Also printed: Redis commands per job
(``INFO stats``) and bytes per result record.

    python benchmarks/bench_distributed.py                 # 200 meters, 20 ms, 3 rounds
    python benchmarks/bench_distributed.py --meters 400 --latency 0.05 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import ROOT

from asyncdlms.distributed import (
    StreamKeys,
    enqueue_cycle,
    jobs_from_fleet,
    open_job_store,
    open_redis,
)
from asyncdlms.fleet import FleetPoller, Meter, ReadPlan, RetryPolicy

PLAN = ReadPlan.of("register:1.0.1.8.0.255", "register:1.0.2.8.0.255")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    sys.exit("redis-server did not start")


def start_simulator(meters: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncdlms", "simulate", "--port", "0", "--shared-port",
         "--meters", str(meters), "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("meter 0: "):
        sys.exit(f"asyncdlms simulate said {line!r}")
    return process, line.split()[2]


def start_worker(
    redis_url: str, store_url: str, prefix: str, name: str, concurrency: int
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "asyncdlms", "worker", "--redis", redis_url,
         "--store", store_url, "--prefix", prefix, "--name", name,
         "--concurrency", str(concurrency), "--attempts", "1"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


async def poller_round(meters: tuple[Meter, ...], store_url: str, concurrency: int) -> float:
    """Seconds for one cycle of one FleetPoller, its results committed as a worker does
    (group commit: what arrived during one commit goes into the next)."""
    store = await open_job_store(store_url)
    jobs = {job.meter: job for job in jobs_from_fleet(meters, PLAN, 1, dt.datetime.now(dt.UTC))}
    try:
        async with FleetPoller(
            meters, PLAN, concurrency=concurrency, retry=RetryPolicy(attempts=1)
        ) as poller:
            started = time.perf_counter()
            failed = 0
            arrived: asyncio.Queue[Any] = asyncio.Queue()

            async def committer() -> None:
                while True:
                    batch = [await arrived.get()]
                    while not arrived.empty():
                        batch.append(arrived.get_nowait())
                    if None in batch:
                        await store.commit([item for item in batch if item is not None])
                        return
                    await store.commit(batch)

            committing = asyncio.create_task(committer())
            async for result in poller.poll():
                failed += not result.ok
                arrived.put_nowait((jobs[result.meter.name], result))
            arrived.put_nowait(None)
            await committing
            elapsed = time.perf_counter() - started
    finally:
        await store.close()
    if failed:
        print(f"  ({failed} meters failed in the poller round)")
    return elapsed


async def queue_round(redis: object, keys: StreamKeys, meters: tuple[Meter, ...]) -> float:
    """Seconds from queueing one cycle to its last result record."""
    before = int(await redis.xlen(keys.results))  # type: ignore[attr-defined]
    jobs = jobs_from_fleet(meters, PLAN, 1, dt.datetime.now(dt.UTC))
    started = time.perf_counter()
    await enqueue_cycle(redis, keys, jobs)  # type: ignore[arg-type]
    while int(await redis.xlen(keys.results)) < before + len(jobs):  # type: ignore[attr-defined]
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_started(worker: subprocess.Popen[str]) -> None:
    """Until the worker says it takes jobs (a consumer shows in Redis only once it got one)."""
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if "taking jobs" not in line:
        sys.exit(f"a worker said {line!r}")


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="asyncdlms-bench-"))
    redis_process, redis_url = start_redis(folder)
    simulator, url = start_simulator(args.meters, args.latency)
    workers: list[subprocess.Popen[str]] = []
    try:
        meters = tuple(
            Meter(url, {"server": 1 + i, "timeout": 10}, name=f"meter-{i}", bus=False)
            for i in range(args.meters)
        )
        one, two = StreamKeys("bench-one"), StreamKeys("bench-two")
        for keys, name in ((one, "one"), (two, "two-a"), (two, "two-b")):
            store = f"sqlite:///{folder}/{keys.prefix}.db"
            workers.append(start_worker(redis_url, store, keys.prefix, name, args.concurrency))
        for worker in workers:
            wait_started(worker)
        redis = open_redis(redis_url)
        # warm-up: each variant once (imports, pollers created, SQLite files)
        await poller_round(meters, f"sqlite:///{folder}/poller.db", args.concurrency)
        await queue_round(redis, one, meters)
        await queue_round(redis, two, meters)
        rounds: list[tuple[float, float, float]] = []
        commands_per_job: list[float] = []
        cpu: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            cpu_before = time.process_time()
            base = await poller_round(meters, f"sqlite:///{folder}/poller.db", args.concurrency)
            poller_cpu = time.process_time() - cpu_before
            info = await redis.info("stats")
            before = int(info["total_commands_processed"])
            cpu_before = cpu_seconds(workers[0].pid)
            single = await queue_round(redis, one, meters)
            cpu.append((poller_cpu, cpu_seconds(workers[0].pid) - cpu_before))
            info = await redis.info("stats")
            # minus this benchmark's own polling of XLEN (one command per 5 ms wait)
            commands = int(info["total_commands_processed"]) - before
            commands_per_job.append(commands / args.meters)
            double = await queue_round(redis, two, meters)
            rounds.append((base, single, double))
        record_bytes = await redis.memory_usage(one.results) or 0
        record_count = int(await redis.xlen(one.results))
        await redis.aclose()
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(timeout=30)
        simulator.terminate()
        simulator.wait(timeout=10)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)

    n = args.meters
    load = os.getloadavg()
    print(f"{n} meters, {args.latency * 1000:g} ms added latency per answer, plan of "
          f"{len(PLAN)} registers (associate + {len(PLAN)} GET + release), concurrency "
          f"{args.concurrency} per poller/worker, {args.rounds} interleaved rounds; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} "
          "CPUs")  # fmt: skip
    print(
        "round | FleetPoller jobs/s | 1 worker jobs/s | 2 workers jobs/s | "
        "queue overhead (1 worker / poller - 1) | 2 workers / 1 worker"
    )
    overheads, scalings = [], []
    for index, (base, single, double) in enumerate(rounds, 1):
        overhead = single / base - 1
        scaling = single / double
        overheads.append(overhead)
        scalings.append(scaling)
        print(f"{index} | {n / base:.0f} | {n / single:.0f} | {n / double:.0f} | "
              f"{overhead * 100:+.1f} % | {scaling:.2f}×")  # fmt: skip
    print(f"median queue overhead per job: {statistics.median(overheads) * 100:+.1f} % "
          f"(per job: {statistics.median(r[1] - r[0] for r in rounds) / n * 1000:+.2f} ms of "
          f"{statistics.median(r[0] for r in rounds) / n * args.concurrency * 1000:.1f} ms "
          "per meter); median 2-worker speed-up "
          f"{statistics.median(scalings):.2f}×")  # fmt: skip
    poller_cpu = statistics.median(c[0] for c in cpu) / n * 1000
    worker_cpu = statistics.median(c[1] for c in cpu) / n * 1000
    print(f"CPU per job: FleetPoller process {poller_cpu:.2f} ms, worker process "
          f"{worker_cpu:.2f} ms ({(worker_cpu / poller_cpu - 1) * 100:+.0f} %; the load of "
          "the machine does not change CPU time much: the fairer overhead figure)")  # fmt: skip
    print("Redis commands per job (1 worker, schedule included; this benchmark's XLEN "
          f"polling too): {statistics.median(commands_per_job):.1f}")  # fmt: skip
    if record_count:
        print(f"result stream: {record_bytes / record_count:.0f} bytes per record in Redis")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
