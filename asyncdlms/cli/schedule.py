"""``asyncdlms schedule``: queue one job per meter per cycle on Redis for the workers.

::

    asyncdlms schedule fleet.toml --redis redis://127.0.0.1:6379 --cycles 4 --interval 900

Jobs name the meter, its connect options and the plan; secrets stay out of Redis: give
them as ``password_env = "VARIABLE"`` (read by each worker from its environment).
Exit status: 0 when queued, 1 when Redis cannot be reached, 2 for a bad fleet file.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from ..fleet import FleetFileError, Meter, ReadPlan
from .worker import add_redis_options, keys_from_arguments

__all__ = ["add_schedule_command"]


def add_schedule_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``schedule`` to the command line."""
    parser = commands.add_parser(
        "schedule",
        help="queue poll jobs on Redis for the workers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("fleet", metavar="FLEET_FILE", help="fleet file (.toml, .csv, .json)")
    add_redis_options(parser)
    parser.add_argument("--cycles", type=int, default=1, help="cycles to queue (default 1)")
    parser.add_argument(
        "--interval", type=float, default=900.0, help="seconds between cycles (default 900)"
    )
    parser.add_argument(
        "--first-cycle", type=int, default=1, help="number of the first cycle (default 1)"
    )
    parser.set_defaults(handler=_command_schedule)


def _command_schedule(args: argparse.Namespace) -> int:
    from ..distributed import RedisMissingError, load_job_fleet

    try:
        meters, plan = load_job_fleet(args.fleet)
    except FleetFileError as exc:
        print(f"asyncdlms schedule: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_schedule(args, meters, plan))
    except FleetFileError as exc:
        print(f"asyncdlms schedule: {exc}", file=sys.stderr)
        return 2
    except RedisMissingError as exc:
        print(f"asyncdlms schedule: {exc}", file=sys.stderr)
        return 1


async def _schedule(args: argparse.Namespace, meters: tuple[Meter, ...], plan: ReadPlan) -> int:
    from ..distributed import jobs_from_fleet, open_redis, schedule_cycles
    from ..distributed.connection import redis_errors

    jobs_from_fleet(meters, plan, 0, dt.datetime.now(dt.UTC))  # refuses secrets before Redis
    redis = open_redis(args.redis)

    def said(cycle: int, count: int) -> None:
        print(f"cycle {cycle}: {count} jobs queued", flush=True)

    try:
        total = await schedule_cycles(
            redis,
            keys_from_arguments(args),
            meters,
            plan,
            cycles=args.cycles,
            interval=args.interval,
            first_cycle=args.first_cycle,
            on_cycle=said,
        )
    except redis_errors() as exc:
        print(f"asyncdlms schedule: Redis at {args.redis}: {exc}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    print(f"{total} jobs queued", flush=True)
    return 0
