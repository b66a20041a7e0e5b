"""Jobs without secrets, the worker against a real redis-server and a simulator in this
process, ``status``, notifications (issue 16)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.distributed import (
    Job,
    SecretInJobError,
    StreamKeys,
    Worker,
    jobs_from_fleet,
    load_job_fleet,
    open_job_store,
    open_redis,
    publish_notification,
    queue_status,
    read_notifications,
)
from asyncdlms.security.hls import Secret
from asyncdlms.server import Simulator
from asyncdlms.server.simulator import default_associations
from asyncdlms.session.server import AssociationPolicy

from .conftest import RedisServer, asyncdlms_command

SECRET = "s3cret-Pw-91"
KEY_HEX = "000102030405060708090A0B0C0D0E0F"


def fleet_file(folder: Path, simulator: Simulator, extra: str = "") -> Path:
    lines = [
        "[defaults]",
        "client = 17",
        'auth = "low"',
        'password_env = "TEST_METER_PASSWORD"',
        "timeout = 5",
        extra,
        "[plan]",
        'read = ["register:1.0.1.8.0.255", "clock"]',
    ]
    for target in simulator.targets:
        lines += [
            "[[meter]]",
            f'name = "meter-{target.index}"',
            f'url = "{target.url}"',
            f"server = {target.server}",
            "bus = false",
        ]
    path = folder / "fleet.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def lls_simulator(meters: int) -> Simulator:
    associations = dict(default_associations())
    associations[17] = AssociationPolicy(MechanismName.LOW, Secret(SECRET))
    return Simulator(meters, shared_port=True, associations=associations)


async def everything_in(redis: Any) -> list[str]:
    """Every key, and every field and value of every key, as text."""
    texts: list[str] = []
    async for key in redis.scan_iter(match="*"):
        texts.append(key)
        kind = await redis.type(key)
        if kind == "stream":
            for entry_id, fields in await redis.xrange(key):
                texts.append(entry_id)
                for name, value in fields.items():
                    texts += [name, value]
            for group in await redis.xinfo_groups(key):
                texts.append(str(group))
        elif kind == "string":
            texts.append(await redis.get(key))
        elif kind == "hash":
            for name, value in (await redis.hgetall(key)).items():
                texts += [name, value]
    return texts


def test_secrets_are_refused_or_named(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(
        '[defaults]\npassword_env = "PW"\nblock_cipher_key_env = "GUEK"\n'
        '[[meter]]\nurl = "tcp://127.0.0.1:4059"\nname = "a"\n'
    )
    meters, plan = load_job_fleet(path)  # PW and GUEK need not be set here
    (job,) = jobs_from_fleet(meters, plan, 3, dt.datetime.now(dt.UTC))
    assert job.environment == {"password": "PW", "block_cipher_key": "GUEK"}
    assert "password" not in job.options
    again = Job.from_fields(job.fields())
    assert again == job
    meter = again.to_meter({"PW": "x1", "GUEK": KEY_HEX})
    assert meter.options["password"] == "x1" and meter.options["block_cipher_key"] == KEY_HEX

    path.write_text(f'[[meter]]\nurl = "tcp://127.0.0.1:4059"\nauthentication_key = "{KEY_HEX}"\n')
    meters, plan = load_job_fleet(path)
    with pytest.raises(SecretInJobError, match="authentication_key_env"):
        jobs_from_fleet(meters, plan, 1, dt.datetime.now(dt.UTC))


async def test_schedule_and_worker_keep_secrets_out_of_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with lls_simulator(6) as simulator:
        path = fleet_file(tmp_path, simulator)
        # the scheduler never sees the password: its environment does not have it
        schedule = asyncdlms_command(
            "schedule", str(path), "--redis", redis_server.url, "--cycles", "1",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = schedule.communicate(timeout=60)
        assert schedule.returncode == 0, err
        assert "6 jobs queued" in out
        redis = open_redis(redis_server.url)
        try:
            texts = await everything_in(redis)
            assert any("TEST_METER_PASSWORD" in text for text in texts)
            assert not any(SECRET in text for text in texts)

            store = await open_job_store(f"sqlite:///{tmp_path / 'readings.db'}")
            worker = Worker(
                redis_server.url, store, name="w-secret", concurrency=3, idle_exit=0.5,
                environ={"TEST_METER_PASSWORD": SECRET},
            )  # fmt: skip
            statistics = await worker.run()
            assert (statistics.ok, statistics.failed) == (6, 0)
            for index in range(6):
                stored = await store.stored(f"meter-{index}")
                assert [name for name, _ in stored] == ["3/1.0.1.8.0.255/2", "8/0.0.1.0.0.255/2"]
            await store.close()
            assert not any(SECRET in text for text in await everything_in(redis))

            # a literal password in the fleet file: refused before anything reaches Redis
            literal = fleet_file(tmp_path, simulator, extra=f'password = "{SECRET}"')
            text = literal.read_text().replace('password_env = "TEST_METER_PASSWORD"\n', "")
            literal.write_text(text)
            refused = asyncdlms_command(
                "schedule", str(literal), "--redis", redis_server.url,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            out, err = refused.communicate(timeout=60)
            assert refused.returncode == 2
            assert "password_env" in err and SECRET not in err
            assert not any(SECRET in text for text in await everything_in(redis))
        finally:
            await redis.aclose()


async def test_worker_without_the_variable_reports_the_job_step(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with lls_simulator(2) as simulator:
        meters, plan = load_job_fleet(fleet_file(tmp_path, simulator))
        redis = open_redis(redis_server.url)
        try:
            from asyncdlms.distributed import enqueue_cycle

            await enqueue_cycle(
                redis, StreamKeys(), jobs_from_fleet(meters, plan, 7, dt.datetime.now(dt.UTC))
            )
            store = await open_job_store(f"sqlite:///{tmp_path / 'r.db'}")
            worker = Worker(redis_server.url, store, name="w-bare", idle_exit=0.5, environ={})
            statistics = await worker.run()
            await store.close()
            assert (statistics.ok, statistics.failed) == (0, 2)
            records = [fields for _, fields in await redis.xrange("asyncdlms:results")]
            assert {r["meter"] for r in records} == {"meter-0", "meter-1"}
            for record in records:
                assert record["ok"] == "0" and record["step"] == "job"
                assert record["cause"] == "JobError"
                assert "TEST_METER_PASSWORD" in record["message"]
                assert record["cycle"] == "7" and record["worker"] == "w-bare"
            assert (await queue_status(redis)).pending == 0
        finally:
            await redis.aclose()


async def test_status_shows_pending_per_consumer_and_dead_consumers(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with lls_simulator(4) as simulator:
        meters, plan = load_job_fleet(fleet_file(tmp_path, simulator))
        redis = open_redis(redis_server.url)
        keys = StreamKeys("fleet-b")
        try:
            from asyncdlms.distributed import enqueue_cycle

            await enqueue_cycle(
                redis, keys, jobs_from_fleet(meters, plan, 1, dt.datetime.now(dt.UTC))
            )
            # a consumer that takes two jobs and is never heard of again
            taken = await redis.xreadgroup(keys.group, "ghost", {keys.jobs: ">"}, count=2)
            assert len(taken[0][1]) == 2
            status = await queue_status(redis, keys, dead_after=0.0)
            assert status.queued == 4 and status.pending == 2 and status.undelivered == 2
            assert [(c.name, c.pending, c.dead) for c in status.consumers] == [("ghost", 2, True)]
            assert status.oldest_pending is not None and status.oldest_pending >= 0

            command = asyncdlms_command(
                "status", "--redis", redis_server.url, "--prefix", "fleet-b", "--dead-after", "0",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            out, err = command.communicate(timeout=60)
            assert command.returncode == 0, err
            assert "queued jobs: 4" in out and "ghost: pending 2" in out and "DEAD" in out

            # a worker does the two new jobs and claims the ghost's two
            store = await open_job_store(f"sqlite:///{tmp_path / 'r.db'}")
            worker = Worker(
                redis_server.url, store, keys=keys, name="w-live", claim_after=0.2,
                idle_exit=1.0, environ={"TEST_METER_PASSWORD": SECRET},
            )  # fmt: skip
            statistics = await worker.run()
            await store.close()
            assert (statistics.ok, statistics.claimed) == (4, 2)
            status = await queue_status(redis, keys, window=60)
            assert status.queued == 0 and status.pending == 0
            assert status.results_per_second > 0
            deliveries = sorted(
                fields["deliveries"] for _, fields in await redis.xrange(keys.results)
            )
            assert deliveries == ["1", "1", "2", "2"]
        finally:
            await redis.aclose()


async def test_publish_notification(redis_server: RedisServer) -> None:
    redis = open_redis(redis_server.url)
    try:
        when = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
        first = await publish_notification(
            redis, meter="meter-9", apdu=bytes.fromhex("0F000000010C07EA"),
            received_at=when, system_title=bytes.fromhex("4D4D4D0000BC614E"),
            values={"1.0.1.8.0.255": 1234, "raw": b"\x01\x02"}, listener="listener-a",
        )  # fmt: skip
        await publish_notification(redis, meter="meter-10", apdu=b"\x0f", listener="listener-b")
        entries = await read_notifications(redis)
        assert entries[0][0] == first
        fields = entries[0][1]
        assert fields["meter"] == "meter-9" and fields["apdu"] == bytes.fromhex("0F000000010C07EA")
        assert fields["system_title"] == bytes.fromhex("4D4D4D0000BC614E")
        assert fields["values"] == {"1.0.1.8.0.255": 1234, "raw": "0102"}
        assert fields["received"] == when.isoformat() and fields["listener"] == "listener-a"
        assert entries[1][1]["meter"] == "meter-10"
    finally:
        await redis.aclose()


class FailingOnce:
    """The real SQLite job store, whose first commit fails (a database gone for a moment)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.failed = False

    async def commit(self, outcomes: Any) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("the database is away")
        await self.store.commit(outcomes)

    async def stored(self, meter: str) -> Any:
        return await self.store.stored(meter)

    async def close(self) -> None:
        await self.store.close()


