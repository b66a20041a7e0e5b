"""Where a worker commits what a job read, before it acknowledges the job.

The worker needs one thing of a store: :class:`JobStore` — commit one job's outcome in one
transaction, idempotently, so that a job done twice (a worker died after committing, before
acknowledging) leaves one set of rows. Values are keyed (meter, object, capture time), and
the capture time of a register, clock or attribute value is the *cycle's* time
(:attr:`Job.scheduled`), not the moment of the read: a second delivery overwrites the first
delivery's rows instead of adding a second set. Profile rows keep their own capture times.

:func:`open_job_store` opens the readings store of the store issue (``asyncdlms.store``:
``open_store(url)``, ``write(StoreBatch)``, one transaction per batch, upserts on (meter,
object, capture time)) through :class:`ReadingStoreJobStore` when that package is present,
and otherwise the small embedded :class:`SqliteJobStore` (``sqlite:///path``: WAL, busy
timeout, retried writes; several workers on one machine may share the file).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from ..cosem.profile import ProfileRow
from ..errors import DlmsError
from ..fleet import (
    MeterResult,
    PlanItem,
    ReadAttribute,
    ReadClock,
    ReadProfile,
    ReadRegister,
    parse_plan_item,
)
from ..fleet.plan import ReadShortName
from .jobs import Job

__all__ = [
    "JobStore",
    "JobStoreError",
    "ReadingStoreJobStore",
    "SqliteJobStore",
    "StoredValue",
    "object_of",
    "open_job_store",
    "values_of",
]

T = TypeVar("T")


class JobStoreError(DlmsError):
    """The store cannot be opened or written (the message names it and what to change)."""


@dataclass(frozen=True, slots=True)
class StoredValue:
    """One value to keep: ``meter``, ``class_id``/``obis``/``attribute`` (a profile row:
    class 7, its OBIS, attribute 2), ``capture_time`` (UTC) and ``value`` (the decoded
    value; for a profile row its :class:`ProfileRow`)."""

    meter: str
    class_id: int
    obis: str
    attribute: int
    capture_time: dt.datetime
    value: Any

    @property
    def object(self) -> str:
        return f"{self.class_id}/{self.obis}/{self.attribute}"


def object_of(item: PlanItem) -> tuple[int, str, int]:
    """The (class id, OBIS, attribute) a plan item reads (a short-name variable: class 0,
    ``sn:NAME``, attribute 0)."""
    if isinstance(item, ReadRegister):
        return item.class_id, str(item.obis), 2
    if isinstance(item, ReadClock):
        return 8, str(item.obis), 2
    if isinstance(item, ReadProfile):
        return 7, str(item.obis), 2
    if isinstance(item, ReadAttribute):
        return item.class_id, str(item.obis), item.attribute
    if isinstance(item, ReadShortName):
        return 0, item.key, 0
    raise TypeError(f"not a plan item: {item!r}")


def values_of(job: Job, result: MeterResult) -> list[StoredValue]:
    """What ``result`` read, as values keyed for an idempotent store (see the module)."""
    capture = job.scheduled.astimezone(dt.UTC)
    out: list[StoredValue] = []
    for reading in result.readings:
        item = parse_plan_item(reading.key)
        class_id, obis, attribute = object_of(item)
        if isinstance(item, ReadProfile):
            for row in reading.value:
                stamp = row.timestamp if isinstance(row, ProfileRow) else None
                if isinstance(stamp, dt.datetime):
                    moment = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
                    out.append(
                        StoredValue(job.meter, class_id, obis, attribute, moment, row)
                    )
            continue
        out.append(StoredValue(job.meter, class_id, obis, attribute, capture, reading.value))
    return out


@runtime_checkable
class JobStore(Protocol):
    """What a worker needs of a store."""

    async def commit(self, outcomes: Sequence[tuple[Job, MeterResult]]) -> None:
        """Write what each result read for its job (and its failure, if any), all in one
        transaction, idempotently; return once it is committed."""
        ...

    async def stored(self, meter: str) -> list[tuple[str, dt.datetime]]:
        """(object ``class/OBIS/attribute``, capture time) of every value kept for
        ``meter``, sorted."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


async def open_job_store(url: str) -> JobStore:
    """The store at ``url`` for a worker: the readings store (``asyncdlms.store``, SQLite or
    PostgreSQL) when that package is installed, else :class:`SqliteJobStore` for
    ``sqlite:///path``."""
    store_package: Any
    positions: Any
    try:
        store_package = importlib.import_module("asyncdlms.store")
        positions = importlib.import_module("asyncdlms.fleet.positions")
    except ImportError:
        store_package = positions = None
    if store_package is not None:
        try:
            store = await store_package.open_store(url)
        except DlmsError as exc:
            raise JobStoreError(str(exc)) from None
        return ReadingStoreJobStore(store, store_package, positions)
    if url.startswith("sqlite:///"):
        return await SqliteJobStore.open(url)
    raise JobStoreError(f"{url.split('@')[-1]}: only sqlite:///path is available here")


