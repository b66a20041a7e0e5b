"""``worker``: poll the meters of the jobs stream through a consumer group.

For each job: wait for the bus lock (meters on one HDLC line or gateway), poll the meter
with a :class:`~asyncdlms.fleet.FleetPoller` (the fleet's plans, retries and circuit
breakers; one poller per meter, kept between its jobs), commit what it read to the
:class:`~asyncdlms.distributed.sink.JobStore`, then — in one Redis transaction — publish a
result record and acknowledge (``XACK``, ``XDEL``) the job. Commits are grouped: the jobs
polled while the previous commit ran are committed in one store transaction and
acknowledged in one Redis round trip. A worker that dies before the
acknowledgement leaves the job pending; another worker claims it (``XAUTOCLAIM``) once it
was idle ``claim_after`` seconds and does it again: at-least-once delivery, made
effectively-once by the store's idempotent writes. A live worker keeps its jobs from being
claimed by touching them (``XCLAIM ... JUSTID``) while it works on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import random
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from ..fleet import (
    DEFAULT_BREAKER,
    BreakerPolicy,
    FleetPoller,
    MeterFailure,
    MeterResult,
    RetryPolicy,
)
from ..fleet.poller import Connect
from ..security.counters import InvocationCounterStore
from .connection import RedisBackoff, ensure_group, open_redis, redis_errors, with_backoff
from .counters import RedisInvocationCounterStore
from .jobs import Job, JobError
from .keys import StreamKeys
from .sink import JobStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["JOB_STEP", "Worker", "WorkerStatistics", "default_worker_name"]

JOB_STEP = "job"
"""The failure step of a job record the worker cannot use (a bad field, a variable not set)."""


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def default_worker_name() -> str:
    """``host-pid``: unique on one machine, recognisable in ``status``."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(slots=True)
class WorkerStatistics:
    """What a worker did: jobs done (``ok``/``failed``), ``claimed`` from other consumers,
    Redis ``reconnects`` and store errors (jobs left pending for a retry)."""

    ok: int = 0
    failed: int = 0
    claimed: int = 0
    reconnects: int = 0
    store_errors: int = 0

    @property
    def jobs(self) -> int:
        return self.ok + self.failed


@dataclass(frozen=True, slots=True)
class _Done:
    """A job polled (or found unusable), waiting for its commit and acknowledgement."""

    entry_id: str
    fields: Mapping[str, str]
    deliveries: int
    job: Job | None
    result: MeterResult | None
    error: BaseException | None

    def record(self, worker: str) -> dict[str, str]:
        """The result record: meter, cycle, ok, the failure's step, cause and message,
        reads, attempts, worker, delivery count."""
        record = {
            "job": self.entry_id,
            "meter": self.fields.get("meter", ""),
            "cycle": self.fields.get("cycle", ""),
            "worker": worker,
            "deliveries": str(self.deliveries),
            "finished": dt.datetime.now(dt.UTC).isoformat(),
            "reads": "0",
            "attempts": "0",
        }
        failure: MeterFailure | None = None
        if self.result is not None:
            failure = self.result.failure
            record["reads"] = str(len(self.result.readings))
            record["attempts"] = str(self.result.attempts)
            record["elapsed_ms"] = f"{self.result.elapsed * 1000:.1f}"
        if self.error is not None:
            failure = MeterFailure(JOB_STEP, self.error, False)
        record["ok"] = "1" if failure is None else "0"
        if failure is not None:
            record["step"] = failure.step
            record["cause"] = type(failure.error).__name__
            record["message"] = str(failure.error)
        return record


