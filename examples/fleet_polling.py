"""Poll a fleet of meters from one event loop with asyncdlms.fleet.

Runs anywhere: it starts 50 simulated meters in this process (pass a fleet file to poll
real meters instead), then polls them in long-lived mode — associations kept open, a
keep-alive read inside the meters' inactivity timeout, a cycle every few seconds — and
prints each meter's outcome as it arrives, then the statistics.

    python examples/fleet_polling.py                  # simulated meters
    python examples/fleet_polling.py examples/fleet.toml
"""

from __future__ import annotations

import asyncio
import sys

from asyncdlms.fleet import (
    BreakerPolicy,
    FleetPoller,
    FleetStatistics,
    Meter,
    MeterResult,
    ReadPlan,
    RetryPolicy,
    load_fleet,
)
from asyncdlms.server import Simulator

PLAN = ReadPlan.of(
    "register:1.0.1.8.0.255",  # active energy import, as a Quantity with its unit
    "register:1.0.2.8.0.255",  # active energy export
    "clock",  # the meter's time, an aware datetime
)


def show(result: MeterResult) -> None:
    if result.ok:
        energy = result.values()["register:1.0.1.8.0.255"]
        print(f"cycle {result.cycle} {result.meter}: {energy} ({result.elapsed * 1000:.1f} ms)")
    else:
        assert result.failure is not None
        print(f"cycle {result.cycle} {result.meter}: FAILED at {result.failure.message}")


async def poll(
    meters: list[Meter],
    plan: ReadPlan,
    *,
    cycles: int = 3,
    interval: float = 3.0,
    keep_alive: float = 2.0,
) -> FleetStatistics:
    statistics = FleetStatistics()
    async with FleetPoller(
        meters,
        plan,
        concurrency=100,  # meters worked on at once
        timeout=5.0,  # seconds per request
        retry=RetryPolicy(attempts=3, base_delay=0.5),  # back-off 0.5 s, 1 s (with jitter)
        breaker=BreakerPolicy(failure_threshold=3, reset_timeout=60.0),
        keep_open=True,  # keep associations open between cycles...
        keep_alive=keep_alive,  # ...with a read after 2 s idle (inside the 5 s inactivity timeout)
        metrics=statistics,
    ) as poller:
        async for result in poller.run(interval=interval, cycles=cycles):  # every 3 s
            show(result)
        print(f"open associations before shutdown: {poller.open_associations}")
    # leaving the block released every association and closed every socket
    print(f"{statistics.meters_ok} ok, {statistics.meters_failed} failed, "
          f"{statistics.associations_opened} associations opened")  # fmt: skip
    return statistics


async def main() -> None:
    if len(sys.argv) > 1:
        fleet = load_fleet(sys.argv[1])
        await poll(list(fleet.meters), fleet.plan)
        return
    async with Simulator(meters=50, shared_port=True, inactivity_timeout=5.0) as sim:
        meters = [
            Meter(target.url, {"server": target.server}, name=f"meter-{target.index + 1}")
            for target in sim.targets
        ]
        await poll(meters, PLAN)


if __name__ == "__main__":
    asyncio.run(main())
