"""Durable fleet state: profile positions in a :class:`~asyncdlms.store.ReadingStore`.

- :func:`read_profile_since` is how a ``profile:OBIS`` plan item reads: the meter's clock
  first (same association), then the rows from the last stored capture time to that clock;
  a meter never read before gives its last ``history`` (``history = "2d"`` in a fleet
  file's ``[plan]``, :func:`with_history`);
- :class:`StorePositions` is the poller's ``positions`` hook: before each meter's turn its
  positions are loaded from the store, so a restarted poller (or a cycle after a failed
  write) continues from what is stored, not from memory;
- :class:`StoreWriter` turns :class:`~asyncdlms.fleet.MeterResult` objects into
  :class:`~asyncdlms.store.StoreBatch` objects and writes them, one transaction per batch,
  each batch with the positions of its rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..cosem.profile import ProfileRow
from ..store import (
    ProfilePosition,
    ReadingStore,
    StoreBatch,
    StoredFailure,
    StoredProfileRow,
    StoredReading,
    encode_value,
    utc,
)
from .plan import (
    ReadAttribute,
    ReadClock,
    ReadPlan,
    ReadProfile,
    ReadRegister,
    ReadShortName,
    parse_plan_item,
)

if TYPE_CHECKING:
    from .meters import Meter
    from .results import MeterResult

__all__ = [
    "StorePositions",
    "StoreWriter",
    "parse_duration",
    "read_profile_since",
    "result_batch",
    "with_history",
]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str | float | int) -> dt.timedelta:
    """``"2d"``, ``"12h"``, ``"1d12h"``, ``"90m"``, ``"30s"``, ``"1w"`` or a number of
    seconds as a timedelta; ``ValueError`` says what is accepted."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        spelled = str(text).strip().replace(" ", "")
        try:
            seconds = float(spelled)
        except ValueError:
            parts = _DURATION.findall(spelled)
            if not parts or "".join(n + u for n, u in parts).lower() != spelled.lower():
                raise ValueError(
                    f"{text!r} is not a duration: use e.g. 2d, 12h, 1d12h, 90m, 30s or seconds"
                ) from None
            seconds = sum(float(n) * _UNITS[u.lower()] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be positive")
    return dt.timedelta(seconds=seconds)


def with_history(plan: ReadPlan, history: dt.timedelta) -> ReadPlan:
    """``plan`` with every profile item's first read going back ``history``."""
    return ReadPlan(
        tuple(
            dataclasses.replace(item, history=history) if isinstance(item, ReadProfile) else item
            for item in plan.items
        )
    )


async def read_profile_since(
    item: ReadProfile, client: Any, memory: dict[str, Any]
) -> tuple[ProfileRow, ...]:
    """The rows of ``item``'s profile after ``memory[item.key]`` (the last capture time
    read, or stored) up to the meter's clock, read first on the same association; without
    a position, the last ``item.history``. The position in ``memory`` moves to the newest
    row returned. A meter whose clock names no instant is read up to the head-end's
    time; a clock without deviation (a naive time) is taken as UTC."""
    clock: dt.datetime | None = await client.read_clock()
    now = utc(clock) if clock is not None else dt.datetime.now(dt.UTC)
    last: dt.datetime | None = memory.get(item.key)
    start = utc(last) if last is not None else now - item.history
    if start > now:  # the meter's clock went back: nothing new to ask for
        return ()
    rows = await client.read_profile(item.obis, start=start, end=now)
    fresh = tuple(
        row
        for row in rows
        if last is None or not isinstance(row.timestamp, dt.datetime) or utc(row.timestamp) > start
    )
    stamps = [utc(row.timestamp) for row in fresh if isinstance(row.timestamp, dt.datetime)]
    if stamps:
        memory[item.key] = max(stamps)
    return fresh


class StorePositions:
    """The poller's ``positions`` hook: ``await positions(meter)`` gives, for each profile
    item of ``plan``, the last capture time stored for the meter (``None`` when none, so
    the item goes back its history)."""

    def __init__(self, store: ReadingStore, plan: ReadPlan) -> None:
        self.store = store
        self.profiles = [item for item in plan.items if isinstance(item, ReadProfile)]

    async def __call__(self, meter: Meter) -> dict[str, dt.datetime | None]:
        if not self.profiles:
            return {}
        stored = await self.store.positions(meter.name)
        return {item.key: stored.get(str(item.obis)) for item in self.profiles}


def result_batch(result: MeterResult, capture_time: dt.datetime) -> StoreBatch:
    """What to store of one meter's outcome. Plain values are stored at ``capture_time``
    (the start of the cycle's slot, so that a retried cycle writes the same keys), profile
    rows at their own capture times with the meter's new position; a failure is stored at
    ``capture_time`` with its step."""
    meter = result.meter.name
    readings: list[StoredReading] = []
    rows: list[StoredProfileRow] = []
    positions: list[ProfilePosition] = []
    for reading in result.readings:
        item = parse_plan_item(reading.key)
        if isinstance(item, ReadProfile):
            profile = str(item.obis)
            newest: dt.datetime | None = None
            for row in reading.value:
                if not isinstance(row.timestamp, dt.datetime):
                    continue  # a row that names no instant has no key to be stored under
                stamp = utc(row.timestamp)
                columns = tuple(str(column) for column in row.columns)
                values = tuple(encode_value(value)[0] for value in row.values)
                rows.append(StoredProfileRow(meter, profile, stamp, columns, values))
                newest = stamp if newest is None or stamp > newest else newest
            if newest is not None:
                positions.append(ProfilePosition(meter, profile, newest))
            continue
        class_id, obis, attribute = _object_of(item)
        readings.append(StoredReading.of(meter, class_id, obis, attribute, capture_time,
                                         reading.value))  # fmt: skip
    failures: tuple[StoredFailure, ...] = ()
    if result.failure is not None:
        error = result.failure.error
        failures = (
            StoredFailure(meter, utc(capture_time), result.failure.step, type(error).__name__,
                          str(error) or type(error).__name__),
        )  # fmt: skip
    return StoreBatch(tuple(readings), tuple(rows), failures, tuple(positions))


def _object_of(item: Any) -> tuple[int, str, int]:
    if isinstance(item, ReadRegister):
        return item.class_id, str(item.obis), 2
    if isinstance(item, ReadClock):
        return 8, str(item.obis), 2
    if isinstance(item, ReadAttribute):
        return item.class_id, str(item.obis), item.attribute
    if isinstance(item, ReadShortName):
        return 0, item.key, 0
    raise TypeError(f"no stored object for plan item {item!r}")


class StoreWriter:
    """Writes results to ``store`` in batches: one transaction per ``batch_size`` meters,
    and at the end of every cycle (when each of ``meters_per_cycle`` results is in), each
    batch with the positions of its profile rows. ``capture_time(result)`` gives the time
    plain values are stored under (the cycle's slot). ``on_write(seconds, rows)`` is told
    each write's latency."""

    def __init__(
        self,
        store: ReadingStore,
        *,
        capture_time: Callable[[MeterResult], dt.datetime],
        meters_per_cycle: int = 0,
        batch_size: int = 200,
        on_write: Callable[[float, int], None] | None = None,
    ) -> None:
        self.store = store
        self.capture_time = capture_time
        self.meters_per_cycle = meters_per_cycle
        self.batch_size = batch_size
        self.on_write = on_write
        self.rows_written = 0
        self.batches_written = 0
        self._pending: list[StoreBatch] = []
        self._seen: Counter[int] = Counter()

    async def add(self, result: MeterResult) -> None:
        """Queue one meter's outcome; write when a batch is full or the cycle complete."""
        self._pending.append(result_batch(result, self.capture_time(result)))
        self._seen[result.cycle] += 1
        cycle_done = self.meters_per_cycle and self._seen[result.cycle] >= self.meters_per_cycle
        if cycle_done:
            del self._seen[result.cycle]
        if len(self._pending) >= self.batch_size or cycle_done:
            await self.flush()

    async def flush(self) -> None:
        """Write what is queued, in one transaction."""
        if not self._pending:
            return
        batch = StoreBatch.join(self._pending)
        started = time.perf_counter()
        await self.store.write(batch)
        self._pending.clear()
        self.rows_written += len(batch)
        self.batches_written += 1
        if self.on_write is not None:
            self.on_write(time.perf_counter() - started, len(batch))

    @property
    def counts(self) -> Mapping[str, int]:
        return {"rows": self.rows_written, "batches": self.batches_written}
