"""The distributed fleet end to end (issue 16): worker processes killed with SIGKILL, Redis
restarted mid-cycle, a shared HDLC bus worked on by two workers. Real redis-server, real
simulator, real worker processes (``asyncdlms worker``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from asyncdlms.distributed import (
    StreamKeys,
    Worker,
    enqueue_cycle,
    jobs_from_fleet,
    load_job_fleet,
    open_job_store,
    open_redis,
    queue_status,
)
from asyncdlms.fleet import Meter, ReadPlan, RetryPolicy
from asyncdlms.server import Simulator

from ..simulate_process import simulate
from .conftest import RedisServer, asyncdlms_command

KEYS = StreamKeys()
PLAN = ["register:1.0.1.8.0.255"]


def write_fleet(folder: Path, url: str, meters: int) -> Path:
    document = {
        "defaults": {"timeout": 5, "bus": False},
        "plan": {"read": PLAN},
        "meters": [{"name": f"meter-{i}", "url": url, "server": 1 + i} for i in range(meters)],
    }
    path = folder / "fleet.json"
    path.write_text(json.dumps(document))
    return path


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(0.05)


def start_worker(
    redis_url: str, store_url: str, name: str, folder: Path, *options: str
) -> subprocess.Popen[str]:
    log = open(folder / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return asyncdlms_command(
        "worker", "--redis", redis_url, "--store", store_url, "--name", name,
        "--claim-after", "2", "--idle-exit", "4", "--timeout", "5", *options,
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def wait_exit(process: subprocess.Popen[str], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"a worker did not end within {timeout} s")
        await asyncio.sleep(0.1)
    return process.returncode


async def check_cycle(redis: Any, store_url: str, meters: int, cycle: int) -> list[dict[str, str]]:
    """Every meter: at least one result record (all ok) and exactly one stored set of
    readings, at the cycle's capture time; nothing left queued or pending."""
    records = [fields for _, fields in await redis.xrange(KEYS.results)]
    names = {f"meter-{i}" for i in range(meters)}
    assert {r["meter"] for r in records} == names
    assert all(r["ok"] == "1" and r["cycle"] == str(cycle) for r in records), [
        r for r in records if r["ok"] != "1"
    ][:3]
    store = await open_job_store(store_url)
    try:
        captures = set()
        for name in sorted(names):
            stored = await store.stored(name)
            assert [obj for obj, _ in stored] == ["3/1.0.1.8.0.255/2"], (name, stored)
            captures.add(stored[0][1])
        assert len(captures) == 1  # the cycle's time, whoever did the job and how often
    finally:
        await store.close()
    status = await queue_status(redis)
    assert (status.queued, status.pending) == (0, 0)
    return records