def _json(value: Any) -> Any:
    from ..cosem.units import Quantity

    if isinstance(value, Quantity):
        return {"value": float(value.value), "unit": value.symbol}
    if isinstance(value, ProfileRow):
        return [_json(item) for item in value.values]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return str(value)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_readings (
    meter TEXT NOT NULL, object TEXT NOT NULL, capture_time TEXT NOT NULL,
    value TEXT NOT NULL, cycle INTEGER NOT NULL,
    PRIMARY KEY (meter, object, capture_time)
);
CREATE TABLE IF NOT EXISTS job_failures (
    meter TEXT NOT NULL, cycle INTEGER NOT NULL, step TEXT NOT NULL, cause TEXT NOT NULL,
    message TEXT NOT NULL, PRIMARY KEY (meter, cycle)
);
"""

_UPSERT = (
    "INSERT INTO job_readings (meter, object, capture_time, value, cycle) VALUES (?,?,?,?,?) "
    "ON CONFLICT (meter, object, capture_time) DO UPDATE SET value = excluded.value, "
    "cycle = excluded.cycle"
)
_FAILURE = (
    "INSERT INTO job_failures (meter, cycle, step, cause, message) VALUES (?,?,?,?,?) "
    "ON CONFLICT (meter, cycle) DO UPDATE SET step = excluded.step, cause = excluded.cause, "
    "message = excluded.message"
)

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's transaction on the same SQLite file."""


class SqliteJobStore:
    """The embedded store of the worker (``sqlite:///path``): one file, WAL, a busy timeout
    and retried writes, so that the workers of one machine can share it."""

    def __init__(self, url: str, connection: sqlite3.Connection) -> None:
        self.url = url
        self._connection = connection
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="asyncdlms-job-store")

    @classmethod
    async def open(cls, url: str) -> SqliteJobStore:
        path = Path(url[len("sqlite:///") :]).expanduser()

        def connect() -> sqlite3.Connection:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            return connection

        try:
            connection = await asyncio.to_thread(connect)
        except sqlite3.Error as exc:
            raise JobStoreError(f"{url}: cannot open the SQLite database: {exc}") from None
        return cls(url, connection)

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, tries: int = 5) -> T:
        loop = asyncio.get_running_loop()
        for attempt in range(1, tries + 1):
            try:
                return await loop.run_in_executor(self._executor, work, self._connection)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == tries:
                    raise JobStoreError(f"{self.url}: {exc}") from exc
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    async def commit(self, outcomes: Sequence[tuple[Job, MeterResult]]) -> None:
        rows = [
            (v.meter, v.object, v.capture_time.isoformat(), json.dumps(_json(v.value)), job.cycle)
            for job, result in outcomes
            for v in values_of(job, result)
        ]
        failures = [
            (job.meter, job.cycle, result.failure.step, type(result.failure.error).__name__,
             str(result.failure.error))
            for job, result in outcomes
            if result.failure is not None
        ]  # fmt: skip

        def work(connection: sqlite3.Connection) -> None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(_UPSERT, rows)
                connection.executemany(_FAILURE, failures)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

        await self._run(work)

    async def stored(self, meter: str) -> list[tuple[str, dt.datetime]]:
        def work(connection: sqlite3.Connection) -> list[tuple[str, dt.datetime]]:
            cursor = connection.execute(
                "SELECT object, capture_time FROM job_readings WHERE meter = ? "
                "ORDER BY object, capture_time",
                (meter,),
            )
            return [(name, dt.datetime.fromisoformat(stamp)) for name, stamp in cursor]

        return await self._run(work)

    async def close(self) -> None:
        def work(connection: sqlite3.Connection) -> None:
            connection.close()

        await self._run(work)
        self._executor.shutdown(wait=True)


class ReadingStoreJobStore:
    """A :class:`JobStore` on the readings store of ``asyncdlms.store``: a job's outcome
    becomes one ``StoreBatch`` (``asyncdlms.fleet.positions.result_batch(result,
    job.scheduled)``: values at the cycle's time, profile rows at theirs with the meter's
    new position, a failure with its step), written in one transaction. Its
    :meth:`positions_hook` gives the poller the stored profile positions, so a profile
    read continues from what any worker stored before."""

    def __init__(self, store: Any, package: Any, positions: Any) -> None:
        self.store = store
        self._package = package
        self._positions = positions

    async def commit(self, outcomes: Sequence[tuple[Job, MeterResult]]) -> None:
        batches = [self._positions.result_batch(result, job.scheduled) for job, result in outcomes]
        await self.store.write(self._package.StoreBatch.join(batches))

    def positions_hook(self, plan: Any) -> Any:
        """The ``positions`` hook of a :class:`~asyncdlms.fleet.FleetPoller` polling
        ``plan``."""
        return self._positions.StorePositions(self.store, plan)

    async def stored(self, meter: str) -> list[tuple[str, dt.datetime]]:
        query = self._package.ReadingQuery(meter=meter)
        values = [(r.object, r.capture_time) for r in await self.store.readings(query)]
        values += [
            (f"7/{r.profile}/2", r.capture_time) for r in await self.store.profile_rows(query)
        ]
        return sorted(values)

    async def close(self) -> None:
        await self.store.close()