class Worker:
    """One consumer of the jobs stream (see the module documentation).

    - ``redis_url``; ``store``: where readings are committed; ``keys``: the fleet's keys.
    - ``name``: the consumer name (unique per worker; default ``host-pid``);
      ``concurrency``: jobs worked on at once.
    - ``claim_after``: seconds a job stays pending with a silent consumer before another
      worker claims it; ``lock_ttl``: seconds a bus lock lives without being renewed.
    - ``timeout``, ``retry``, ``breaker``, ``connect``: those of :class:`FleetPoller`.
    - ``commit_batch``: at most this many jobs per store transaction;
      ``results_max_length``: the results stream is trimmed to about this many records.
    - ``backoff``: waits while Redis is away; ``idle_exit``: stop after this many seconds
      without a job (None: run until :meth:`stop`); ``environ``: where ``*_env`` options
      are read (the process's environment).
    - ``counter_store``: the invocation counters of ciphered meters, unless a meter names
      its own; by default a :class:`~.counters.RedisInvocationCounterStore` on the same
      Redis, so that no two workers, on any machine, use one counter twice.
    """

    def __init__(
        self,
        redis_url: str,
        store: JobStore,
        *,
        keys: StreamKeys | None = None,
        name: str | None = None,
        concurrency: int = 50,
        claim_after: float = 30.0,
        lock_ttl: float = 30.0,
        block: float = 1.0,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = DEFAULT_BREAKER,
        connect: Connect | None = None,
        backoff: RedisBackoff | None = None,
        idle_exit: float | None = None,
        environ: Mapping[str, str] | None = None,
        max_pollers: int = 10_000,
        results_max_length: int = 1_000_000,
        commit_batch: int = 500,
        on_result: Callable[[Job, MeterResult], None] | None = None,
        counter_store: InvocationCounterStore | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if claim_after <= 0 or lock_ttl <= 0:
            raise ValueError("claim_after and lock_ttl must be positive (seconds)")
        self.redis_url = redis_url
        self.store = store
        self.keys = keys or StreamKeys()
        self.name = name or default_worker_name()
        self.concurrency = concurrency
        self.claim_after = claim_after
        self.lock_ttl = lock_ttl
        self.block = block
        self.timeout = timeout
        self.retry = retry
        self.breaker = breaker
        self.connect = connect
        self.backoff = backoff or RedisBackoff()
        self.idle_exit = idle_exit
        self.environ = environ
        self.max_pollers = max_pollers
        self.results_max_length = results_max_length
        self.commit_batch = commit_batch
        self.on_result = on_result
        #: where the invocation counters of ciphered meters come from: blocks reserved in
        #: this Redis by default, shared with every other worker (see .counters)
        self._own_counter_store = counter_store is None
        self.counter_store: InvocationCounterStore = (
            counter_store
            if counter_store is not None
            else RedisInvocationCounterStore(redis_url, prefix=self.keys.prefix)
        )
        self.statistics = WorkerStatistics()
        self._redis: Redis | None = None
        self._stop = asyncio.Event()
        self._active: set[str] = set()  # jobs in hand: polling, or waiting for the commit
        self._polling = 0
        self._slot = asyncio.Event()
        self._done: asyncio.Queue[_Done] = asyncio.Queue()
        self._pollers: OrderedDict[str, FleetPoller] = OrderedDict()
        self._in_use: dict[str, int] = {}
        self._local_buses: dict[str, asyncio.Lock] = {}
        self._held_locks: dict[str, str] = {}
        self._next_claim = 0.0
        self._claim_cursor = "0-0"
        self._random = random.Random()

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("the worker is not running")
        return self._redis

    def stop(self) -> None:
        """Stop taking jobs; :meth:`run` returns once the jobs in hand are done."""
        self._stop.set()

    def _reconnecting(self, attempt: int, error: BaseException) -> None:
        self.statistics.reconnects += 1

    async def _call(self, call: Callable[[], Any], *, until_stopped: bool = False) -> Any:
        give_up = self._stop.is_set if until_stopped else None
        return await with_backoff(call, self.backoff, on_retry=self._reconnecting, give_up=give_up)

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> WorkerStatistics:
        """Take jobs until stopped (or idle for ``idle_exit`` seconds); return what was done."""
        self._redis = open_redis(self.redis_url, block_seconds=self.block)
        try:
            await self._call(
                partial(ensure_group, self.redis, self.keys.jobs, self.keys.group),
                until_stopped=True,
            )
            async with anyio.create_task_group() as jobs:
                heartbeat, committer = anyio.CancelScope(), anyio.CancelScope()
                jobs.start_soon(self._heartbeat, heartbeat)
                jobs.start_soon(self._committer, committer)
                try:
                    await self._take_jobs(jobs)
                finally:
                    while self._active:  # the jobs in hand end normally
                        self._slot.clear()
                        await self._slot.wait()
                    heartbeat.cancel()
                    committer.cancel()
        finally:
            for poller in list(self._pollers.values()):
                await poller.aclose()
            self._pollers.clear()
            await self._redis.aclose()
            if self._own_counter_store and isinstance(
                self.counter_store, RedisInvocationCounterStore
            ):
                self.counter_store.close()
            self._redis = None
        return self.statistics

    async def _take_jobs(self, jobs: Any) -> None:
        idle_since = time.monotonic()
        while not self._stop.is_set():
            # polling places free; jobs polled but not yet committed count up to a limit
            free = min(self.concurrency - self._polling, 2 * self.concurrency - len(self._active))
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            try:
                entries = await self._call(partial(self._fetch, free), until_stopped=True)
            except redis_errors():
                return  # stopped while Redis is away: take no more jobs
            if not entries:
                if (
                    self.idle_exit is not None
                    and not self._active
                    and time.monotonic() - idle_since >= self.idle_exit
                ):
                    return
                continue
            idle_since = time.monotonic()
            for entry_id, fields, deliveries in entries:
                self._active.add(entry_id)
                self._polling += 1
                jobs.start_soon(self._handle, entry_id, fields, deliveries)
            await anyio.sleep(0)

    async def _fetch(self, count: int) -> list[tuple[str, dict[str, str], int]]:
        """Jobs to do: pending ones of silent consumers first (``XAUTOCLAIM``, every
        ``claim_after / 2`` seconds), else new ones (``XREADGROUP``, blocking)."""
        redis, keys = self.redis, self.keys
        now = time.monotonic()
        if now >= self._next_claim:
            reply = await redis.xautoclaim(
                keys.jobs,
                keys.group,
                self.name,
                min_idle_time=int(self.claim_after * 1000),
                start_id=self._claim_cursor,
                count=count,
            )
            cursor, claimed = str(reply[0]), reply[1]
            self._claim_cursor = cursor
            if cursor == "0-0":
                self._next_claim = now + self.claim_after / 2
            entries = []
            for entry_id, fields in claimed:
                if not fields:  # deleted meanwhile
                    await redis.xack(keys.jobs, keys.group, entry_id)
                    continue
                info = await redis.xpending_range(
                    keys.jobs, keys.group, min=entry_id, max=entry_id, count=1
                )
                deliveries = int(info[0]["times_delivered"]) if info else 2
                entries.append((str(entry_id), dict(fields), deliveries))
            if entries:
                self.statistics.claimed += len(entries)
                return entries
        timeout = self.block
        if self._next_claim > now:
            timeout = min(timeout, self._next_claim - now)
        read: Any = await redis.xreadgroup(
            keys.group,
            self.name,
            {keys.jobs: ">"},
            count=count,
            block=max(int(timeout * 1000), 1),
        )
        out = []
        for _stream, messages in read or ():
            for entry_id, fields in messages:
                out.append((str(entry_id), dict(fields), 1))
        return out

    async def _heartbeat(self, scope: anyio.CancelScope) -> None:
        """Touch the jobs in hand (so that no one claims them) and renew the bus locks."""
        period = min(self.claim_after, self.lock_ttl) / 3
        with scope:
            while True:
                await anyio.sleep(period)
                with contextlib.suppress(*redis_errors()):
                    await self._touch()

    async def _touch(self) -> None:
        redis, keys = self.redis, self.keys
        if self._active:
            # only the jobs still pending with this worker: one another worker claimed
            # (this one was silent too long) is not taken back
            own: Any = await redis.xpending_range(
                keys.jobs, keys.group, min="-", max="+",
                count=4 * self.concurrency + 100, consumername=self.name,
            )  # fmt: skip
            mine = {str(entry["message_id"]) for entry in own}
            active: list[int | bytes | str | memoryview] = [*sorted(self._active & mine)]
            if active:
                await redis.xclaim(
                    keys.jobs, keys.group, self.name, min_idle_time=0, message_ids=active,
                    justid=True,
                )  # fmt: skip
        for lock, token in list(self._held_locks.items()):
            await redis.eval(_EXTEND, 1, lock, token, str(int(self.lock_ttl * 1000)))

    # -- one job ------------------------------------------------------------------------------

    async def _handle(self, entry_id: str, fields: dict[str, str], deliveries: int) -> None:
        done: _Done | None = None
        try:
            done = await self._do(entry_id, fields, deliveries)
        finally:
            self._polling -= 1
            if done is None:
                self._active.discard(entry_id)
            else:
                self._done.put_nowait(done)
            self._slot.set()

    async def _do(self, entry_id: str, fields: dict[str, str], deliveries: int) -> _Done:
        try:
            job = Job.from_fields(fields)
            meter = job.to_meter(self.environ)
            if "invocation_counter_store" not in meter.options:
                meter = dataclasses.replace(
                    meter,
                    options={**meter.options, "invocation_counter_store": self.counter_store},
                )
        except JobError as exc:
            # A job no worker can do: say so and acknowledge it (it would never succeed).
            return _Done(entry_id, fields, deliveries, None, None, exc)
        if job.bus:
            async with self._bus(job.bus):
                result = await self._poll(job, meter)
        else:
            result = await self._poll(job, meter)
        return _Done(entry_id, fields, deliveries, job, result, None)

    async def _committer(self, scope: anyio.CancelScope) -> None:
        """Commit the jobs polled so far in one store transaction, then publish their
        result records and acknowledge them in one Redis transaction (group commit: one
        fsync and one round trip for every job finished meanwhile)."""
        with scope:
            while True:
                batch = [await self._done.get()]
                while not self._done.empty() and len(batch) < self.commit_batch:
                    batch.append(self._done.get_nowait())
                try:
                    await self._commit(batch)
                finally:
                    for done in batch:
                        self._active.discard(done.entry_id)
                    self._slot.set()

    async def _commit(self, batch: list[_Done]) -> None:
        polled = [(d.job, d.result) for d in batch if d.job is not None and d.result is not None]
        if polled:
            try:
                await self.store.commit(polled)
            except Exception:
                # Not committed: not acknowledged either. The jobs stay pending and are
                # claimed again (by any worker) after claim_after seconds.
                self.statistics.store_errors += len(polled)
                batch = [d for d in batch if d.job is None]
                if not batch:
                    return
        await self._call(partial(self._finish, batch))
        for done in batch:
            if done.result is not None and done.result.ok:
                self.statistics.ok += 1
            else:
                self.statistics.failed += 1
            if self.on_result is not None and done.job is not None and done.result is not None:
                self.on_result(done.job, done.result)

    async def _finish(self, batch: list[_Done]) -> None:
        """Publish the result records and acknowledge the jobs, in one transaction."""
        keys = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            for done in batch:
                pipe.xadd(
                    keys.results,
                    done.record(self.name),  # type: ignore[arg-type]
                    maxlen=self.results_max_length,
                    approximate=True,
                )
            ids = [done.entry_id for done in batch]
            pipe.xack(keys.jobs, keys.group, *ids)
            pipe.xdel(keys.jobs, *ids)
            await pipe.execute()

    async def _poll(self, job: Job, meter: Any) -> MeterResult:
        identity = job.identity()
        poller = self._pollers.get(identity)
        if poller is None:
            plan = job.read_plan()
            extra: dict[str, Any] = {}
            positions_hook = getattr(self.store, "positions_hook", None)
            if positions_hook is not None:  # profiles continue from the stored positions
                extra["positions"] = positions_hook(plan)
            poller = FleetPoller(
                [meter],
                plan,
                concurrency=1,
                timeout=self.timeout,
                retry=self.retry,
                breaker=self.breaker,
                connect=self.connect,
                **extra,
            )
            await poller.__aenter__()
            self._pollers[identity] = poller
            await self._evict()
        self._pollers.move_to_end(identity)
        self._in_use[identity] = self._in_use.get(identity, 0) + 1
        try:
            result: MeterResult | None = None
            async for outcome in poller.poll():
                result = outcome
            assert result is not None
            return result
        finally:
            left = self._in_use[identity] - 1
            if left:
                self._in_use[identity] = left
            else:
                del self._in_use[identity]

    async def _evict(self) -> None:
        """Keep at most ``max_pollers`` (the least recently used idle ones go)."""
        while len(self._pollers) > self.max_pollers:
            for identity in self._pollers:
                if identity not in self._in_use:
                    poller = self._pollers.pop(identity)
                    await poller.aclose()
                    break
            else:
                return

    @contextlib.asynccontextmanager
    async def _bus(self, bus: str) -> Any:
        """Hold the bus: one job at a time in this worker, and the Redis lock of the bus
        against every other worker (renewed by the heartbeat; it expires after
        ``lock_ttl`` seconds if this worker dies)."""
        local = self._local_buses.setdefault(bus, asyncio.Lock())
        async with local:
            key = self.keys.bus_lock(bus)
            token = f"{self.name}:{secrets.token_hex(8)}"
            ttl = int(self.lock_ttl * 1000)
            wait = 0.01
            while not await self._call(partial(self.redis.set, key, token, nx=True, px=ttl)):
                await anyio.sleep(wait * (1 + self._random.random()))
                wait = min(wait * 2, 0.2)
            self._held_locks[key] = token
            try:
                yield
            finally:
                del self._held_locks[key]
                with anyio.CancelScope(shield=True):
                    await self._call(partial(self.redis.eval, _RELEASE, 1, key, token))
