"""``schedule``: one job per meter per cycle on the jobs stream."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio

from ..fleet import Meter, ReadPlan
from .connection import ensure_group
from .jobs import Job, jobs_from_fleet
from .keys import StreamKeys

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["enqueue_cycle", "schedule_cycles"]

_BATCH = 1000  # entries per pipeline round trip


async def enqueue_cycle(
    redis: Redis, keys: StreamKeys, jobs: Sequence[Job], *, max_length: int | None = None
) -> list[str]:
    """Add ``jobs`` to the jobs stream (pipelined); return their entry ids. ``max_length``
    trims the stream approximately (entries already read and acknowledged go first in a
    healthy fleet; keep it well above a cycle's jobs)."""
    await ensure_group(redis, keys.jobs, keys.group)
    ids: list[str] = []
    for start in range(0, len(jobs), _BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for job in jobs[start : start + _BATCH]:
                pipe.xadd(
                    keys.jobs,
                    job.fields(),  # type: ignore[arg-type]
                    maxlen=max_length,
                    approximate=True,
                )
            ids.extend(str(entry) for entry in await pipe.execute())
    return ids


async def schedule_cycles(
    redis: Redis,
    keys: StreamKeys,
    meters: tuple[Meter, ...],
    plan: ReadPlan,
    *,
    cycles: int = 1,
    interval: float = 900.0,
    first_cycle: int = 1,
    on_cycle: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Enqueue ``cycles`` cycles, ``interval`` seconds apart (on a fixed schedule), each one
    job per meter; return the number of jobs. Cycles are numbered from ``first_cycle``;
    a cycle's jobs carry the time it was enqueued (the capture time of what they read)."""
    started = clock()
    total = 0
    for done in range(cycles):
        due = started + done * interval
        now = clock()
        if due > now:
            await anyio.sleep(due - now)
        moment = dt.datetime.fromtimestamp(max(due, clock()), dt.UTC)
        number = first_cycle + done
        jobs = jobs_from_fleet(meters, plan, number, moment)
        await enqueue_cycle(redis, keys, jobs)
        total += len(jobs)
        if on_cycle is not None:
            on_cycle(number, len(jobs))
    return total
