"""``asyncdlms status``: the health of a distributed fleet (``schedule`` / ``worker``).

::

    asyncdlms status --redis redis://127.0.0.1:6379

Queue length, jobs pending per worker, the oldest pending job, results per second, dead
workers (idle longer than ``--dead-after`` seconds). ``--json`` for one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys

from .worker import add_redis_options, keys_from_arguments

__all__ = ["add_status_command"]


def add_status_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status`` to the command line."""
    parser = commands.add_parser(
        "status",
        help="queue length, pending jobs and dead workers of a distributed fleet",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_redis_options(parser)
    add = parser.add_argument
    add("--window", type=float, default=10.0,
        help="seconds over which results per second are counted (default 10)")  # fmt: skip
    add("--dead-after", type=float, default=60.0,
        help="seconds of silence after which a worker counts as dead (default 60)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(handler=_command_status)


def _command_status(args: argparse.Namespace) -> int:
    from ..distributed import RedisMissingError

    try:
        return asyncio.run(_status(args))
    except RedisMissingError as exc:
        print(f"asyncdlms status: {exc}", file=sys.stderr)
        return 1


async def _status(args: argparse.Namespace) -> int:
    from ..distributed import open_redis, queue_status
    from ..distributed.connection import redis_errors

    keys = keys_from_arguments(args)
    redis = open_redis(args.redis)
    try:
        status = await queue_status(redis, keys, window=args.window, dead_after=args.dead_after)
    except redis_errors() as exc:
        print(f"asyncdlms status: Redis at {args.redis}: {exc}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    if args.json:
        data = dataclasses.asdict(status)
        data["dead_consumers"] = [consumer.name for consumer in status.dead_consumers]
        print(json.dumps(data))
    else:
        print("\n".join(status.lines()))
    return 0