async def test_a_worker_killed_mid_cycle_loses_no_meter(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    meters = 300
    store_url = f"sqlite:///{tmp_path / 'readings.db'}"
    with simulate("--meters", str(meters), "--shared-port", "--latency", "0.03") as url:
        fleet, plan = load_job_fleet(write_fleet(tmp_path, url, meters))
        redis = open_redis(redis_server.url)
        try:
            now = dt.datetime.now(dt.UTC)
            await enqueue_cycle(redis, KEYS, jobs_from_fleet(fleet, plan, 1, now))
            first, second = (
                start_worker(redis_server.url, store_url, name, tmp_path, "--concurrency", "10")
                for name in ("worker-a", "worker-b")
            )
            try:

                async def some_done() -> bool:
                    return int(await redis.xlen(KEYS.results)) >= 60

                await wait_until(some_done, 60, "60 results")
                first.kill()  # SIGKILL: no clean-up at all
                first.wait(timeout=10)
                left = await redis.xpending_range(
                    KEYS.jobs, KEYS.group, min="-", max="+", count=1000, consumername="worker-a"
                )
                orphans = {str(entry["message_id"]) for entry in left}
                assert orphans, "worker-a had no job in hand when killed"
                assert await wait_exit(second, 90) == 0
            finally:
                for process in (first, second):
                    if process.poll() is None:
                        process.kill()
                        process.wait(timeout=10)
            records = await check_cycle(redis, store_url, meters, 1)
            by_job: dict[str, list[dict[str, str]]] = {}
            for record in records:
                by_job.setdefault(record["job"], []).append(record)
            for job in orphans:
                assert any(
                    r["deliveries"] == "2" and r["worker"] == "worker-b" for r in by_job[job]
                ), by_job.get(job)
            assert all(r["deliveries"] == "1" for j, rs in by_job.items() if j not in orphans
                       for r in rs)  # fmt: skip
        finally:
            await redis.aclose()


async def test_redis_restarted_mid_cycle(redis_server: RedisServer, tmp_path: Path) -> None:
    meters = 120
    store_url = f"sqlite:///{tmp_path / 'readings.db'}"
    with simulate("--meters", str(meters), "--shared-port", "--latency", "0.03") as url:
        fleet, plan = load_job_fleet(write_fleet(tmp_path, url, meters))
        redis = open_redis(redis_server.url)
        try:
            now = dt.datetime.now(dt.UTC)
            await enqueue_cycle(redis, KEYS, jobs_from_fleet(fleet, plan, 1, now))
            workers = [
                start_worker(redis_server.url, store_url, name, tmp_path, "--concurrency", "5")
                for name in ("worker-0", "worker-1")
            ]
            try:

                async def some_done() -> bool:
                    return int(await redis.xlen(KEYS.results)) >= 30

                await wait_until(some_done, 60, "30 results")
                await asyncio.to_thread(redis_server.restart, 1.0)  # AOF brings the streams back
                for process in workers:
                    assert await wait_exit(process, 90) == 0
            finally:
                for process in workers:
                    if process.poll() is None:
                        process.kill()
                        process.wait(timeout=10)
            await check_cycle(redis, store_url, meters, 1)
            reconnects = 0
            for i in range(2):
                said = (tmp_path / f"worker-{i}.log").read_text()
                found = re.search(r"(\d+) Redis reconnects", said)
                assert found, said
                reconnects += int(found.group(1))
            assert reconnects >= 2  # each worker lost Redis at least once and came back
        finally:
            await redis.aclose()


async def test_a_shared_hdlc_bus_carries_one_association_at_a_time(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with Simulator(3, interface="hdlc", shared_port=True) as simulator:
        statistics = simulator.servers[0].statistics
        # the simulator's record: two clients on the line at once are seen
        async with simulator.connect(0), simulator.connect(1):
            assert statistics.most_open_associations == 2
        assert statistics.open_associations == 0
        statistics.most_open_associations = 0
        before = statistics.associations

        meters = tuple(
            Meter(t.url, {"server": t.server, "physical_address": t.physical_address},
                  name=f"bus-meter-{t.index}")
            for t in simulator.targets
        )  # fmt: skip
        assert len({meter.bus_key for meter in meters}) == 1  # one gateway, one line
        redis = open_redis(redis_server.url)
        try:
            for cycle in (1, 2, 3):
                jobs = jobs_from_fleet(meters, ReadPlan.parse(PLAN), cycle, dt.datetime.now(dt.UTC))
                await enqueue_cycle(redis, KEYS, jobs)
            stores = [await open_job_store(f"sqlite:///{tmp_path / 'bus.db'}") for _ in range(2)]
            workers = [
                Worker(redis_server.url, store, name=f"bus-worker-{i}", concurrency=3,
                       idle_exit=1.0, retry=RetryPolicy(attempts=1))
                for i, store in enumerate(stores)
            ]  # fmt: skip
            done = await asyncio.gather(*(worker.run() for worker in workers))
            for store in stores:
                await store.close()
            assert sum(d.ok for d in done) == 9 and sum(d.failed for d in done) == 0
            assert all(d.ok > 0 for d in done)  # both workers took jobs of the bus
            assert statistics.associations - before == 9
            assert statistics.most_open_associations == 1
            assert (await redis.keys(KEYS.bus_lock("*"))) == []  # every lock given back
        finally:
            await redis.aclose()
