"""Durable fleet state: profile positions in the store (across restarts, after a crash
between batches), idempotent cycles, wall-clock aligned cycles, slow meters and missed
cycles. Against the simulator over loopback TCP and a real SQLite store."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.fleet import FleetPoller, ReadPlan, RetryPolicy
from asyncdlms.fleet.positions import (
    StorePositions,
    StoreWriter,
    parse_duration,
    with_history,
)
from asyncdlms.fleet.schedule import BUSY, AlignedSchedule
from asyncdlms.server import Faults, Simulator
from asyncdlms.store import ReadingQuery, ReadingStore, StoreBatch, open_store

from .helpers import meters_of

PROFILE = "1.0.99.1.0.255"
PLAN = with_history(
    ReadPlan.of(f"profile:{PROFILE}", "register:1.0.1.8.0.255"), dt.timedelta(hours=6)
)
OPTIONS = {"client": 17, "auth": "low", "password": "12345678", "timeout": 5}
START = 1_796_000_000.0  # a fixed moment (2026-11-30) for the simulated meters' clocks


class MovableTime:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FailingStore:
    """A real store whose ``fail_on``-th write raises, as a process dying mid-cycle would
    leave it: the batches before are committed, that one is not."""

    def __init__(self, store: ReadingStore, fail_on: int) -> None:
        self.store = store
        self.fail_on = fail_on
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def write(self, batch: StoreBatch) -> None:
        self.writes += 1
        if self.writes == self.fail_on:
            raise RuntimeError("killed between batches (test)")
        await self.store.write(batch)


async def _poll_into(
    store: Any, sim: Simulator, *, batch_size: int = 200, schedule: AlignedSchedule | None = None
) -> None:
    meters = meters_of(sim, **OPTIONS)
    schedule = schedule or AlignedSchedule(900, clock=sim.time)
    async with FleetPoller(meters, PLAN, retry=RetryPolicy(attempts=1),
                           positions=StorePositions(store, PLAN)) as poller:  # fmt: skip
        writer = StoreWriter(store, capture_time=schedule.capture_time,
                             meters_per_cycle=len(meters), batch_size=batch_size)  # fmt: skip
        async for result in schedule.run(poller, cycles=1):
            assert result.ok, result.failure
            await writer.add(result)
        await writer.flush()


async def _rows_by_meter(store: ReadingStore) -> dict[str, list[dt.datetime]]:
    rows = await store.profile_rows(ReadingQuery(objects=[PROFILE]))
    by_meter: dict[str, list[dt.datetime]] = {}
    for row in rows:
        by_meter.setdefault(row.meter, []).append(row.capture_time)
    return by_meter


def _contiguous(stamps: list[dt.datetime]) -> bool:
    return all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(stamps))


async def test_restarted_poller_continues_from_the_stored_position(tmp_path: Path) -> None:
    await restarted_poller_continues(f"sqlite:///{tmp_path / 'r.db'}")


async def test_a_crash_between_batches_loses_only_the_batch_in_flight(tmp_path: Path) -> None:
    await crash_between_batches(f"sqlite:///{tmp_path / 'r.db'}")


async def restarted_poller_continues(url: str) -> None:
    """Three pollers, one after the other, time moving on: every 15-minute row from
    ``history`` before the first read to the meter's clock at the last, once each."""
    clock = MovableTime(START)
    async with Simulator(meters=3, shared_port=True, time_source=clock, load_profile_days=2) as sim:
        for advance in (0, 2 * 3600 + 17, 45 * 60):
            clock.now += advance
            store = await open_store(url)  # a restart: nothing kept in memory
            try:
                await _poll_into(store, sim)
            finally:
                await store.close()
        store = await open_store(url)
        try:
            by_meter = await _rows_by_meter(store)
            first = dt.datetime.fromtimestamp(START, dt.UTC) - dt.timedelta(hours=6)
            last = dt.datetime.fromtimestamp((clock.now // 900) * 900, dt.UTC)
            expected = int((last - first) / dt.timedelta(minutes=15)) + 1
            assert sorted(by_meter) == ["m0", "m1", "m2"]
            for stamps in by_meter.values():
                assert len(stamps) == len(set(stamps)) == expected
                assert stamps[-1] == last and _contiguous(stamps)
            positions = await store.positions("m1")
            assert positions[PROFILE] == last
            # the values are the meter's own: compare with a direct read
            async with sim.connect(1, **OPTIONS) as meter:
                direct = await meter.read_profile(PROFILE, start=first, end=last)
            stored = await store.profile_rows(ReadingQuery(meter="m1", objects=[PROFILE]))
            assert [row.values[1:] for row in stored] == [
                tuple(row.values[1:]) for row in direct
            ]
        finally:
            await store.close()


async def crash_between_batches(url: str) -> None:
    """A store that dies at the second of three batches: the first two meters are kept
    with their positions, the rest are read again by the next run; no gap, no duplicate."""
    clock = MovableTime(START)
    async with Simulator(meters=6, shared_port=True, time_source=clock, load_profile_days=2) as sim:
        store = await open_store(url)
        try:
            failing = FailingStore(store, fail_on=2)
            with pytest.raises(RuntimeError, match="killed"):
                await _poll_into(failing, sim, batch_size=2)
            kept = await _rows_by_meter(store)
            assert len(kept) == 2  # the first batch (two meters) committed, no more
            window = range(int(START) - 6 * 3600, int(START) + 1)
            first_rows = sum(1 for t in window if t % 900 == 0)
            assert all(len(stamps) == first_rows for stamps in kept.values())
            assert (await store.counts())["positions"] == 2
            clock.now += 900
            await _poll_into(store, sim, batch_size=2)  # the next run re-reads the rest
            by_meter = await _rows_by_meter(store)
            assert sorted(by_meter) == [f"m{i}" for i in range(6)]
            last = dt.datetime.fromtimestamp(clock.now // 900 * 900, dt.UTC)
            for meter, stamps in by_meter.items():
                assert len(stamps) == len(set(stamps)) and _contiguous(stamps)
                assert stamps[-1] == last
                if meter in kept:  # continued from its stored position: one more row
                    assert stamps[:-1] == kept[meter]
                else:  # never stored: read again from its history
                    assert stamps[0] >= last - dt.timedelta(hours=6)
        finally:
            await store.close()


async def test_a_retried_cycle_writes_the_same_keys(tmp_path: Path) -> None:
    """Registers are stored at the start of the cycle's slot: polling again within the slot
    (a retry, a restart) upserts instead of adding rows."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    clock = MovableTime(START + 60)
    async with Simulator(meters=2, shared_port=True, time_source=clock) as sim:
        store = await open_store(url)
        try:
            await _poll_into(store, sim)
            clock.now += 300  # same 15-minute slot
            await _poll_into(store, sim)
            registers = await store.readings(ReadingQuery(objects=["1.0.1.8.0.255"]))
            assert len(registers) == 2
            slot = dt.datetime.fromtimestamp(START - START % 900, dt.UTC)
            assert {r.capture_time for r in registers} == {slot}
            clock.now += 900  # the next slot: a new reading per meter
            await _poll_into(store, sim)
            assert len(await store.readings(ReadingQuery(objects=["1.0.1.8.0.255"]))) == 4
        finally:
            await store.close()


class FakeTime:
    """A wall clock moved only by ``sleep`` (plus ``overshoot`` seconds per sleep); a
    sleep first waits for the cycle under way to finish (``cycle_done``), as it would in
    real time with meters that answer in milliseconds."""

    def __init__(self, now: float, overshoot: float = 0.0) -> None:
        self.now = now
        self.overshoot = overshoot
        self.sleeps: list[float] = []
        self.cycle_done = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.wait_for(self.cycle_done.wait(), 30)
        self.cycle_done.clear()
        self.now += seconds + self.overshoot


async def test_cycles_start_on_wall_clock_boundaries() -> None:
    fake = FakeTime(900 * 2_000_000 + 437.5)  # 7 min 17.5 s into a slot
    schedule = AlignedSchedule(900, clock=fake.clock, sleep=fake.sleep)
    async with Simulator(meters=2, shared_port=True) as sim, FleetPoller(
        meters_of(sim, **OPTIONS), ReadPlan.of("clock")
    ) as poller:
        results = []
        async for result in schedule.run(poller, cycles=3):
            results.append(result)
            if len(results) % 2 == 0:
                fake.cycle_done.set()
    assert len(results) == 6 and all(r.ok for r in results)
    base = 900 * 2_000_000
    assert schedule.starts == [base + 437.5, base + 900, base + 1800]  # first at once
    assert fake.sleeps == [462.5, 900]
    assert [s.timestamp() for s in schedule.slots.values()] == [base, base + 900, base + 1800]
    assert schedule.missed == 0


async def test_missed_cycles_are_caught_up_from_the_stored_position(tmp_path: Path) -> None:
    """The process sleeps through slots (here 2 000 s late each time): one cycle runs for
    the current slot, counted as missed ones, and the profile has no gap."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    fake = FakeTime(START, overshoot=2000)
    schedule = AlignedSchedule(900, clock=fake.clock, sleep=fake.sleep)
    async with Simulator(meters=2, shared_port=True, time_source=fake.clock) as sim:
        store = await open_store(url)
        try:
            meters = meters_of(sim, **OPTIONS)
            async with FleetPoller(meters, PLAN, positions=StorePositions(store, PLAN)) as poller:
                writer = StoreWriter(store, capture_time=schedule.capture_time,
                                     meters_per_cycle=len(meters))  # fmt: skip
                seen = 0
                async for result in schedule.run(poller, cycles=3):
                    assert result.ok
                    await writer.add(result)
                    seen += 1
                    if seen % len(meters) == 0:
                        fake.cycle_done.set()
                await writer.flush()
            assert schedule.missed == 4  # two slots passed during each of the two sleeps
            slots = [s.timestamp() for s in schedule.slots.values()]
            assert all(s % 900 == 0 for s in slots) and len(slots) == 3
            for stamps in (await _rows_by_meter(store)).values():
                assert len(stamps) == len(set(stamps)) and _contiguous(stamps)
                assert stamps[-1].timestamp() == fake.now // 900 * 900
        finally:
            await store.close()


async def test_a_slow_meter_does_not_delay_the_next_cycle() -> None:
    """Meter 0 answers every request 0.8 s late; cycles start every second. The fast meters'
    second cycle is done before the slow meter's first, and the slow meter is reported
    busy in the cycle that found it still being read.

    The schedule's clock starts at a slot boundary: on the wall clock the first cycle could
    fall at the end of its slot and the second start a few milliseconds later, with the fast
    meters still busy (a flake seen on a loaded CI machine)."""
    async with Simulator(meters=3, shared_port=True) as sim:
        sim.set_faults(0, Faults(latency=0.8))
        meters = meters_of(sim, **OPTIONS)
        origin = time.time()
        schedule = AlignedSchedule(1.0, clock=lambda: time.time() - origin)
        async with FleetPoller(meters, ReadPlan.of("clock", "register:1.0.1.8.0.255"),
                               retry=RetryPolicy(attempts=1)) as poller:  # fmt: skip
            order = [(r.meter.name, r.cycle, r.failure.step if r.failure else "ok")
                     async for r in schedule.run(poller, cycles=2)]  # fmt: skip
    assert schedule.slots[1].timestamp() == 0 and schedule.slots[2].timestamp() == 1, order
    slow_first = order.index(("m0", 1, "ok"))
    assert order.index(("m1", 2, "ok")) < slow_first
    assert order.index(("m2", 2, "ok")) < slow_first
    assert ("m0", 2, BUSY) in order


def test_durations() -> None:
    assert parse_duration("2d") == dt.timedelta(days=2)
    assert parse_duration("1d12h") == dt.timedelta(hours=36)
    assert parse_duration("90m") == parse_duration(5400) == dt.timedelta(minutes=90)
    for bad in ("2 days", "-1h", "", "h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


class FlakyRegisterConnect:
    """The real ``connect``, whose associations drop (a reset connection) on the first read
    of the register after a profile was read, in the whole run (the plan's plain items go
    by GET with-list, or one by one)."""

    def __init__(self) -> None:
        self.failed = False
        self.profile_read = False

    async def __call__(self, url: str, **options: Any) -> Any:
        from asyncdlms.aio.connect import connect

        client = await connect(url, **options)
        for name in ("read_register", "get_many"):
            setattr(client, name, self._flaky(getattr(client, name)))
        read_profile = client.read_profile

        async def profile(*args: Any, **kwargs: Any) -> Any:
            rows = await read_profile(*args, **kwargs)
            self.profile_read = True
            return rows

        client.read_profile = profile
        return client

    def _flaky(self, original: Any) -> Any:
        async def read(*args: Any, **kwargs: Any) -> Any:
            if self.profile_read and not self.failed:
                self.failed = True
                raise ConnectionResetError("connection reset (test)")
            return await original(*args, **kwargs)

        return read


async def test_rows_of_a_failed_try_are_read_again_by_the_retry(tmp_path: Path) -> None:
    """The profile was read, then the try failed and was retried: the retry starts from
    the position before the failed try, so the rows it dropped are not lost."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    clock = MovableTime(START)
    async with Simulator(meters=1, shared_port=True, time_source=clock) as sim:
        store = await open_store(url)
        try:
            meters = meters_of(sim, **OPTIONS)
            schedule = AlignedSchedule(900, clock=sim.time)
            flaky = FlakyRegisterConnect()
            async with FleetPoller(meters, PLAN, connect=flaky,
                                   retry=RetryPolicy(attempts=2, base_delay=0.01),
                                   positions=StorePositions(store, PLAN)) as poller:  # fmt: skip
                writer = StoreWriter(store, capture_time=schedule.capture_time)
                async for result in schedule.run(poller, cycles=1):
                    assert result.ok and result.attempts == 2
                    await writer.add(result)
                await writer.flush()
            assert flaky.failed
            window = range(int(START) - 6 * 3600, int(START) + 1)
            stamps = (await _rows_by_meter(store))["m0"]
            assert len(stamps) == sum(1 for t in window if t % 900 == 0)
        finally:
            await store.close()


def test_history_in_a_fleet_file() -> None:
    from asyncdlms.fleet import FleetFileError, ReadProfile, parse_fleet

    text = """
[plan]
read = ["register:1.0.1.8.0.255", "profile:1.0.99.1.0.255"]
history = "2d"

[[meter]]
url = "tcp://127.0.0.1:4059"
"""
    plan = parse_fleet(text, "toml").plan
    profiles = [item for item in plan.items if isinstance(item, ReadProfile)]
    assert [p.history for p in profiles] == [dt.timedelta(days=2)]
    with pytest.raises(FleetFileError, match=r"plan\.history: '2 days' is not a duration"):
        parse_fleet(text.replace('"2d"', '"2 days"'), "toml")
