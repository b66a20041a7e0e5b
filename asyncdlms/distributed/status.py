"""``status``: the health of a distributed fleet, read from Redis."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .keys import StreamKeys

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["ConsumerStatus", "FleetQueueStatus", "queue_status"]


@dataclass(frozen=True, slots=True)
class ConsumerStatus:
    """One worker of the group: jobs ``pending`` with it, seconds ``idle`` since it last
    talked to Redis, and whether it counts as ``dead`` (idle longer than ``dead_after``)."""

    name: str
    pending: int
    idle: float
    dead: bool


@dataclass(frozen=True, slots=True)
class FleetQueueStatus:
    """``queued``: jobs in the stream not done yet (acknowledged jobs are deleted);
    ``undelivered``: of those, not yet given to any worker; ``pending``: given, not yet
    acknowledged; ``oldest_pending``: seconds since the oldest pending job was queued
    (None: none); ``results_per_second`` over the last ``window`` seconds; consumers."""

    queued: int
    undelivered: int | None
    pending: int
    oldest_pending: float | None
    results_per_second: float
    window: float
    consumers: tuple[ConsumerStatus, ...]

    @property
    def dead_consumers(self) -> tuple[ConsumerStatus, ...]:
        return tuple(consumer for consumer in self.consumers if consumer.dead)

    def lines(self) -> list[str]:
        """The status as text, a line per fact."""
        oldest = "none" if self.oldest_pending is None else f"{self.oldest_pending:.1f} s"
        undelivered = "?" if self.undelivered is None else str(self.undelivered)
        out = [
            f"queued jobs: {self.queued} (not yet delivered: {undelivered})",
            f"pending jobs: {self.pending}; oldest pending: {oldest}",
            f"results per second: {self.results_per_second:.1f} (last {self.window:g} s)",
            f"consumers: {len(self.consumers)}; dead: {len(self.dead_consumers)}",
        ]
        for consumer in self.consumers:
            mark = " DEAD" if consumer.dead else ""
            out.append(
                f"  {consumer.name}: pending {consumer.pending}, idle {consumer.idle:.1f} s{mark}"
            )
        return out


def _entry_time(entry_id: str) -> float:
    return int(entry_id.partition("-")[0]) / 1000


async def queue_status(
    redis: Redis,
    keys: StreamKeys | None = None,
    *,
    window: float = 10.0,
    dead_after: float = 60.0,
    clock: Any = time.time,
) -> FleetQueueStatus:
    """Read the queue's state: ``XLEN``, ``XINFO GROUPS``/``CONSUMERS``, ``XPENDING`` and the
    results of the last ``window`` seconds; consumers idle longer than ``dead_after``
    seconds are dead (their pending jobs will be claimed)."""
    keys = keys or StreamKeys()
    queued = int(await redis.xlen(keys.jobs))
    undelivered: int | None = None
    consumers: list[ConsumerStatus] = []
    pending = 0
    oldest: float | None = None
    now = clock()
    if queued or await redis.exists(keys.jobs):
        groups: Any = await redis.xinfo_groups(keys.jobs)
        group = next((g for g in groups if g.get("name") == keys.group), None)
        if group is not None:
            lag = group.get("lag")
            undelivered = None if lag is None else int(lag)
            pending = int(group.get("pending", 0))
            for consumer in await redis.xinfo_consumers(keys.jobs, keys.group):
                idle = int(consumer.get("idle", 0)) / 1000
                consumers.append(
                    ConsumerStatus(
                        str(consumer["name"]), int(consumer["pending"]), idle, idle > dead_after
                    )
                )
            if pending:
                first: Any = await redis.xpending_range(
                    keys.jobs, keys.group, min="-", max="+", count=1
                )
                if first:
                    oldest = max(0.0, now - _entry_time(str(first[0]["message_id"])))
    start = f"{int((now - window) * 1000)}-0"
    recent: Any = await redis.xrange(keys.results, min=start, max="+", count=1_000_000)
    return FleetQueueStatus(
        queued,
        undelivered,
        pending,
        oldest,
        len(recent) / window if window > 0 else 0.0,
        window,
        tuple(consumers),
    )
