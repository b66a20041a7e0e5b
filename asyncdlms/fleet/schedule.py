"""Cycles on the wall clock: :class:`AlignedSchedule` starts a cycle at every multiple of
the interval (``:00/:15/:30/:45`` for 900 s), whether or not the previous one has finished
— a slow meter is reported ``busy`` in the next cycle instead of holding it up — and after
missed slots (a suspended process, a cycle longer than several intervals) it runs one cycle
for the current slot: profiles catch up from their stored positions."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import DlmsError
from .results import MeterFailure, MeterResult

if TYPE_CHECKING:
    from .meters import Meter
    from .poller import FleetPoller

__all__ = ["BUSY", "AlignedSchedule", "MeterBusyError", "busy_result"]

BUSY = "busy"
"""The step of a meter still being read by an earlier cycle when the next one starts."""


class MeterBusyError(DlmsError):
    """The meter was still being read by the previous cycle; this cycle leaves it alone
    (its profiles continue from the stored position next time)."""


def busy_result(meter: Meter, cycle: int) -> MeterResult:
    """The outcome of a meter skipped because an earlier cycle is still reading it."""
    error = MeterBusyError(f"{meter} is still being read by an earlier cycle")
    return MeterResult(meter, cycle, (), MeterFailure(BUSY, error, True), 0, 0.0)


class AlignedSchedule:
    """Cycle starts aligned to the wall clock: slot ``k`` starts at ``k × interval`` seconds
    since the epoch (UTC). The first cycle runs at once, for the slot it falls in; the next
    at the next boundary. ``clock`` (seconds since the epoch) and ``sleep`` can be replaced
    in tests. ``slots`` maps each cycle number to the start of its slot; ``missed`` counts
    slots skipped because they had passed."""

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive (seconds)")
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.slots: dict[int, dt.datetime] = {}
        self.starts: list[float] = []
        self.missed = 0

    def slot_start(self, moment: float) -> float:
        """The start of the slot ``moment`` falls in."""
        return math.floor(moment / self.interval) * self.interval

    def capture_time(self, result: MeterResult) -> dt.datetime:
        """The slot start of ``result``'s cycle (now's slot for an unknown cycle)."""
        slot = self.slots.get(result.cycle)
        if slot is None:
            return dt.datetime.fromtimestamp(self.slot_start(self.clock()), dt.UTC)
        return slot

    async def run(
        self, poller: FleetPoller, *, cycles: int | None = None
    ) -> AsyncIterator[MeterResult]:
        """Run ``poller`` on this schedule, ``cycles`` times or until it is closed; results
        of overlapping cycles as they come."""
        queue: asyncio.Queue[MeterResult | None] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()
        finished = 0
        started = 0

        async def one_cycle(slot: float) -> None:
            stamp = dt.datetime.fromtimestamp(slot, dt.UTC)
            try:
                async for result in poller.poll():
                    self.slots.setdefault(result.cycle, stamp)
                    queue.put_nowait(result)
            finally:
                queue.put_nowait(None)

        async def ticker() -> None:
            nonlocal started
            slot = self.slot_start(self.clock())
            while (cycles is None or started < cycles) and not poller._closed:
                self.starts.append(self.clock())
                task = asyncio.get_running_loop().create_task(one_cycle(slot))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                started += 1
                if cycles is not None and started >= cycles:
                    return
                following = slot + self.interval
                now = self.clock()
                if following > now:
                    await self.sleep(following - now)
                current = self.slot_start(self.clock())
                if current > following:  # slots passed while we were away
                    self.missed += round((current - following) / self.interval)
                slot = max(following, current)

        tick = asyncio.get_running_loop().create_task(ticker())
        try:
            while True:
                if tick.done() and finished >= started:
                    tick.result()  # a failure of the ticker surfaces here
                    return
                getter = asyncio.ensure_future(queue.get())
                waited: set[asyncio.Future[Any]] = {getter}
                if not tick.done():
                    waited.add(tick)
                done, _ = await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getter
                    continue
                item = getter.result()
                if item is None:
                    finished += 1
                    continue
                yield item
        finally:
            tick.cancel()
            for task in list(tasks):
                task.cancel()
            for task in [tick, *tasks]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
