"""What a store keeps: :class:`StoredReading` (one value of one object at one capture
time), :class:`StoredProfileRow` (one row of a Profile generic), :class:`StoredFailure` (a
meter that could not be read) and :class:`ProfilePosition` (the last capture time stored for
a meter's profile), written together as a :class:`StoreBatch` in one transaction."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..cosem.units import Quantity
from ..errors import DlmsError
from ..types import DateTime

__all__ = [
    "BatchRows",
    "ProfilePosition",
    "Source",
    "StoreBatch",
    "StoredFailure",
    "StoredProfileRow",
    "StoredReading",
    "encode_value",
    "utc",
]


class Source(enum.StrEnum):
    """How a value reached the head-end."""

    POLL = "poll"
    PUSH = "push"


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def encode_value(value: Any) -> tuple[Any, float | None, str]:
    """A decoded value as ``(JSON-ready data, number or None, unit symbol)``: a
    :class:`~asyncdlms.cosem.Quantity` gives its scaled number and unit; plain numbers
    give themselves; octet strings are hex; date-times ISO 8601."""
    if isinstance(value, Quantity):
        number = float(value.value)
        return number, number, value.symbol
    data = _to_json(value)
    if isinstance(data, bool):
        return data, None, ""
    if isinstance(data, int | float) and math.isfinite(float(data)):
        return data, float(data), ""
    return data, None, ""


def _to_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return _to_json(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Quantity):
        return float(value.value)
    if isinstance(value, DateTime):
        try:
            return value.to_datetime().isoformat()
        except DlmsError:
            return str(value)
    elements = getattr(value, "elements", None)  # compact arrays
    if elements is not None and not isinstance(value, list | tuple):
        value = elements
    if isinstance(value, list | tuple):
        return [_to_json(item) for item in value]
    return str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=str)
_COLUMN_TEXTS: dict[tuple[str, ...], str] = {}


def dumps(data: Any) -> str:
    """Compact JSON text, the stored form of values."""
    return _ENCODER.encode(data)


def dumps_columns(columns: tuple[str, ...]) -> str:
    """The JSON text of a profile's column names (the same few tuples again and again)."""
    text = _COLUMN_TEXTS.get(columns)
    if text is None:
        if len(_COLUMN_TEXTS) > 1024:
            _COLUMN_TEXTS.clear()
        text = _COLUMN_TEXTS[columns] = _ENCODER.encode(list(columns))
    return text


@dataclass(frozen=True, slots=True)
class StoredReading:
    """One value: ``meter``, the object (``class_id``/``obis``/``attribute``; a short-name
    variable is ``class_id`` 0 with ``obis`` ``sn:0x0108``), ``capture_time`` (UTC),
    ``value`` (JSON-ready data), ``number`` (the value as a float when it is one, scaled),
    ``unit`` (symbol, ``""`` for none), ``status`` and ``source`` (poll/push). The natural
    key is (meter, class_id, obis, attribute, capture_time)."""

    meter: str
    class_id: int
    obis: str
    attribute: int
    capture_time: dt.datetime
    value: Any
    number: float | None = None
    unit: str = ""
    status: str = "ok"
    source: Source = Source.POLL

    @classmethod
    def of(
        cls,
        meter: str,
        class_id: int,
        obis: object,
        attribute: int,
        capture_time: dt.datetime,
        value: Any,
        *,
        status: str = "ok",
        source: Source = Source.POLL,
    ) -> StoredReading:
        """A reading from a decoded value (a Quantity keeps its unit)."""
        data, number, unit = encode_value(value)
        return cls(
            meter, class_id, str(obis), attribute, utc(capture_time), data, number, unit,
            status, Source(source),
        )  # fmt: skip

    @property
    def object(self) -> str:
        """``class/OBIS/attribute``."""
        return f"{self.class_id}/{self.obis}/{self.attribute}"


