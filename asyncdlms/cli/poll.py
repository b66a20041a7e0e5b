"""``asyncdlms poll``: poll a fleet of meters and summarise.

::

    asyncdlms poll FLEET_FILE            # .toml, .csv or .json (see asyncdlms.fleet.meters)
    asyncdlms poll --simulate 100        # 100 simulated meters in this process

A live progress bar goes to standard error (when it is a terminal, or with
``--progress``), then a summary line: meters ok/failed, reads per second, p50/p95 read
latency. ``--json-lines`` writes one JSON object per meter and cycle to standard output
(the summary then goes to standard error); ``--csv FILE`` writes one row per value;
``--store URL`` keeps every value in a store (with ``--simulate`` and no ``--store``, in a
new temporary SQLite file whose URL is printed), profiles continuing from the stored
positions; cycles start on multiples of ``--interval`` on the wall clock;
``--metrics-port`` serves Prometheus metrics.
Exit status: 0 when every meter was read, 1 when any failed, 2 for a bad fleet file or
options.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import IO, Any

from ..aio.loop import run as run_loop
from ..cosem.profile import ProfileRow
from ..cosem.units import Quantity
from ..errors import InvocationCounterStoreError
from ..fleet import (
    DEFAULT_PLAN,
    BreakerPolicy,
    FleetFileError,
    FleetPoller,
    FleetStatistics,
    Meter,
    MeterResult,
    ReadPlan,
    RetryPolicy,
    load_fleet,
)
from ..fleet.positions import StorePositions, StoreWriter, parse_duration, with_history
from ..fleet.schedule import AlignedSchedule
from ..store import StoreError
from .counters import counter_store
from .firmware import add_campaign_options, run_campaign
from .meter import add_association_options, association_options, to_json
from .store_options import (
    FanOutMetrics,
    add_history_option,
    add_metrics_option,
    add_store_option,
    describe_store,
    metrics_for,
    opened_store,
    temporary_store_url,
)

__all__ = ["add_poll_command", "result_to_json", "simulated_association", "with_options"]


def _value_to_json(value: Any) -> Any:
    if isinstance(value, Quantity):
        number = value.value
        return {"value": float(number) if isinstance(number, Decimal) else number,
                "unit": value.symbol}  # fmt: skip
    if isinstance(value, ProfileRow):
        return {
            "timestamp": to_json(value.timestamp),
            "values": [_value_to_json(item) for item in value.values],
        }
    if isinstance(value, tuple) and value and isinstance(value[0], ProfileRow):
        return [_value_to_json(row) for row in value]
    return to_json(value)


def result_to_json(result: MeterResult) -> dict[str, Any]:
    """One meter's outcome as JSON-ready data (the ``--json-lines`` objects)."""
    data: dict[str, Any] = {
        "meter": result.meter.name,
        "url": result.meter.url,
        "cycle": result.cycle,
        "ok": result.ok,
        "attempts": result.attempts,
        "elapsed_ms": round(result.elapsed * 1000, 3),
        "values": {r.key: _value_to_json(r.value) for r in result.readings},
        "timestamps": {r.key: r.timestamp.isoformat() for r in result.readings},
    }
    if result.failure is not None:
        data["failure"] = {
            "step": result.failure.step,
            "error": type(result.failure.error).__name__,
            "message": str(result.failure.error),
            "retryable": result.failure.retryable,
        }
    return data


class _ProgressBar:
    """``[#####-----] 50/100 ok 49 failed 1 1.2 s`` on one line of standard error."""

    def __init__(self, total: int, stream: IO[str], enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.done = self.ok = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def update(self, result: MeterResult) -> None:
        self.done += 1
        self.ok += result.ok
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= 0.1 or self.done == self.total):
            self._drawn = now
            width = 30
            filled = width * self.done // max(self.total, 1)
            self.stream.write(
                f"\r[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} "
                f"ok {self.ok} failed {self.done - self.ok} {now - self.started:.1f} s"
            )
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


class _CsvOutput:
    COLUMNS = ("meter", "cycle", "key", "value", "unit", "timestamp", "ok", "step", "error")

    def __init__(self, stream: IO[str]) -> None:
        self.writer = csv.writer(stream)
        self.writer.writerow(self.COLUMNS)

    def write(self, result: MeterResult) -> None:
        failure = result.failure
        step = failure.step if failure else ""
        error = f"{type(failure.error).__name__}: {failure.error}" if failure else ""
        for reading in result.readings:
            value: Any = reading.value
            unit = ""
            if isinstance(value, Quantity):
                value, unit = value.value, value.symbol
            else:
                value = json.dumps(_value_to_json(value))
            stamp = reading.timestamp.isoformat()
            row = [result.meter.name, result.cycle, reading.key, value, unit, stamp]
            self.writer.writerow([*row, result.ok, step, error])
        if not result.readings:
            self.writer.writerow(
                [result.meter.name, result.cycle, "", "", "", "", result.ok, step, error]
            )


