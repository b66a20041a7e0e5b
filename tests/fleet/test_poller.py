"""The fleet poller against the in-process simulator over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from typing import Any

import anyio
import pytest

from asyncdlms.errors import (
    AssociationRejectedError,
    AuthenticationError,
    DataAccessError,
    RequestTimeoutError,
)
from asyncdlms.fleet import (
    BreakerPolicy,
    BreakerState,
    CircuitOpenError,
    FleetMetrics,
    FleetPoller,
    FleetStatistics,
    Meter,
    MeterResult,
    MeterTimeoutError,
    PollerClosedError,
    ReadPlan,
    RetryPolicy,
    Step,
    poll_fleet,
)
from asyncdlms.server import DEFAULT_PASSWORD, Faults, Simulator

from .helpers import (
    CountingConnect,
    HandClock,
    RecordingSleep,
    ScriptedRandom,
    closed_port,
    meters_of,
)

PLAN = ReadPlan.of("register:1.0.1.8.0.255", "3/1.0.2.8.0.255/2", "clock")
NO_WAIT = RetryPolicy(attempts=2, base_delay=0.0)


async def collect(poller: FleetPoller) -> dict[str, MeterResult]:
    results: dict[str, MeterResult] = {}
    async for result in poller.poll():
        assert result.meter.name not in results, "two outcomes for one meter"
        results[result.meter.name] = result
    return results


async def test_every_meter_gives_one_outcome_also_when_some_fail() -> None:
    async with Simulator(meters=12, shared_port=True, refuse_associations={3}) as sim:
        sim.set_faults(5, Faults(silent=True))
        meters = meters_of(sim, timeout=0.3)
        wrong = meters[7]
        meters[7] = Meter(
            wrong.url, {**wrong.options, "client": 17, "auth": "low", "password": b"wrong"},
            name="m7", bus=False,
        )  # fmt: skip
        seen: list[MeterResult] = []
        statistics = FleetStatistics()
        async with FleetPoller(
            meters, PLAN, retry=NO_WAIT, on_result=seen.append, metrics=statistics
        ) as poller:
            results = await collect(poller)
    assert set(results) == {f"m{i}" for i in range(12)}
    assert len(seen) == 12
    refused, silent, denied = results["m3"], results["m5"], results["m7"]
    assert refused.failure is not None and refused.failure.step == Step.ASSOCIATE
    assert isinstance(refused.failure.error, AssociationRejectedError)
    assert refused.attempts == 1  # a rejection is not retried
    assert silent.failure is not None and silent.failure.step == Step.ASSOCIATE
    assert isinstance(silent.failure.error, RequestTimeoutError)
    assert silent.attempts == 2 and silent.failure.retryable
    assert denied.failure is not None and isinstance(denied.failure.error, AuthenticationError)
    assert denied.attempts == 1
    for name, result in results.items():
        if name in ("m3", "m5", "m7"):
            assert not result.ok and result.readings == ()
            continue
        assert result.ok and result.cycle == 1 and result.attempts == 1
        values = result.values()
        assert list(values) == list(PLAN.keys)
        assert values["register:1.0.1.8.0.255"].symbol == "Wh"
        assert all(reading.timestamp.tzinfo is not None for reading in result.readings)
    assert statistics.meters_ok == 9 and statistics.meters_failed == 3
    assert statistics.reads_ok == 9 * 3
    assert statistics.failures_by_step == {"associate": 3}


async def test_a_refused_connection_is_the_connect_step() -> None:
    meter = Meter(f"tcp://127.0.0.1:{closed_port()}", name="gone")
    [result] = await poll_fleet([meter], PLAN, retry=RetryPolicy(attempts=1))
    assert result.failure is not None and result.failure.step == Step.CONNECT
    assert isinstance(result.failure.error, ConnectionRefusedError)
    assert result.failure.retryable


async def test_a_refused_read_names_the_item_and_the_others_are_still_read() -> None:
    plan = ReadPlan.of("register:1.0.1.8.0.255", "1/0.0.99.99.99.255/2", "clock")
    async with Simulator(meters=2, shared_port=True) as sim:
        results = await poll_fleet(meters_of(sim), plan, retry=NO_WAIT)
    for result in results:
        assert result.failure is not None
        assert result.failure.step == "read 1/0.0.99.99.99.255/2"
        assert isinstance(result.failure.error, DataAccessError)
        assert set(result.values()) == {"register:1.0.1.8.0.255", "clock"}
        assert result.attempts == 1


async def test_global_concurrency_is_bounded() -> None:
    counting = CountingConnect()
    async with Simulator(meters=30, shared_port=True, faults=Faults(latency=0.005)) as sim:
        poller = FleetPoller(meters_of(sim), PLAN, concurrency=4, connect=counting)
        async with poller:
            results = await collect(poller)
    assert all(result.ok for result in results.values()) and len(results) == 30
    assert counting.calls == 30
    assert 2 <= counting.peak <= 4
    assert counting.active == 0


async def test_one_association_at_a_time_on_a_shared_bus() -> None:
    async with Simulator(meters=8, shared_port=True, faults=Faults(latency=0.005)) as sim:
        meters = [
            Meter(m.url, m.options, name=m.name, bus="line-a" if i < 4 else "line-b")
            for i, m in enumerate(meters_of(sim))
        ]
        bus_of = {f"{m.url}/{m.options['server']}": str(m.bus) for m in meters}
        counting = CountingConnect(bus_of)
        async with FleetPoller(meters, PLAN, concurrency=8, connect=counting) as poller:
            results = await collect(poller)
    assert all(result.ok for result in results.values())
    assert counting.bus_peak == {"line-a": 1, "line-b": 1}
    assert counting.peak == 2  # the two lines in parallel


async def test_hdlc_meters_behind_one_gateway_share_a_bus() -> None:
    async with Simulator(meters=4, interface="hdlc", shared_port=True) as sim:
        meters = [
            Meter(t.url, {"server": t.server, "physical_address": t.physical_address})
            for t in sim.targets
        ]
        host, port = sim.servers[0].address or ("", 0)
        assert {m.bus_key for m in meters} == {f"{host}:{port}"}
        counting = CountingConnect()
        async with FleetPoller(meters, PLAN, concurrency=4, connect=counting) as poller:
            results = await collect(poller)
    assert len(results) == 4 and all(r.ok for r in results.values())
    assert counting.peak == 1


async def test_retries_back_off_exponentially_with_jitter() -> None:
    sleep = RecordingSleep()
    policy = RetryPolicy(attempts=4, base_delay=1.0, multiplier=2.0, max_delay=3.0, jitter=0.5)
    retries: list[tuple[int, float]] = []

    class Hooks(FleetMetrics):
        def retry_scheduled(self, meter: Meter, attempt: int, delay: float, failure: Any) -> None:
            retries.append((attempt, delay))

    meter = Meter(f"tcp://127.0.0.1:{closed_port()}", name="gone")
    [result] = await poll_fleet(
        [meter], PLAN, retry=policy, random=ScriptedRandom(0.0, 1.0, 0.5),  # type: ignore[arg-type]
        sleep=sleep, metrics=Hooks(),
    )  # fmt: skip
    # ceilings 1, 2, min(3, 4) = 3; factors 1 - 0.5 × (0, 1, 0.5)
    assert sleep.delays == [1.0, 1.0, 2.25]
    assert retries == [(1, 1.0), (2, 1.0), (3, 2.25)]
    assert result.attempts == 4 and result.failure is not None


def test_retry_policy_delays_stay_within_bounds() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=8.0, jitter=1.0)
    source = random.Random(7)
    for attempt in range(1, 10):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        for _ in range(50):
            assert 0.0 <= policy.delay(attempt, source) <= ceiling
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)


async def test_circuit_breaker_opens_and_half_opens() -> None:
    clock = HandClock()
    states: list[BreakerState] = []

    class Hooks(FleetMetrics):
        def breaker_changed(self, meter: Meter, state: BreakerState) -> None:
            states.append(state)

    async with Simulator(meters=1) as sim:
        counting = CountingConnect()
        counting.broken = True
        poller = FleetPoller(
            meters_of(sim), PLAN, retry=RetryPolicy(attempts=3, base_delay=0.0),
            breaker=BreakerPolicy(failure_threshold=2, reset_timeout=100.0, backoff=2.0),
            clock=clock, sleep=RecordingSleep(), connect=counting, metrics=Hooks(),
        )  # fmt: skip
        async with poller:

            async def cycle() -> MeterResult:
                [result] = [r async for r in poller.poll()]
                return result

            first, second = await cycle(), await cycle()
            assert first.failure is not None and first.failure.step == Step.CONNECT
            assert first.attempts == 3 and second.attempts == 3
            assert counting.calls == 6
            third = await cycle()  # open: the meter is left alone
            assert third.failure is not None and third.failure.step == Step.CIRCUIT_OPEN
            assert isinstance(third.failure.error, CircuitOpenError)
            assert third.attempts == 0 and counting.calls == 6
            clock.now += 100.0
            fourth = await cycle()  # half-open: one try, fails, open again for 200 s
            assert fourth.attempts == 1 and counting.calls == 7
            clock.now += 150.0
            fifth = await cycle()
            assert fifth.failure is not None and fifth.failure.step == Step.CIRCUIT_OPEN
            clock.now += 50.0
            counting.broken = False
            sixth = await cycle()  # half-open, succeeds: closed
            assert sixth.ok and sixth.attempts == 1
            seventh = await cycle()
            assert seventh.ok
    assert states == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


async def test_keep_alive_holds_associations_inside_the_inactivity_timeout() -> None:
    async with Simulator(meters=3, shared_port=True, inactivity_timeout=0.6) as sim:
        statistics = FleetStatistics()
        async with FleetPoller(
            meters_of(sim), PLAN, keep_open=True, keep_alive=0.15, metrics=statistics
        ) as poller:
            first = await collect(poller)
            assert poller.open_associations == 3
            await asyncio.sleep(1.0)  # well past the meters' inactivity timeout
            second = await collect(poller)
            assert poller.open_associations == 3
        assert all(r.ok for r in first.values()) and all(r.ok for r in second.values())
        assert not any(r.reassociated for r in second.values())
        assert sim.associations_established == 3  # never associated again
        assert sim.servers[0].statistics.inactivity_closes == 0
        assert statistics.associations_opened == 3
        assert statistics.reads_ok == 2 * 3 * len(PLAN)  # keep-alives are counted apart
        assert statistics.keep_alives_ok >= 3 and statistics.keep_alives_failed == 0


async def test_dropped_associations_are_opened_again() -> None:
    async with Simulator(meters=3, shared_port=True, inactivity_timeout=0.3) as sim:
        async with FleetPoller(meters_of(sim), PLAN, keep_open=True) as poller:
            first = await collect(poller)
            for _ in range(100):  # the simulator drops the idle connections
                if sim.servers[0].statistics.inactivity_closes == 3:
                    break
                await asyncio.sleep(0.05)
            assert sim.servers[0].statistics.inactivity_closes == 3
            second = await collect(poller)
        assert all(r.ok for r in first.values())
        assert all(r.ok and r.reassociated and r.attempts == 1 for r in second.values())
        assert sim.associations_established == 6


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
async def test_shutdown_releases_everything_and_leaves_no_tasks_or_sockets() -> None:
    async with Simulator(meters=5, shared_port=True) as sim:
        before_tasks = asyncio.all_tasks()
        before_descriptors = _open_descriptors()
        async with FleetPoller(meters_of(sim), PLAN, keep_open=True, keep_alive=5.0) as poller:
            await collect(poller)
            assert poller.open_associations == 5
            assert _open_descriptors() == before_descriptors + 10  # both ends of 5 sockets
        assert poller.open_associations == 0
        assert asyncio.all_tasks() == before_tasks
        for _ in range(100):
            if sim.servers[0].connection_count == 0:
                break
            await asyncio.sleep(0.01)
        assert sim.servers[0].connection_count == 0
        assert _open_descriptors() == before_descriptors


async def test_closing_in_the_middle_of_a_cycle_still_gives_one_outcome_each() -> None:
    async with Simulator(meters=4, shared_port=True) as sim:
        sim.set_faults(2, Faults(silent=True))
        sim.set_faults(3, Faults(silent=True))
        before_tasks = asyncio.all_tasks()
        results: list[MeterResult] = []
        poller = FleetPoller(meters_of(sim, timeout=30.0), PLAN)
        async with poller:

            async def consume() -> None:
                async for result in poller.poll():
                    results.append(result)
                    if len(results) == 2:
                        await poller.aclose()

            with anyio.fail_after(10):
                await consume()
        assert sorted(r.meter.name for r in results) == ["m0", "m1", "m2", "m3"]
        stopped = [r for r in results if not r.ok]
        assert [r.meter.name for r in stopped] == ["m2", "m3"]
        assert all(r.failure is not None and r.failure.step == Step.SHUTDOWN for r in stopped)
        assert all(isinstance(r.failure.error, PollerClosedError) for r in stopped if r.failure)
        assert asyncio.all_tasks() == before_tasks


async def test_profile_rows_since_the_last_read_are_not_repeated() -> None:
    plan = ReadPlan.of("profile:1.0.99.1.0.255")
    async with Simulator(meters=2, shared_port=True) as sim:
        meters = meters_of(sim, client=17, auth="low", password=DEFAULT_PASSWORD)
        async with FleetPoller(meters, plan) as poller:
            first = await collect(poller)
            second = await collect(poller)
    for name in ("m0", "m1"):
        rows = first[name].values()["profile:1.0.99.1.0.255"]
        assert len(rows) >= 90  # a day of 15-minute rows
        again = second[name].values()["profile:1.0.99.1.0.255"]
        assert not {r.timestamp for r in rows} & {r.timestamp for r in again}


async def test_run_polls_on_a_schedule() -> None:
    async with Simulator(meters=3, shared_port=True) as sim:
        async with FleetPoller(meters_of(sim), PLAN, keep_open=True) as poller:
            results = [result async for result in poller.run(0.05, cycles=3)]
        assert sim.associations_established == 3
    assert sorted((r.cycle, r.meter.name) for r in results) == [
        (cycle, f"m{i}") for cycle in (1, 2, 3) for i in range(3)
    ]
    assert all(r.ok for r in results)


async def test_a_meter_deadline_bounds_the_whole_attempt() -> None:
    async with Simulator(meters=2, shared_port=True) as sim:
        sim.set_faults(1, Faults(latency=0.2))  # every answer 0.2 s late
        slow = meters_of(sim)[1]
        meters = [
            meters_of(sim)[0],
            Meter(slow.url, slow.options, name="slow", bus=False, deadline=0.3),
        ]
        results = await poll_fleet(meters, PLAN, retry=RetryPolicy(attempts=1))
    fast, late = results
    assert fast.ok
    assert late.failure is not None and late.failure.retryable
    assert isinstance(late.failure.error, MeterTimeoutError)
    # associated in about 0.2 s, then out of time during the reads (one GET with-list)
    assert late.failure.step.startswith("read ") or late.failure.step == Step.ASSOCIATE
    assert "0.3 s" in str(late.failure.error)


async def test_leaving_a_cycle_early_cancels_the_rest_and_the_next_cycle_is_whole() -> None:
    async with Simulator(meters=6, shared_port=True, faults=Faults(latency=0.01)) as sim:
        before_tasks = asyncio.all_tasks()
        async with FleetPoller(meters_of(sim), PLAN, concurrency=2) as poller:
            async with contextlib.aclosing(poller.poll()) as results:
                async for first in results:
                    assert first.ok
                    break
            again = await collect(poller)
            assert sorted(again) == [f"m{i}" for i in range(6)]
            assert all(result.ok and result.cycle == 2 for result in again.values())
            assert poller.open_associations == 0
        assert asyncio.all_tasks() == before_tasks


async def test_no_breaker_and_refused_objects_do_not_open_it() -> None:
    gone = Meter(f"tcp://127.0.0.1:{closed_port()}", name="gone")
    plan = ReadPlan.of("1/0.0.99.99.99.255/2")  # an object the meters do not have
    policy = BreakerPolicy(failure_threshold=1, reset_timeout=1000.0)
    async with Simulator(meters=1) as sim:
        meters = [gone, *meters_of(sim)]
        async with FleetPoller([gone], PLAN, breaker=None, retry=RetryPolicy(attempts=1)) as p:
            for _ in range(3):
                [result] = (await collect(p)).values()
                assert result.failure is not None and result.failure.step == Step.CONNECT
        async with FleetPoller(meters, plan, breaker=policy, retry=RetryPolicy(attempts=1)) as p:
            for _ in range(3):
                results = await collect(p)
                refused = results["m0"].failure
                assert refused is not None and isinstance(refused.error, DataAccessError)
            assert results["gone"].failure is not None
            assert results["gone"].failure.step == Step.CIRCUIT_OPEN


async def test_a_cycles_results_reach_poll_in_order_in_batches() -> None:
    """The channel from a cycle's meter tasks to poll(): what was put comes out in order,
    all at once; an empty channel waits for the next put (None: the poller closing)."""
    from asyncdlms.fleet.poller import _Results

    results = _Results(asyncio.get_running_loop(), 2)
    first = MeterResult(Meter("tcp://127.0.0.1:1"), 1, (), None, 1, 0.0)
    results.put((0, first))
    results.put((1, first))
    assert await results.take() == [(0, first), (1, first)]
    waiting = asyncio.ensure_future(results.take())
    await asyncio.sleep(0)
    assert not waiting.done()
    results.put(None)
    assert await waiting == [None]


async def test_a_meter_task_that_fails_ends_the_cycle_without_waiting_for_the_others() -> None:
    """A meter task that raises (here ``on_result``; a bug otherwise: a meter's own errors
    go into its result) cancels the meters still being read and is raised as a group, also
    out of the poll() loop at once (it waited for the cancelled meter's result before)."""

    class Session:
        with_list_fallbacks = 0

    class Client:
        short_name_referencing = False
        session = Session()

        def __init__(self, slow: bool) -> None:
            self.slow = slow

        async def get_many(self, items: list[Any], timeout: float | None = None) -> list[Any]:
            if self.slow:
                await asyncio.Event().wait()  # never answers
            return [5] * len(items)

        async def close(self) -> None:
            pass

    async def connect(url: str, **options: Any) -> Client:
        return Client("slow" in url)

    def failing(result: MeterResult) -> None:
        raise ValueError("on_result failed")

    meters = [
        Meter("tcp://fast:1", name="fast", bus=False),
        Meter("tcp://slow:1", name="slow", bus=False),
    ]
    seen: list[str] = []
    with pytest.raises(BaseExceptionGroup) as raised:
        async with asyncio.timeout(10):  # (nothing may hang)
            async with FleetPoller(
                meters, ReadPlan.of("3/1.0.1.8.0.255/2"), connect=connect, on_result=failing
            ) as poller:
                async for result in poller.poll():
                    seen.append(result.meter.name)
    assert seen == ["fast"]
    assert raised.group_contains(ValueError, match="on_result failed")
