"""Attempt deadlines of a fleet: one loop timer for every meter being worked on.

Each attempt on a meter may take ``deadline`` seconds in all. ``asyncio.timeout`` per attempt
costs a ``Timeout`` object, a loop timer (a heap push, and a cancelled handle left in the
loop's heap when the attempt ends in time, as nearly all do) and a ``getpid()`` per use: about
16 µs per meter and cycle, a tenth of a fleet's client CPU per meter. :class:`Deadlines`
keeps the attempts in a dict and arms one timer, at the earliest deadline of them all; when
it fires it cancels the attempts whose deadline passed and re-arms for the next one. Meters
that share a deadline length (the usual case) register later deadlines than the one armed,
so an attempt costs a dict entry and no timer.

Cancellation is asyncio's own: the task of an expired attempt is cancelled while it waits
inside the attempt, and :meth:`Deadlines.expired` (asked where the attempt catches
``CancelledError``) tells a deadline from any other cancellation, undoing the cancel request
it made (``Task.uncancel``) the way ``asyncio.timeout`` does.
"""

from __future__ import annotations

import asyncio

__all__ = ["Deadlines"]


class _Attempt:
    __slots__ = ("cancelling", "expired", "task", "uncancelled", "when")

    def __init__(self, task: asyncio.Task[object], when: float) -> None:
        self.task = task
        self.when = when
        self.cancelling = task.cancelling()
        self.expired = False
        self.uncancelled = False


class Deadlines:
    """The deadlines of the attempts in progress (see the module documentation)."""

    def __init__(self) -> None:
        self._attempts: dict[object, _Attempt] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    def start(self, key: object, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        """The attempt ``key`` (one per meter) of the current task begins: cancel it if it
        is still in progress ``seconds`` from now."""
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("an attempt deadline needs a running task")
        when = loop.time() + seconds
        self._attempts[key] = _Attempt(task, when)
        if when < self._timer_at:
            self._arm(loop, when)

    def finish(self, key: object) -> None:
        """The attempt ``key`` ended (in time or not). An attempt that expired but ended
        without the ``CancelledError`` reaching :meth:`expired` (code inside it caught the
        error) has its cancel request undone here, so that the task is not left counted as
        being cancelled."""
        attempt = self._attempts.pop(key, None)
        if attempt is not None and attempt.expired and not attempt.uncancelled:
            attempt.uncancelled = True
            attempt.task.uncancel()

    def expired(self, key: object) -> bool:
        """Whether the ``CancelledError`` of attempt ``key`` is its deadline's (and not a
        cancellation from outside, which goes on as it is); call it where that error is
        caught, before :meth:`finish`."""
        attempt = self._attempts.get(key)
        if attempt is None or not attempt.expired or attempt.uncancelled:
            return False
        attempt.uncancelled = True
        return attempt.task.uncancel() <= attempt.cancelling

    def close(self) -> None:
        """Stop the timer (the poller is closing)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = float("inf")

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = loop.call_at(when, self._fire, loop, when)

    def _fire(self, loop: asyncio.AbstractEventLoop, armed_for: float) -> None:
        self._timer = None
        self._timer_at = float("inf")
        # the loop runs a timer up to its clock resolution early: what it was armed for is due
        now = max(loop.time(), armed_for)
        earliest = float("inf")
        for attempt in self._attempts.values():
            if attempt.expired:
                continue
            if attempt.when <= now:
                attempt.expired = True
                attempt.task.cancel()
            elif attempt.when < earliest:
                earliest = attempt.when
        if earliest != float("inf"):
            self._arm(loop, earliest)
