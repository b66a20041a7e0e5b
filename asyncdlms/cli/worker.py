"""``asyncdlms worker``: poll the meters of the jobs queued on Redis (``schedule``).

::

    asyncdlms worker --redis redis://10.0.0.5:6379 --store sqlite:///readings.db \\
                     --concurrency 200 --name host-a-1

Each job's readings are committed to ``--store`` before the job is acknowledged; a result
record per job goes to the results stream. Jobs left pending by a worker that died are
claimed after ``--claim-after`` seconds. Secrets come from this worker's environment (the
fleet file's ``*_env`` variables). Stops on Ctrl-C (SIGINT/SIGTERM) once the jobs in hand
are done, or after ``--idle-exit`` seconds without a job.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ..distributed.keys import StreamKeys
from ..fleet import RetryPolicy

__all__ = ["add_redis_options", "add_worker_command", "keys_from_arguments"]


def add_redis_options(parser: argparse.ArgumentParser) -> None:
    """``--redis URL`` and ``--prefix P`` (shared by schedule, worker and status)."""
    parser.add_argument(
        "--redis", required=True, metavar="URL", help="Redis, e.g. redis://127.0.0.1:6379/0"
    )
    parser.add_argument(
        "--prefix", default="asyncdlms", help="prefix of every Redis key (default asyncdlms)"
    )


def keys_from_arguments(args: argparse.Namespace) -> StreamKeys:
    """The :class:`~asyncdlms.distributed.StreamKeys` of ``--prefix``."""
    return StreamKeys(args.prefix)


def add_worker_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``worker`` to the command line."""
    parser = commands.add_parser(
        "worker",
        help="poll the meters of the jobs queued on Redis",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_redis_options(parser)
    add = parser.add_argument
    add("--store", default="sqlite:///readings.db",
        help="where readings go: sqlite:///path (one machine) or postgresql://... "
             "(default sqlite:///readings.db)")  # fmt: skip
    add("--concurrency", type=int, default=50, help="jobs at once (default 50)")
    add("--name", default=None, help="consumer name, unique per worker (default host-pid)")
    add("--claim-after", type=float, default=30.0,
        help="seconds before a dead worker's pending job is claimed (default 30)")  # fmt: skip
    add("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    add("--attempts", type=int, default=3, help="tries per meter per job (default 3)")
    add("--idle-exit", type=float, default=None, metavar="S",
        help="stop after S seconds without a job (default: run until stopped)")  # fmt: skip
    parser.set_defaults(handler=_command_worker)


def _command_worker(args: argparse.Namespace) -> int:
    from ..distributed import JobStoreError, RedisMissingError
    from ..distributed.connection import redis_errors

    try:
        return asyncio.run(_work(args))
    except (JobStoreError, RedisMissingError) as exc:
        print(f"asyncdlms worker: {exc}", file=sys.stderr)
        return 1
    except redis_errors() as exc:  # stopped while Redis was away
        print(f"asyncdlms worker: Redis at {args.redis}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _work(args: argparse.Namespace) -> int:
    from ..distributed import Worker, open_job_store

    store = await open_job_store(args.store)
    keys = keys_from_arguments(args)
    worker = Worker(
        args.redis,
        store,
        keys=keys,
        name=args.name,
        concurrency=args.concurrency,
        claim_after=args.claim_after,
        timeout=args.timeout,
        retry=RetryPolicy(attempts=args.attempts),
        idle_exit=args.idle_exit,
    )
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal_number, worker.stop)
    print(f"worker {worker.name}: taking jobs from {keys.jobs}", flush=True)
    try:
        statistics = await worker.run()
    finally:
        await store.close()
    print(
        f"worker {worker.name}: {statistics.jobs} jobs ({statistics.ok} ok, "
        f"{statistics.failed} failed, {statistics.claimed} claimed), "
        f"{statistics.reconnects} Redis reconnects",
        flush=True,
    )
    return 0
