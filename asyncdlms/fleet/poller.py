"""The fleet poller: many meters from one event loop (see :class:`FleetPoller`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random as _random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, cast

import anyio
from anyio.abc import TaskGroup

from ..aio.options import connect_keywords
from ..errors import AssociationError, DataAccessError
from ..obis import Obis
from .deadlines import Deadlines
from .meters import Meter
from .metrics import KEEP_ALIVE, FleetMetrics
from .places import Places
from .plan import (
    DEFAULT_PLAN,
    PLAIN_ITEMS,
    PlainItem,
    PlanItem,
    ReadAttribute,
    ReadPlan,
    fixed_attributes,
    read_plain_items,
)
from .resilience import BreakerPolicy, BreakerState, CircuitBreaker, RetryPolicy, is_retryable
from .results import (
    CircuitOpenError,
    MeterFailure,
    MeterResult,
    MeterTimeoutError,
    PollerClosedError,
    Reading,
    Step,
    make_meter_result,
    make_reading,
)
from .schedule import busy_result

__all__ = ["FleetPoller", "poll_fleet"]

KEEP_ALIVE_READ = ReadAttribute(8, Obis("0.0.1.0.0.255"), 2)
"""What a keep-alive reads by default: the clock's time."""

Connect = Callable[..., Awaitable[Any]]

DEFAULT_BREAKER = BreakerPolicy()
"""Open after 5 failed cycles in a row, half-open after 5 minutes (doubling to 1 hour)."""


class _Worker:
    """The state kept for one meter across cycles."""

    __slots__ = (
        "breaker",
        "bus",
        "client",
        "deadline",
        "index",
        "keep_open",
        "last_activity",
        "lock",
        "memory",
        "meter",
        "options",
        "reassociated",
        "step",
    )

    def __init__(self, index: int, meter: Meter, poller: FleetPoller) -> None:
        self.index = index
        self.meter = meter
        self.options = dict(meter.options)
        self.options.setdefault("timeout", poller.timeout)
        self.bus = meter.bus_key
        self.keep_open = poller.keep_open and self.bus is None
        self.breaker = CircuitBreaker(poller.breaker) if poller.breaker is not None else None
        request_timeout = float(self.options["timeout"])
        self.deadline = (
            meter.deadline or poller.deadline or _default_deadline(request_timeout, poller.plan)
        )
        self.client: Any = None
        self.memory: dict[str, Any] = {}
        self.lock = Places(1)
        self.last_activity = 0.0
        # the attempt under way (one at a time): the step it is at, and whether it opened
        # a kept association again (no object per attempt: see _attempt)
        self.step = Step.CONNECT
        self.reassociated = False


def _default_deadline(request_timeout: float, plan: ReadPlan) -> float:
    return request_timeout * (3 + 2 * len(plan))


_Step = tuple[PlanItem, str, str]
"""A plan item, its key and the step name of its read."""

_PlainRun = tuple[tuple[PlainItem, ...], tuple[_Step, ...], list[tuple[int, Obis, int]] | None]
"""Plain items read together, their steps and their fixed attributes (plan.fixed_attributes)."""


class _Results:
    """The results of one cycle on their way from its meter tasks to :meth:`FleetPoller.poll`:
    a list, and a future that the consumer waits on while the list is empty (an
    ``asyncio.Queue`` costs 9 calls per result). ``None`` stands for the poller closing.

    It also counts the meter tasks that ended: ``finished`` completes when all of them did,
    or as soon as one failed (what ``asyncio.wait(..., FIRST_EXCEPTION)`` would tell, without
    a done callback, a loop handle and a call per task)."""

    __slots__ = ("_error", "_items", "_loop", "_remaining", "_waiter", "finished")

    def __init__(self, loop: asyncio.AbstractEventLoop, meters: int) -> None:
        self._items: list[tuple[int, MeterResult] | None] = []
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self._remaining = meters
        self._error: BaseException | None = None
        self.finished: asyncio.Future[None] = loop.create_future()
        if meters == 0:
            self.finished.set_result(None)

    def meter_ended(self, failed: bool) -> None:
        """A meter task ended (``failed``: with an exception other than cancellation)."""
        self._remaining -= 1
        if (failed or self._remaining == 0) and not self.finished.done():
            self.finished.set_result(None)

    def put(self, item: tuple[int, MeterResult] | None) -> None:
        self._items.append(item)
        self._wake()

    def fail(self, error: BaseException) -> None:
        """The cycle failed: :meth:`take` raises ``error`` once what was put is taken."""
        self._error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def take(self) -> list[tuple[int, MeterResult] | None]:
        """Everything put since the last take, in order; waits until there is something."""
        if not self._items:
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self._loop.create_future()
            await waiter
            if not self._items and self._error is not None:
                raise self._error
        items, self._items = self._items, []
        return items


