"""Store throughput: does keeping what the fleet reads cost less than reading it?

Writes 1 000 meters × 96 profile rows × 4 value columns (a day of a 15-minute load profile
of four energy registers, plus its clock column) the way ``asyncdlms poll --store`` does —
one transaction per batch of meters, positions in the same transaction — to each store,
and prints rows/s; next to it, the time to read the same rows from simulated meters with
the fleet poller (associate, read the clock, read the profile by range, release), per
meter. The SQLite store is a file in a temporary folder; PostgreSQL is ``--postgres URL``,
or a throw-away cluster started here when the server binaries are installed (as in the
tests), or skipped.

    python benchmarks/bench_store.py                   # 1000 meters written, 200 read
    python benchmarks/bench_store.py --quick           # 100 written, 20 read
    python benchmarks/bench_store.py --postgres postgresql://user@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

from harness import ROOT

from asyncdlms.fleet import FleetPoller, ReadPlan, RetryPolicy
from asyncdlms.fleet.positions import StoreWriter, with_history
from asyncdlms.fleet.schedule import AlignedSchedule
from asyncdlms.server import Simulator
from asyncdlms.store import ProfilePosition, StoreBatch, StoredProfileRow, open_store

PROFILE = "1.0.99.1.0.255"
COLUMNS = ("8/0.0.1.0.0.255/2", "3/1.0.1.8.0.255/2", "3/1.0.2.8.0.255/2",
           "3/1.0.3.8.0.255/2", "3/1.0.4.8.0.255/2")  # fmt: skip
ROWS = 96
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def meter_batch(index: int) -> StoreBatch:
    """One meter's day: 96 rows of a clock and 4 energy columns, and its position."""
    meter = f"meter-{index:05d}"
    rows = []
    for row in range(ROWS):
        at = T0 + dt.timedelta(minutes=15 * row)
        energy = 1_000_000 * index + 250 * row
        rows.append(StoredProfileRow(meter, PROFILE, at, COLUMNS, (at.isoformat(), energy,
                                     energy // 5, energy // 3, energy // 20)))  # fmt: skip
    position = ProfilePosition(meter, PROFILE, rows[-1].capture_time)
    return StoreBatch(profile_rows=tuple(rows), positions=(position,))


async def write_rate(url: str, meters: int, batch_meters: int) -> tuple[float, int]:
    """Seconds to write ``meters`` meters' rows in batches of ``batch_meters``, rows."""
    batches = [
        StoreBatch.join(meter_batch(i) for i in range(start, min(start + batch_meters, meters)))
        for start in range(0, meters, batch_meters)
    ]
    store = await open_store(url)
    try:
        started = time.perf_counter()
        for batch in batches:
            await store.write(batch)
        elapsed = time.perf_counter() - started
        counts = await store.counts()
    finally:
        await store.close()
    assert counts["profile_rows"] == meters * ROWS, counts
    return elapsed, counts["profile_rows"]


async def read_rate(meters: int) -> tuple[float, int, float]:
    """Seconds to read a day of the load profile from ``meters`` simulated meters (this
    process serves them too), rows read, and seconds of that spent writing them to a
    SQLite store as ``poll --store`` does."""
    plan = with_history(ReadPlan.of(f"profile:{PROFILE}"), dt.timedelta(hours=23, minutes=59))
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(f"sqlite:///{Path(folder) / 'read.db'}")
        try:
            async with Simulator(meters=meters, shared_port=True, load_profile_days=2) as sim:
                targets = [
                    (
                        t.url,
                        {
                            "server": t.server,
                            "client": 17,
                            "auth": "low",
                            "password": "12345678",
                            "timeout": 30,
                        },
                    )
                    for t in sim.targets
                ]
                from asyncdlms.fleet import Meter

                fleet = [Meter(url, options, name=f"m{i}", bus=False)
                         for i, (url, options) in enumerate(targets)]  # fmt: skip
                schedule = AlignedSchedule(900)
                writing = 0.0

                def on_write(seconds: float, rows: int) -> None:
                    nonlocal writing
                    writing += seconds

                writer = StoreWriter(store, capture_time=schedule.capture_time,
                                     meters_per_cycle=len(fleet), on_write=on_write)  # fmt: skip
                rows = 0
                started = time.perf_counter()
                async with FleetPoller(fleet, plan, concurrency=100,
                                       retry=RetryPolicy(attempts=2)) as poller:  # fmt: skip
                    async for result in schedule.run(poller, cycles=1):
                        assert result.ok, result.failure
                        rows += sum(len(r.value) for r in result.readings)
                        await writer.add(result)
                    await writer.flush()
                elapsed = time.perf_counter() - started
        finally:
            await store.close()
    return elapsed - writing, rows, writing


def _postgres_url(args: argparse.Namespace) -> tuple[str | None, object | None]:
    if args.postgres or args.no_postgres:
        return args.postgres, None
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.store.conftest import PostgresCluster, start_cluster

    cluster: PostgresCluster | None = start_cluster()
    if cluster is None:
        return None, None
    return cluster.create_database(), cluster


async def run(args: argparse.Namespace) -> list[str]:
    lines = []
    read_seconds, rows_read, write_in_poll = await read_rate(args.read_meters)
    per_meter_read = read_seconds / args.read_meters
    lines.append(
        f"read   {args.read_meters:>5} simulated meters: {rows_read:,} rows in "
        f"{read_seconds:.2f} s = {rows_read / read_seconds:>9,.0f} rows/s "
        f"({per_meter_read * 1000:.1f} ms per meter; writing them as poll --store does: "
        f"{write_in_poll * 1000 / args.read_meters:.2f} ms per meter)"
    )
    stores = []
    with tempfile.TemporaryDirectory() as folder:
        stores.append(("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}"))
        url, cluster = _postgres_url(args)
        if url is not None:
            stores.append(("postgresql", url))
        else:
            lines.append("postgresql: skipped (no --postgres URL and no server binaries)")
        try:
            for name, store_url in stores:
                seconds, rows = await write_rate(store_url, args.meters, args.batch)
                per_meter = seconds / args.meters
                lines.append(
                    f"write  {args.meters:>5} meters × {ROWS} rows × 4 columns, {name:<10}: "
                    f"{rows:,} rows in {seconds:.2f} s = {rows / seconds:>9,.0f} rows/s "
                    f"({rows * 4 / seconds:,.0f} values/s; {per_meter * 1000:.2f} ms per meter "
                    f"= {per_meter / per_meter_read:.3f} × reading it)"
                )
        finally:
            if cluster is not None:
                cluster.stop()  # type: ignore[attr-defined]
                cluster.remove()  # type: ignore[attr-defined]
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000, help="meters written (1000)")
    parser.add_argument("--read-meters", type=int, default=200, help="meters read (200)")
    parser.add_argument("--batch", type=int, default=200, help="meters per transaction (200)")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to write to")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--quick", action="store_true", help="100 meters written, 20 read")
    args = parser.parse_args(argv)
    if args.quick:
        args.meters, args.read_meters = 100, 20
    lines = asyncio.run(run(args))
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    main()