async def _poll(args: argparse.Namespace, meters: list[Meter] | None, plan: ReadPlan) -> int:
    statistics = FleetStatistics()
    json_lines: bool = args.json_lines
    summary_stream = sys.stderr if json_lines else sys.stdout
    progress_enabled = args.progress if args.progress is not None else sys.stderr.isatty()
    store_url: str | None = args.store
    if store_url is None and meters is None:  # --simulate: show the data landing
        store_url = temporary_store_url()
    prometheus = metrics_for(args)
    async with AsyncExitStack() as stack:
        if prometheus is not None:
            stack.callback(prometheus.close)
        store = await stack.enter_async_context(opened_store(store_url))
        if meters is None:
            from ..server.simulator import Simulator

            associations, options = simulated_association(args)
            simulator = await stack.enter_async_context(
                Simulator(
                    meters=args.simulate,
                    interface=args.interface,
                    shared_port=True,
                    associations=associations,
                )
            )
            meters = [
                Meter(
                    target.url,
                    {
                        **options,
                        "server": target.server,
                        "physical_address": target.physical_address,
                    },
                    name=f"simulated-{target.index + 1}",
                    bus=False,  # one port serving many connections, not a shared line
                )
                for target in simulator.targets
            ]
        else:
            meters = with_options(meters, association_options(args))
        csv_output: _CsvOutput | None = None
        if args.csv:
            csv_file = stack.enter_context(open(args.csv, "w", newline="", encoding="utf-8"))  # noqa: SIM115
            csv_output = _CsvOutput(csv_file)
        poller = await stack.enter_async_context(
            FleetPoller(
                meters,
                plan,
                concurrency=args.concurrency,
                timeout=args.timeout,
                retry=RetryPolicy(attempts=args.attempts, base_delay=args.backoff),
                breaker=BreakerPolicy(),
                keep_open=args.keep_open,
                keep_alive=args.keep_alive,
                metrics=statistics if prometheus is None else FanOutMetrics(statistics, prometheus),
                positions=StorePositions(store, plan) if store is not None else None,
            )
        )
        schedule = AlignedSchedule(args.interval)
        writer = None
        if store is not None:
            writer = StoreWriter(
                store,
                capture_time=schedule.capture_time,
                meters_per_cycle=len(meters),
                on_write=prometheus.store_written if prometheus is not None else None,
            )
        bar = _ProgressBar(len(meters) * args.cycles, sys.stderr, progress_enabled)
        started = time.perf_counter()
        async for result in schedule.run(poller, cycles=args.cycles):
            if writer is not None:
                await writer.add(result)
            if json_lines:
                sys.stdout.write(json.dumps(result_to_json(result)) + "\n")
            if csv_output is not None:
                csv_output.write(result)
            bar.update(result)
        if writer is not None:
            await writer.flush()
        elapsed = time.perf_counter() - started
        bar.finish()
    print(statistics.summary(elapsed), file=summary_stream)
    if writer is not None and store_url is not None:
        print(f"stored {writer.rows_written} rows in {describe_store(store_url)}",
              file=summary_stream)  # fmt: skip
    if not json_lines:
        failures = statistics.failures_by_step
        if failures:
            print("failed meters are listed with --json-lines or --csv", file=summary_stream)
    return 0 if statistics.meters_failed == 0 else 1


def with_options(meters: list[Meter], options: dict[str, Any]) -> list[Meter]:
    """The meters with the command line's association ``options`` where their fleet file
    gives none of their own."""
    if not options:
        return meters
    return [dataclasses.replace(meter, options={**options, **meter.options}) for meter in meters]


SIMULATED_CLIENT_SYSTEM_TITLE = bytes.fromhex("4153594e43000001")
"""Our system title towards simulated meters when ``--system-title`` is not given and the
association needs one (HLS-SHA256, ciphering): ``"ASYNC"`` and 1."""


def simulated_association(
    args: argparse.Namespace,
) -> tuple[dict[int, Any], dict[str, Any]]:
    """``poll --simulate``: the associations of the simulated meters and the association
    options to read them (flat, as in a fleet file), from the command line's options.

    With none, client 17 with LLS and the simulator's password (it may read every object,
    profiles included). Otherwise the meters accept what the options describe: ``--client``
    (16 without authentication, 17 with ``low``, else 18 by default) with ``--auth``
    (``none`` for 16, ``low`` for 17, else HLS-MD5 by default), ``--password`` (the
    simulator's by default), ``--security`` and the keys."""
    from ..server import DEFAULT_HLS_SECRET, DEFAULT_PASSWORD
    from .simulate import simulated_associations

    options = association_options(args)
    client: int | None = args.client
    auth: str | None = args.auth
    if client is None:
        client = {None: 17, "none": 16, "low": 17}.get(auth, 18)
    if auth is None:
        auth = {16: "none", 17: "low"}.get(client, "md5")
    password: str | None = args.password
    if password is None and auth not in ("none", "gmac"):
        password = (DEFAULT_PASSWORD if auth == "low" else DEFAULT_HLS_SECRET).decode()
    security: str = args.security or "none"
    associations = simulated_associations(
        client=client,
        auth=auth,
        secret=password,
        lls_password=password if client == 17 and password else DEFAULT_PASSWORD.decode(),
        security=security,
        block_cipher_key=args.block_cipher_key,
        auth_key=args.auth_key,
    )
    options.update(client=client, auth=auth)
    if password is not None:
        options["password"] = password
    needs_title = auth in ("sha256", "gmac") or security != "none"
    if needs_title and args.system_title is None:
        options["system_title"] = SIMULATED_CLIENT_SYSTEM_TITLE
    return associations, options


