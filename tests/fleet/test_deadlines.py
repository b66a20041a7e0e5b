"""The fleet's attempt deadlines: one loop timer for many attempts, each cancelled on time,
told apart from cancellations that come from elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from asyncdlms.fleet.deadlines import Deadlines


async def _attempt(
    deadlines: Deadlines, key: object, seconds: float, work: float, log: list[Any]
) -> None:
    """What the poller does around an attempt: start, work, tell a deadline from another
    cancellation, finish."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadlines.start(key, loop, seconds)
    try:
        await asyncio.sleep(work)
        log.append((key, "done", loop.time() - started))
    except asyncio.CancelledError:
        if deadlines.expired(key):
            log.append((key, "expired", loop.time() - started))
            return
        log.append((key, "cancelled", loop.time() - started))
        raise
    finally:
        deadlines.finish(key)


def _count_timers(
    loop: asyncio.AbstractEventLoop, deadlines: Deadlines
) -> tuple[list[float], Callable[[], None]]:
    armed: list[float] = []
    call_at = loop.call_at

    def counting(
        when: float, callback: Callable[..., object], *args: object, **options: Any
    ) -> Any:
        if getattr(callback, "__self__", None) is deadlines:
            armed.append(when)
        return call_at(when, callback, *args, **options)

    loop.call_at = counting  # type: ignore[method-assign]

    def restore() -> None:
        del loop.call_at

    return armed, restore


async def test_many_attempts_of_one_length_arm_one_timer_and_each_expires_on_time() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines()
    armed, restore = _count_timers(loop, deadlines)
    log: list[Any] = []
    try:
        tasks = []
        for key in range(50):  # 25 finish in time, 25 are too slow
            work = 0.01 if key % 2 else 10.0
            tasks.append(loop.create_task(_attempt(deadlines, key, 0.15, work, log)))
            await asyncio.sleep(0.001)
        await asyncio.gather(*tasks)
    finally:
        restore()
        deadlines.close()
    outcomes = {key: (what, elapsed) for key, what, elapsed in log}
    assert len(outcomes) == 50
    for key, (what, elapsed) in outcomes.items():
        if key % 2:
            assert what == "done"
        else:
            assert what == "expired" and 0.15 <= elapsed < 1.0, (key, what, elapsed)
    # one timer at first, then one per firing (at most one re-arm per expired attempt)
    assert len(armed) <= 26, armed


async def test_an_earlier_deadline_registered_later_re_arms_the_timer() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines()
    log: list[Any] = []
    slow = loop.create_task(_attempt(deadlines, "long", 5.0, 10.0, log))
    await asyncio.sleep(0)
    short = loop.create_task(_attempt(deadlines, "short", 0.05, 10.0, log))
    await short
    assert log[0][:2] == ("short", "expired") and log[0][2] < 1.0
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert log[1][:2] == ("long", "cancelled")
    deadlines.close()


async def test_a_cancellation_from_elsewhere_is_not_a_deadline_and_leaves_counts_balanced() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines()
    log: list[Any] = []
    task = loop.create_task(_attempt(deadlines, "m", 5.0, 10.0, log))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == [("m", "cancelled", pytest.approx(0.01, abs=0.5))]

    async def expires_and_continues() -> int:
        current = asyncio.current_task()
        assert current is not None
        await _attempt(deadlines, "n", 0.02, 10.0, log)
        await asyncio.sleep(0.01)  # not cancelled again: the deadline's cancel was undone
        return current.cancelling()

    assert await loop.create_task(expires_and_continues()) == 0
    assert log[-1][:2] == ("n", "expired")
    deadlines.close()


async def test_an_expiry_swallowed_inside_the_attempt_leaves_the_task_not_cancelling() -> None:
    """Code inside the attempt that catches the CancelledError (and goes on) must not leave
    the task counted as being cancelled once the attempt is over."""
    loop = asyncio.get_running_loop()
    deadlines = Deadlines()

    async def swallowing() -> int:
        current = asyncio.current_task()
        assert current is not None
        deadlines.start("s", loop, 0.02)
        try:
            # swallowed: no CancelledError reaches the attempt's handler
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)
        finally:
            deadlines.finish("s")
        await asyncio.sleep(0.01)  # still runs: nothing pending
        return current.cancelling()

    assert await loop.create_task(swallowing()) == 0
    deadlines.close()