def _open_step(error: BaseException) -> str:
    """Which step an exception out of ``connect()`` belongs to: a refused or unreachable
    TCP connection is ``connect``; silence, rejection and everything else ``associate``."""
    if isinstance(error, OSError) and not isinstance(error, TimeoutError):
        return Step.CONNECT
    return Step.ASSOCIATE


class FleetPoller:
    """Polls many meters concurrently from one event loop.

    >>> # async with FleetPoller(meters, ReadPlan.of("register:1.0.1.8.0.255")) as poller:
    >>> #     async for result in poller.poll():        # one cycle: one result per meter
    >>> #         print(result.meter, result.values() if result.ok else result.failure)

    - ``meters``: :class:`Meter` objects (or URLs); ``plan``: what to read.
    - ``concurrency``: meters being worked on at once (connecting, reading, releasing);
      ``bus_concurrency``: associations at once on one shared bus (1: a serial line or an
      HDLC gateway carries one association at a time; see :attr:`Meter.bus_key`).
    - ``timeout``: seconds per request (``connect(timeout=)``, unless a meter's options
      set it); ``deadline``: seconds one attempt on a meter may take in all (default
      ``timeout × (3 + 2 × plan items)``; a meter's ``deadline`` overrides it).
    - ``retry``: tries per cycle and back-off (:class:`RetryPolicy`); ``breaker``: the
      per-meter circuit breaker (:class:`BreakerPolicy`, ``None`` for none; cycles that
      fail only because the meter refused an object do not count against it);
      ``random``: the jitter source; ``clock`` (monotonic seconds, for the breaker and
      latencies) and ``sleep`` (the back-off wait) can be replaced in tests.
    - ``keep_open``: keep associations open between cycles (meters on a shared bus are
      still released after each cycle); ``keep_alive``: seconds of idleness after which
      an open association gets a read (``keep_alive_item``, the clock by default) — set it
      well inside the meters' inactivity timeout (keep-alives go out within 1.1 × it).
      A kept association that dropped is opened again when next used.
    - ``metrics``: a :class:`~asyncdlms.fleet.metrics.FleetMetrics`; ``on_result``: called
      with every :class:`MeterResult` as it comes.
    - ``connect``: the function that opens an association (:func:`asyncdlms.connect`).
    - ``positions``: called before each meter's turn, its result updates the meter's
      memory of profile positions (:class:`~asyncdlms.fleet.positions.StorePositions`
      loads them from a store). A meter an earlier, overlapping cycle is still reading is
      not read again: its result is a ``busy`` failure (see
      :class:`~asyncdlms.fleet.schedule.AlignedSchedule`).

    Use as ``async with``: leaving it (or :meth:`aclose`) stops every cycle and
    keep-alive, releases every open association and closes every transport.
    """

    def __init__(
        self,
        meters: Iterable[Meter | str],
        plan: ReadPlan = DEFAULT_PLAN,
        *,
        concurrency: int = 100,
        bus_concurrency: int = 1,
        timeout: float = 10.0,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = DEFAULT_BREAKER,
        keep_open: bool = False,
        keep_alive: float | None = None,
        keep_alive_item: PlanItem = KEEP_ALIVE_READ,
        abort_timeout: float = 1.0,
        metrics: FleetMetrics | None = None,
        on_result: Callable[[MeterResult], None] | None = None,
        random: _random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        connect: Connect | None = None,
        positions: Callable[[Meter], Awaitable[Mapping[str, Any]]] | None = None,
    ) -> None:
        if concurrency < 1 or bus_concurrency < 1:
            raise ValueError("concurrency and bus_concurrency must be at least 1")
        if keep_alive is not None and keep_alive <= 0:
            raise ValueError("keep_alive must be positive (seconds) or None")
        self.plan = plan
        self._steps: list[_Step] = [(item, item.key, Step.read(item.key)) for item in plan.items]
        self._plain_runs = self._plain_runs_of()
        self.timeout = timeout
        self.deadline = deadline
        self.retry = retry or RetryPolicy()
        self.breaker = breaker
        self.keep_open = keep_open
        self.keep_alive = keep_alive if keep_open else None
        self.keep_alive_item = keep_alive_item
        self.abort_timeout = abort_timeout
        self.metrics = metrics or FleetMetrics()
        self.on_result = on_result
        self.random = random or _random.Random()
        self.clock = clock
        self.sleep = sleep
        if connect is None:
            from ..aio.connect import connect as default_connect

            connect = default_connect
        self._connect: Connect = connect
        self.positions = positions
        self._polling: set[int] = set()  # meters an earlier cycle is still reading
        self.meters: tuple[Meter, ...] = tuple(
            meter if isinstance(meter, Meter) else Meter(meter) for meter in meters
        )
        self._workers = [_Worker(i, meter, self) for i, meter in enumerate(self.meters)]
        # not an anyio CapacityLimiter: a free place is taken without the limiter's extra
        # trip through the event loop (a shielded checkpoint per take); and not an asyncio
        # semaphore: a free place is taken without a coroutine (places.py)
        self._limiter = Places(concurrency)
        self._buses = {
            worker.bus: anyio.CapacityLimiter(bus_concurrency)
            for worker in self._workers
            if worker.bus is not None
        }
        self._task_group: TaskGroup | None = None
        self._deadlines = Deadlines()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._scopes: set[anyio.CancelScope] = set()
        self._results: set[_Results] = set()  # (those of the cycles under way)
        self._cycles = 0
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> FleetPoller:
        if self._supervisor is not None or self._closed:
            raise RuntimeError("a FleetPoller is entered once")
        ready = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._supervisor = self._loop.create_task(self._supervise(ready))
        await ready.wait()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _supervise(self, ready: asyncio.Event) -> None:
        """The task that owns the poller's task group (cycles, keep-alives), so that the
        poller can be closed from any task, also from inside a cycle's loop."""
        async with anyio.create_task_group() as task_group:
            self._task_group = task_group
            if self.keep_alive is not None:
                scope = anyio.CancelScope()
                self._scopes.add(scope)
                task_group.start_soon(self._keep_alive_loop, scope)
            ready.set()
            await self._stop.wait()
            task_group.cancel_scope.cancel()
        self._task_group = None

    async def aclose(self) -> None:
        """Stop cycles and keep-alives, release every open association, close every
        transport, and wait for every task of the poller to end."""
        if self._closed:
            return
        self._closed = True
        for scope in list(self._scopes):
            scope.cancel()
        for results in list(self._results):
            results.put(None)
        try:
            with anyio.CancelScope(shield=True):
                async with anyio.create_task_group() as releases:
                    for worker in self._workers:
                        if worker.client is not None:
                            releases.start_soon(self._release_at_shutdown, worker)
        finally:
            self._stop.set()
            self._deadlines.close()
            if self._supervisor is not None:
                with anyio.CancelScope(shield=True):
                    await self._supervisor

    async def _release_at_shutdown(self, worker: _Worker) -> None:
        async with worker.lock, self._limiter:
            if worker.client is not None:
                with anyio.move_on_after(float(worker.options["timeout"])):
                    await self._release(worker)
                await self._discard(worker)

    @property
    def open_associations(self) -> int:
        """Associations open now."""
        return sum(1 for worker in self._workers if worker.client is not None)

    # -- cycles -------------------------------------------------------------------------------

    async def poll(self) -> AsyncIterator[MeterResult]:
        """One cycle: every meter's :class:`MeterResult` as soon as it is known, exactly one
        per meter. If the poller is closed meanwhile, the meters not done yet are given as
        failures at step ``shutdown``. Leaving the loop early cancels the rest of the cycle
        when the generator is closed: use ``contextlib.aclosing(poller.poll())`` to have
        that happen at once."""
        if self._task_group is None or self._closed:
            raise RuntimeError("use the FleetPoller as 'async with' first (and not closed)")
        self._cycles += 1
        number = self._cycles
        assert self._loop is not None  # (set when the poller was entered)
        results = _Results(self._loop, len(self._workers))
        scope = anyio.CancelScope()
        pending = set(range(len(self._workers)))
        self._results.add(results)
        self._scopes.add(scope)
        self._task_group.start_soon(self._cycle, number, results, scope)
        try:
            while pending:
                for item in await results.take():
                    if item is None:
                        for index in sorted(pending):
                            failure = MeterFailure(
                                Step.SHUTDOWN, PollerClosedError("the poller was closed"), True
                            )
                            yield MeterResult(self.meters[index], number, (), failure, 0, 0.0)
                        return
                    index, result = item
                    pending.discard(index)
                    yield result
        finally:
            scope.cancel()
            self._results.discard(results)
            self._scopes.discard(scope)

    async def run(
        self, interval: float, *, cycles: int | None = None
    ) -> AsyncIterator[MeterResult]:
        """Poll every ``interval`` seconds (cycle starts on a fixed schedule; a cycle that
        overruns makes the next start at once), ``cycles`` times or until closed; results
        as :meth:`poll` gives them."""
        started = self.clock()
        done = 0
        while not self._closed and (cycles is None or done < cycles):
            async for result in self.poll():
                yield result
            done += 1
            if self._closed or (cycles is not None and done >= cycles):
                return
            next_start = started + done * interval
            now = self.clock()
            if next_start > now:
                await anyio.sleep(next_start - now)

    async def _cycle(
        self,
        number: int,
        results: _Results,
        scope: anyio.CancelScope,
    ) -> None:
        """The meters of one cycle, each in a plain asyncio task (an anyio task group wraps
        every task's coroutine, a frame on each of its steps). Like a task group: the cycle
        ends when every task ended; cancelling it (``scope``, or the poller's group) cancels
        them and waits for them (shielded); a task that fails (a bug: ``_poll_meter`` keeps
        every error of a meter in its result) cancels the others and is raised as a group, by
        this task and by :meth:`poll`, whose loop would otherwise wait for results that do
        not come."""
        create_task = asyncio.get_running_loop().create_task
        tasks = [create_task(self._poll_meter(w, number, results)) for w in self._workers]
        try:
            with scope:
                await results.finished  # (every task ended, or one failed)
        finally:
            pending = [task for task in tasks if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                with anyio.CancelScope(shield=True):
                    await asyncio.wait(pending)
        failures = [
            error
            for task in tasks
            if not task.cancelled() and (error := task.exception()) is not None
        ]
        if failures:
            message = "meter tasks of a fleet cycle failed"
            # poll() raises it too, instead of waiting for results that will not come
            results.fail(BaseExceptionGroup(message, failures))
            raise BaseExceptionGroup(message, failures)

    async def _poll_meter(
        self,
        worker: _Worker,
        number: int,
        results: _Results,
    ) -> None:
        try:
            started = self.clock()
            if worker.index in self._polling:
                result = busy_result(worker.meter, number)
            else:
                self._polling.add(worker.index)
                try:
                    if self.positions is not None:
                        worker.memory.update(await self.positions(worker.meter))
                    result = await self._attempts(worker, number, started)
                except Exception as exc:  # a bug (or the store): still one outcome for the meter
                    failure = MeterFailure(Step.INTERNAL, exc, False)
                    elapsed = self.clock() - started
                    result = MeterResult(worker.meter, number, (), failure, 0, elapsed)
                finally:
                    self._polling.discard(worker.index)
            results.put((worker.index, result))
            self.metrics.meter_finished(result)
            if self.on_result is not None:
                self.on_result(result)
        except asyncio.CancelledError:
            results.meter_ended(False)
            raise
        except BaseException:  # (on_result raised, or worse): _cycle raises it
            results.meter_ended(True)
            raise
        results.meter_ended(False)

    async def _attempts(self, worker: _Worker, number: int, started: float) -> MeterResult:
        breaker = worker.breaker
        attempts = self.retry.attempts
        if breaker is not None:
            before = breaker.state
            allowed = breaker.allow(self.clock())
            if breaker.state is not before:
                self.metrics.breaker_changed(worker.meter, breaker.state)
            if not allowed:
                remaining = breaker.open_for - (self.clock() - breaker.opened_at)
                error = CircuitOpenError(
                    f"{breaker.failures} failed cycles in a row; next try in {remaining:.0f} s"
                )
                refused = MeterFailure(Step.CIRCUIT_OPEN, error, True)
                return MeterResult(worker.meter, number, (), refused, 0, 0.0)
            if breaker.state is BreakerState.HALF_OPEN:
                attempts = 1
        attempt = 0
        reassociated = False
        while True:
            attempt += 1
            memory = dict(worker.memory) if attempt < attempts else None  # for a retry only
            readings, failure, again = await self._attempt(worker)
            reassociated = reassociated or again
            if failure is None or not failure.retryable or memory is None:
                break
            worker.memory = memory  # this try's rows are dropped: the next reads them again
            delay = self.retry.delay(attempt, self.random)
            self.metrics.retry_scheduled(worker.meter, attempt, delay, failure)
            await self.sleep(delay)
        if breaker is not None:
            before = breaker.state
            if failure is None or isinstance(failure.error, DataAccessError):
                breaker.record_success()  # a refused object is no sign of a sick meter
            else:
                breaker.record_failure(self.clock())
            if breaker.state is not before:
                self.metrics.breaker_changed(worker.meter, breaker.state)
        return make_meter_result(
            worker.meter,
            number,
            tuple(readings),
            failure,
            attempt,
            self.clock() - started,
            reassociated,
        )

    async def _attempt(self, worker: _Worker) -> tuple[list[Reading], MeterFailure | None, bool]:
        """One try: associate (or reuse), read the plan, release (unless kept). Waits for
        a place on the meter's bus (if any), then for one of the global places."""
        readings: list[Reading] = []
        worker.step = Step.CONNECT  # (the step the attempt is at, for its failure)
        worker.reassociated = False
        item_failure: MeterFailure | None = None
        bus = self._buses[worker.bus] if worker.bus is not None else None
        try:
            if bus is not None:
                await bus.acquire()
            try:
                # taken and given back by hand, not with `async with`, whose bound __aexit__
                # methods would stay alive (two objects) across every wait for an answer
                await self._limiter.take()
                try:
                    await worker.lock.take()
                    try:
                        deadlines = self._deadlines  # (one timer for all meters: deadlines.py)
                        assert self._loop is not None  # (set when the poller was entered)
                        deadlines.start(worker, self._loop, worker.deadline)
                        try:
                            item_failure = await self._work(worker, readings)
                            if not worker.keep_open:
                                worker.step = Step.RELEASE
                                await self._release(worker)
                        except asyncio.CancelledError:
                            if deadlines.expired(worker):
                                raise TimeoutError() from None
                            raise
                        finally:
                            deadlines.finish(worker)
                    finally:
                        worker.lock.release()
                finally:
                    self._limiter.release()
            finally:
                if bus is not None:
                    bus.release()
        except TimeoutError as exc:
            await self._discard(worker)
            error = exc
            if not isinstance(exc, MeterTimeoutError) and not str(exc):
                error = MeterTimeoutError(
                    f"{worker.meter} took longer than {worker.deadline:g} s in all"
                )
            return readings, MeterFailure(worker.step, error, True), worker.reassociated
        except Exception as exc:
            await self._discard(worker)
            failure = MeterFailure(worker.step, exc, is_retryable(exc))
            return readings, failure, worker.reassociated
        except BaseException:
            await self._discard(worker)
            raise
        return readings, item_failure, worker.reassociated

    async def _work(self, worker: _Worker, readings: list[Reading]) -> MeterFailure | None:
        item_failure: MeterFailure | None = None
        steps = self._steps
        position = 0
        while True:
            reused = worker.client is not None
            if not reused:
                await self._open(worker)
            try:
                while position < len(steps):
                    item, key, step = steps[position]
                    worker.step = step
                    plain = self._plain_run(worker, position)
                    if plain > 0:  # attributes, registers, clocks: GET with-list
                        failure = await self._read_plain(worker, position, plain, readings)
                        item_failure = item_failure or failure
                        position += plain
                        continue
                    try:
                        readings.append(await self._read(worker, item, key))
                    except DataAccessError as exc:  # the association is fine: go on
                        if item_failure is None:
                            item_failure = MeterFailure(step, exc, False)
                    position += 1
                return item_failure
            except (AssociationError, ConnectionError) as exc:
                # A kept association that dropped while idle: open it again, once.
                if not reused or worker.reassociated or isinstance(exc, TimeoutError):
                    raise
                worker.reassociated = True
                await self._discard(worker)

    async def _open(self, worker: _Worker) -> None:
        worker.step = Step.CONNECT
        started = self.clock()
        try:
            keywords = connect_keywords(worker.options)  # fleet names -> settings objects
            worker.client = await self._connect(worker.meter.url, **keywords)
        except BaseException as exc:
            worker.step = _open_step(exc)
            raise
        now = self.clock()
        worker.last_activity = now
        self.metrics.association_opened(worker.meter, now - started)

    async def _read(self, worker: _Worker, item: PlanItem, key: str) -> Reading:
        started = self.clock()
        try:
            value = await item.read(worker.client, worker.memory)
        except BaseException:
            self.metrics.read_finished(worker.meter, key, self.clock() - started, False)
            raise
        now = self.clock()
        worker.last_activity = now
        self.metrics.read_finished(worker.meter, key, now - started, True)
        return Reading(key, value, dt.datetime.now(dt.UTC))

    def _plain_run(self, worker: _Worker, position: int) -> int:
        """How many plain items (read together by GET with-list) start at ``position``;
        0 for other items and on short-name meters."""
        if getattr(worker.client, "short_name_referencing", True):
            return 0
        return len(self._plain_runs[position][0])

    def _plain_runs_of(self) -> list[_PlainRun]:
        """For each position of the plan: the plain items that start there (and their
        steps, and their fixed attributes if any), read together; computed once, the plan
        does not change."""
        steps = self._steps
        runs: list[_PlainRun] = []
        for position in range(len(steps)):
            end = position
            while end < len(steps) and isinstance(steps[end][0], PLAIN_ITEMS):
                end += 1
            run = steps[position:end]
            items = tuple(cast(PlainItem, item) for item, _key, _step in run)
            runs.append((items, tuple(run), fixed_attributes(items)))
        return runs

    async def _read_plain(
        self, worker: _Worker, position: int, count: int, readings: list[Reading]
    ) -> MeterFailure | None:
        items, steps, fixed = self._plain_runs[position]
        started = self.clock()
        try:
            values = await read_plain_items(worker.client, items, worker.memory, fixed)
        except BaseException:
            for _item, key, _step in steps:
                self.metrics.read_finished(worker.meter, key, self.clock() - started, False)
            raise
        now = self.clock()
        worker.last_activity = now
        stamp = dt.datetime.now(dt.UTC)
        failure: MeterFailure | None = None
        for (_item, key, step), value in zip(steps, values, strict=True):
            ok = not isinstance(value, Exception)
            self.metrics.read_finished(worker.meter, key, now - started, ok)
            if ok:
                readings.append(make_reading(key, value, stamp))
            elif isinstance(value, DataAccessError):  # the association is fine: go on
                failure = failure or MeterFailure(step, value, False)
            else:
                raise value
        return failure

    async def _release(self, worker: _Worker) -> None:
        client, worker.client = worker.client, None
        if client is not None:
            try:
                await client.close()
            finally:
                self.metrics.association_closed(worker.meter)

    async def _discard(self, worker: _Worker) -> None:
        """Drop the meter's association after a failure: a short try at releasing it,
        then the transport is closed whatever happens (also when cancelled)."""
        client, worker.client = worker.client, None
        if client is None:
            return
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(self.abort_timeout),
            contextlib.suppress(Exception),
        ):
            await client.close()
        self.metrics.association_closed(worker.meter)

    # -- keep-alive ---------------------------------------------------------------------------

    async def _keep_alive_loop(self, scope: anyio.CancelScope) -> None:
        assert self.keep_alive is not None
        interval = self.keep_alive
        with scope:
            async with anyio.create_task_group() as task_group:
                while True:
                    now = self.clock()
                    next_due = now + interval
                    for worker in self._workers:
                        if worker.client is None or worker.lock.locked():
                            continue
                        due = worker.last_activity + interval
                        if due <= now:
                            worker.last_activity = now
                            task_group.start_soon(self._keep_alive_one, worker)
                        else:
                            next_due = min(next_due, due)
                    await anyio.sleep(max(next_due - self.clock(), interval / 10))

    async def _keep_alive_one(self, worker: _Worker) -> None:
        async with worker.lock, self._limiter:
            if worker.client is None:
                return
            started = self.clock()
            try:
                with anyio.fail_after(float(worker.options["timeout"])):
                    await self.keep_alive_item.read(worker.client, {})
            except Exception:
                self.metrics.read_finished(worker.meter, KEEP_ALIVE, self.clock() - started, False)
                await self._discard(worker)  # opened again by the next cycle
                return
            worker.last_activity = self.clock()
            self.metrics.read_finished(
                worker.meter, KEEP_ALIVE, worker.last_activity - started, True
            )


async def poll_fleet(
    meters: Iterable[Meter | str], plan: ReadPlan = DEFAULT_PLAN, **options: Any
) -> Sequence[MeterResult]:
    """Poll every meter once and return the results in the order of ``meters``
    (``options``: those of :class:`FleetPoller`)."""
    async with FleetPoller(meters, plan, **options) as poller:
        by_meter: dict[int, MeterResult] = {}
        order = {id(meter): i for i, meter in enumerate(poller.meters)}
        async for result in poller.poll():
            by_meter[order[id(result.meter)]] = result
        return [by_meter[i] for i in range(len(poller.meters))]