def _command_poll(args: argparse.Namespace) -> int:
    if (args.fleet is None) == (args.simulate is None):
        print("asyncdlms poll: give a FLEET_FILE or --simulate N (one of them)", file=sys.stderr)
        return 2
    meters: list[Meter] | None = None
    plan = DEFAULT_PLAN
    fleet_store: str | None = None
    try:
        if args.fleet is not None:
            fleet = load_fleet(args.fleet)
            meters, plan, fleet_store = list(fleet.meters), fleet.plan, fleet.counter_store
        elif args.simulate < 1:
            raise FleetFileError("--simulate needs at least 1 meter")
        else:
            simulated_association(args)  # options the simulated meters cannot accept
        if args.read:
            plan = ReadPlan.parse(args.read)
        if args.history is not None:
            plan = with_history(plan, parse_duration(args.history))
    except (FleetFileError, ValueError) as exc:
        print(f"asyncdlms poll: {exc}", file=sys.stderr)
        return 2
    if args.firmware is not None:  # a firmware campaign instead of reading
        if meters is None:
            print("asyncdlms poll: --firmware needs a FLEET_FILE", file=sys.stderr)
            return 2
        return run_campaign(args, meters, args.fleet)
    try:
        with counter_store(args, fleet_store):
            return run_loop(_poll(args, meters, plan))
    except KeyboardInterrupt:
        return 130
    except (OSError, InvocationCounterStoreError, StoreError, ImportError) as exc:
        # CSV file, ports, counter store, reading store, a missing extra
        print(f"asyncdlms poll: {exc}", file=sys.stderr)
        return 2


def add_poll_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``poll`` to the command line."""
    poll = commands.add_parser(
        "poll",
        help="poll a fleet of meters (FLEET_FILE or --simulate N)",
        description="Poll every meter of a fleet file (.toml, .csv, .json) or N simulated "
        "meters; exit 0 when every meter was read, 1 when any failed, 2 on bad input.",
    )
    poll.add_argument("fleet", nargs="?", metavar="FLEET_FILE", help=".toml, .csv or .json")
    poll.add_argument("--simulate", type=int, metavar="N",
                      help="start N simulated meters in this process and poll them")  # fmt: skip
    poll.add_argument("--interface", choices=("wrapper", "hdlc"), default="wrapper",
                      help="link of the simulated meters (default wrapper)")  # fmt: skip
    poll.add_argument("--read", action="append", metavar="ITEM",
                      help="plan item (repeatable): CLASS/OBIS/ATTR, register:OBIS, clock, "
                           "profile:OBIS; default the fleet file's plan or 4 energy "
                           "registers and the clock")  # fmt: skip
    poll.add_argument("--concurrency", type=int, default=200,
                      help="meters worked on at once (default 200)")  # fmt: skip
    poll.add_argument("--timeout", type=float, default=10.0,
                      help="seconds per request (default 10; a meter's own wins)")  # fmt: skip
    poll.add_argument("--attempts", type=int, default=3, help="tries per meter (default 3)")
    poll.add_argument("--backoff", type=float, default=1.0,
                      help="first back-off in seconds, doubled each try (default 1)")  # fmt: skip
    poll.add_argument("--cycles", type=int, default=1, help="poll cycles (default 1)")
    poll.add_argument("--interval", type=float, default=900.0,
                      help="seconds between cycle starts, aligned to the wall clock "
                           "(900: at :00, :15, :30, :45; default 900)")  # fmt: skip
    poll.add_argument("--keep-open", action="store_true",
                      help="keep associations open between cycles")  # fmt: skip
    poll.add_argument("--keep-alive", type=float, metavar="SECONDS",
                      help="with --keep-open: read the clock after this much idleness")  # fmt: skip
    poll.add_argument("--json-lines", action="store_true",
                      help="one JSON object per meter and cycle on stdout")  # fmt: skip
    poll.add_argument("--csv", metavar="FILE", help="write one row per value to FILE")
    poll.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="progress bar on stderr (default: if stderr is a terminal)")  # fmt: skip
    add_store_option(poll)
    add_history_option(poll)
    add_metrics_option(poll)
    add_association_options(poll, fleet=True)
    add_campaign_options(poll)
    poll.set_defaults(handler=_command_poll)