@dataclass(frozen=True, slots=True)
class StoredProfileRow:
    """One row of a Profile generic: ``profile`` (its OBIS), ``capture_time`` (the clock
    column, UTC), ``columns`` (``class/OBIS/attribute`` of each capture object) and
    ``values`` (JSON-ready, in column order). Natural key (meter, profile, capture_time)."""

    meter: str
    profile: str
    capture_time: dt.datetime
    columns: tuple[str, ...]
    values: tuple[Any, ...]
    status: str = "ok"
    source: Source = Source.POLL

    def numbers(self) -> list[float | None]:
        """Each column as a float where it is a number (``None`` elsewhere)."""
        out: list[float | None] = []
        for value in self.values:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            out.append(float(value) if ok else None)
        return out


@dataclass(frozen=True, slots=True)
class StoredFailure:
    """A meter not (completely) read: when, the ``step`` that failed, the ``cause`` (the
    error's type name) and its message. Natural key (meter, occurred_at, step)."""

    meter: str
    occurred_at: dt.datetime
    step: str
    cause: str
    message: str
    source: Source = Source.POLL


@dataclass(frozen=True, slots=True)
class ProfilePosition:
    """The last capture time stored for ``meter``'s ``profile`` (its OBIS): the next read
    starts there. Written in the transaction of the rows it follows; it never goes back."""

    meter: str
    profile: str
    last_capture_time: dt.datetime


@dataclass(frozen=True, slots=True)
class StoreBatch:
    """What one transaction writes: readings, profile rows, failures and positions."""

    readings: tuple[StoredReading, ...] = ()
    profile_rows: tuple[StoredProfileRow, ...] = ()
    failures: tuple[StoredFailure, ...] = ()
    positions: tuple[ProfilePosition, ...] = field(default_factory=tuple)

    @classmethod
    def join(cls, batches: Iterable[StoreBatch]) -> StoreBatch:
        """Several batches as one."""
        readings: list[StoredReading] = []
        rows: list[StoredProfileRow] = []
        failures: list[StoredFailure] = []
        positions: list[ProfilePosition] = []
        for batch in batches:
            readings += batch.readings
            rows += batch.profile_rows
            failures += batch.failures
            positions += batch.positions
        return cls(tuple(readings), tuple(rows), tuple(failures), tuple(positions))

    def __len__(self) -> int:
        return len(self.readings) + len(self.profile_rows) + len(self.failures)

    @property
    def empty(self) -> bool:
        return not (self.readings or self.profile_rows or self.failures or self.positions)


def merged_positions(positions: Sequence[ProfilePosition]) -> list[ProfilePosition]:
    """One position per (meter, profile), the latest."""
    latest: dict[tuple[str, str], ProfilePosition] = {}
    for position in positions:
        key = (position.meter, position.profile)
        known = latest.get(key)
        if known is None or utc(position.last_capture_time) > utc(known.last_capture_time):
            latest[key] = position
    return list(latest.values())


@dataclass(frozen=True, slots=True)
class BatchRows:
    """A batch as the rows of the four tables, capture times made by ``stamp`` (what each
    database takes: an aware datetime, or ISO 8601 text)."""

    readings: list[tuple[Any, ...]]
    profile_rows: list[tuple[Any, ...]]
    failures: list[tuple[Any, ...]]
    positions: list[tuple[Any, ...]]

    @classmethod
    def of(cls, batch: StoreBatch, stamp: Callable[[dt.datetime], Any]) -> BatchRows:
        """The rows of ``batch`` (positions merged: one per meter and profile)."""
        return cls(
            [
                (r.meter, r.class_id, r.obis, r.attribute, stamp(r.capture_time),
                 dumps(r.value), r.number, r.unit, r.status, str(r.source))
                for r in batch.readings
            ],
            [
                (r.meter, r.profile, stamp(r.capture_time), dumps_columns(r.columns),
                 dumps(list(r.values)), r.status, str(r.source))
                for r in batch.profile_rows
            ],
            [
                (f.meter, stamp(f.occurred_at), f.step, f.cause, f.message, str(f.source))
                for f in batch.failures
            ],
            [
                (p.meter, p.profile, stamp(p.last_capture_time))
                for p in merged_positions(batch.positions)
            ],
        )  # fmt: skip