async def test_a_job_whose_commit_failed_is_not_acknowledged_and_done_again(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with lls_simulator(1) as simulator:
        meters, plan = load_job_fleet(fleet_file(tmp_path, simulator))
        redis = open_redis(redis_server.url)
        try:
            from asyncdlms.distributed import enqueue_cycle

            await enqueue_cycle(
                redis, StreamKeys(), jobs_from_fleet(meters, plan, 1, dt.datetime.now(dt.UTC))
            )
            store = FailingOnce(await open_job_store(f"sqlite:///{tmp_path / 'r.db'}"))
            worker = Worker(
                redis_server.url, store, name="w-retry", claim_after=0.3, idle_exit=1.0,
                environ={"TEST_METER_PASSWORD": SECRET},
            )  # fmt: skip
            statistics = await worker.run()
            assert store.failed and statistics.store_errors == 1
            assert (statistics.ok, statistics.claimed) == (1, 1)
            (record,) = [fields for _, fields in await redis.xrange("asyncdlms:results")]
            assert record["ok"] == "1" and record["deliveries"] == "2"
            assert len(await store.stored("meter-0")) == 2
            await store.close()
            assert (await queue_status(redis)).pending == 0
        finally:
            await redis.aclose()


async def test_a_worker_waits_for_redis_with_backoff_and_can_be_stopped(tmp_path: Path) -> None:
    import asyncio

    import redis.exceptions

    from .conftest import free_port

    store = await open_job_store(f"sqlite:///{tmp_path / 'r.db'}")
    worker = Worker(f"redis://127.0.0.1:{free_port()}/0", store, name="w-alone")
    running = asyncio.ensure_future(worker.run())
    await asyncio.sleep(1.0)
    assert not running.done()  # still trying, with back-off
    worker.stop()
    with pytest.raises(redis.exceptions.ConnectionError):
        await asyncio.wait_for(running, 15)
    assert worker.statistics.reconnects >= 3  # 0.1 + 0.2 + 0.4 s ... tried again
    await store.close()
