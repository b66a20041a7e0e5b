"""Invocation counters across the workers of a distributed fleet (issues 12 and 16): blocks
reserved in Redis never overlap, whichever worker or machine asks; and on the wire, two
workers polling ciphered meters under one client system title and key (a strict simulator,
no frame counter read first) never use one (system title, key, counter) twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

from asyncdlms.distributed import (
    RedisInvocationCounterStore,
    StreamKeys,
    Worker,
    WorkerStatistics,
    enqueue_cycle,
    jobs_from_fleet,
    load_job_fleet,
    open_job_store,
    open_redis,
)
from asyncdlms.security import CipheringKey, SharedInvocationCounterStore, key_identity
from tests.security.test_counters_on_the_wire import (
    AUTHENTICATION_KEY,
    BLOCK_CIPHER_KEY,
    HLS_SECRET,
    SYSTEM_TITLE,
    ciphered_simulator,
)
from tests.security.wire import WireTap

from .conftest import RedisServer

TITLE = bytes.fromhex("4D4D4D0000000001")
UNICAST = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, bytes(range(16)))


def test_blocks_from_two_workers_never_overlap(redis_server: RedisServer) -> None:
    stores = [RedisInvocationCounterStore(redis_server.url, reserve=7) for _ in range(2)]
    taken: list[list[int]] = [[] for _ in range(4)]

    def take(index: int) -> None:
        store = stores[index % 2]
        for _ in range(300):
            taken[index].append(store.next_to_send(TITLE, UNICAST))

    threads = [threading.Thread(target=take, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used = [counter for out in taken for counter in out]
    assert len(used) == 1200 == len(set(used))
    # a worker started later (or restarted) continues above every block handed out
    later = RedisInvocationCounterStore(redis_server.url)
    assert later.peek_next(TITLE, UNICAST) > max(used)
    assert later.next_to_send(TITLE, UNICAST) > max(used)
    # a new key continues above its role's counters; the frame counter + 1 is honoured
    other = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, bytes(16))
    assert later.next_to_send(TITLE, other) > max(used)
    later.advance(TITLE, UNICAST, 50_000)
    assert later.next_to_send(TITLE, UNICAST) == 50_000
    for store in (*stores, later):
        store.close()


async def _three_cycles_on_two_workers(
    redis_server: RedisServer, tmp_path: Path
) -> tuple[list[WorkerStatistics], WireTap]:
    """Eight ciphered meters (HLS-GMAC, ae) behind a wire tap, three cycles of jobs, one at a
    time, taken by two workers sharing the fleet's Redis counter blocks."""
    async with ciphered_simulator(8) as simulator:
        host, port = simulator.urls[0].removeprefix("tcp://").rsplit(":", 1)
        async with WireTap(host, int(port), BLOCK_CIPHER_KEY, AUTHENTICATION_KEY) as tap:
            lines = [
                "[defaults]", "client = 1", 'auth = "gmac"', 'security = "ae"',
                f'system_title = "{SYSTEM_TITLE.hex()}"',
                'block_cipher_key_env = "TEST_GUEK"', 'authentication_key_env = "TEST_GAK"',
                'password_env = "TEST_HLS"', "timeout = 10",
                "[plan]", 'read = ["1/0.0.42.0.0.255/2"]',
            ]  # fmt: skip
            for index in range(8):
                lines += ["[[meter]]", f'name = "meter-{index}"', f'url = "{tap.url}"',
                          f"server = {index + 1}", "bus = false"]  # fmt: skip
            path = tmp_path / "fleet.toml"
            path.write_text("\n".join(lines) + "\n")
            meters, plan = load_job_fleet(path)
            environ = {"TEST_GUEK": BLOCK_CIPHER_KEY.hex(), "TEST_GAK": AUTHENTICATION_KEY.hex(),
                       "TEST_HLS": HLS_SECRET.decode()}  # fmt: skip
            stores = [await open_job_store(f"sqlite:///{tmp_path / f'w{i}.db'}") for i in (0, 1)]
            workers = [
                Worker(redis_server.url, store, name=f"w{i}", concurrency=4, environ=environ)
                for i, store in enumerate(stores)
            ]
            running = [asyncio.ensure_future(worker.run()) for worker in workers]
            redis = open_redis(redis_server.url)
            try:
                # One cycle at a time, the next once this one is done: jobs of one meter in
                # two cycles at once would meet as "busy" (a loaded machine made cycles
                # overlap when all three were queued at once).
                for cycle in (1, 2, 3):
                    jobs = jobs_from_fleet(meters, plan, cycle, dt.datetime.now(dt.UTC))
                    await enqueue_cycle(redis, StreamKeys(), jobs)
                    async with asyncio.timeout(60):
                        while sum(w.statistics.jobs for w in workers) < 8 * cycle:
                            await asyncio.sleep(0.02)
            finally:
                await redis.aclose()
                for worker in workers:
                    worker.stop()
                results = await asyncio.gather(*running)
            for store in stores:
                await store.close()
    return results, tap


async def test_two_workers_on_ciphered_meters_never_reuse_a_nonce(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    results, tap = await _three_cycles_on_two_workers(redis_server, tmp_path)
    assert sum(r.jobs for r in results) == 24, results  # every job done, ok or not
    assert all(r.jobs for r in results)  # both workers took jobs
    assert not tap.unknown
    assert len(tap.client) >= 24
    assert tap.repeated() == {}


async def test_two_workers_keep_each_meters_counters_increasing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The strict simulated meters refuse a counter not above the last one they accepted:
    every job is ok only when each meter sees increasing counters, whichever worker polls."""
    results, tap = await _three_cycles_on_two_workers(redis_server, tmp_path)
    assert sum(r.ok for r in results) == 24 and sum(r.failed for r in results) == 0, results
    # on the wire: the counters of the APDUs each meter received (by its wrapper port), in
    # order (an HLS-GMAC pass 3 value is computed before the APDU carrying it is ciphered,
    # so it is left out: its counter is one below the APDU's)
    per_meter: dict[int, list[int]] = {}
    for nonce in tap.client:
        if nonce.what != "hls-gmac":
            per_meter.setdefault(nonce.meter_port, []).append(nonce.invocation_counter)
    assert len(per_meter) == 8
    for counters in per_meter.values():
        assert counters == sorted(counters) and len(set(counters)) == len(counters)


def test_each_association_starts_above_every_block(redis_server: RedisServer) -> None:
    """Two workers taking turns on one meter: each association (begin_association, then its
    APDUs) uses counters above every earlier association's, whichever worker had it; the
    blocks grow within a long association, and the counters skipped stay small."""
    stores = [RedisInvocationCounterStore(redis_server.url, prefix="turns") for _ in range(2)]
    assert all(isinstance(store, SharedInvocationCounterStore) for store in stores)
    sent: list[int] = []
    for association in range(10):
        store = stores[association % 2]
        store.begin_association(TITLE)
        used = 3 if association != 5 else 100  # association 5 reads a long profile
        for _ in range(used):
            sent.append(store.next_to_send(TITLE, UNICAST))
    assert sent == sorted(sent) and len(set(sent)) == len(sent)
    assert sent[-1] - sent[0] < 400  # 9 x 16 + 16..128 for the long one
    # without begin_association a worker goes on in the block it holds (unique, but below
    # the other worker's: exactly what a meter would refuse, hence begin_association)
    kept = stores[0].next_to_send(TITLE, UNICAST)
    assert kept not in sent and kept < sent[-1]
    # another system title's blocks are not given up
    other_title = bytes.fromhex("4D4D4D0000000002")
    first = stores[1].next_to_send(other_title, UNICAST)
    stores[1].begin_association(TITLE)
    assert stores[1].next_to_send(other_title, UNICAST) == first + 1
    # peek shows the first counter above every block; advancing is honoured
    stores[1].begin_association(TITLE)
    assert stores[1].peek_next(TITLE, UNICAST) > max(sent)
    stores[0].advance(TITLE, UNICAST, 900_000)
    assert stores[0].next_to_send(TITLE, UNICAST) == 900_000
    stores[1].begin_association(TITLE)
    assert stores[1].next_to_send(TITLE, UNICAST) > 900_000
    for store in stores:
        store.close()


async def test_listen_publishes_notifications_to_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """``asyncdlms listen --redis`` puts each notification on the fleet's stream."""
    import sys

    from asyncdlms.distributed import read_notifications
    from asyncdlms.wrapper.frames import WrapperFrame
    from tests.listen.helpers import notification

    capture = tmp_path / "pushes.bin"
    capture.write_bytes(
        b"".join(WrapperFrame(1, 0x66, notification(e, invoke_id=e)).encode() for e in (5, 6))
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncdlms", "listen", f"file://{capture}?framing=wrapper",
        "--redis", redis_server.url, "--prefix", "zone-a",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err
    redis = open_redis(redis_server.url)
    try:
        records = await read_notifications(redis, StreamKeys("zone-a"))
    finally:
        await redis.aclose()
    assert len(records) == 2
    assert [fields["values"]["1.0.1.8.0.255"]["value"] for _, fields in records] == [5, 6]
