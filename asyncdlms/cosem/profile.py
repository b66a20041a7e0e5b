"""Profile generic (class 7): capture objects, buffer rows and selective access.

``capture_objects`` (attribute 3) is an array of ``capture_object_definition ::= structure
{class_id long-unsigned, logical_name octet-string, attribute_index integer, data_index
long-unsigned}``: :func:`parse_capture_objects` gives :class:`CaptureObject` values.
``buffer`` (attribute 2) is an array (or compact-array) of structures, one column per capture
object: :func:`parse_buffer` gives :class:`ProfileRow` values keyed by capture object.

Null timestamps (quirk 10, behaviour 9). To save bytes some meters (Actaris SL7000/ACE6000
and others) send null-data in the clock column of every row whose time follows from the
previous one. :func:`parse_buffer` then gives the row the previous row's timestamp plus the
capture period (minus it when the sort method is LIFO, the newest row first); a capture
period of 0 (asynchronous capture) counts as 1 hour, as those meters mean. An empty
octet-string and a date-time with unspecified fields count as null. A null timestamp in
the first row (nothing to derive it from) stays ``None`` — and so does every following null
until a real timestamp arrives. Derived timestamps are flagged
(:attr:`ProfileRow.timestamp_derived`). Parsing never raises for a null.

Null values in other columns are kept as ``None`` by default; ``fill_null_values=True``
gives them the previous row's value instead (meters that skip unchanged values).

Capture period: the Blue Book gives it in seconds. (dlms-cosem's parser reads it as
minutes: its test of the shared vector ``dlmscosem-axdr-profile-buffer-4rows`` gives
``capture_period=60`` and expects rows an hour apart; here 60 gives rows 60 s apart and
3600 gives an hour.)
"""

from __future__ import annotations

import datetime
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import repeat
from typing import Any, Final

from ..apdu.descriptors import (
    SelectiveAccessDescriptor,
    entry_descriptor,
    range_descriptor,
)
from ..errors import DlmsError
from ..obis import Obis
from ..types.clock import DateTime, DeviationSign, datetime_from_octets, datetimes_from_octets
from ..types.values import (
    INTEGER_TYPES,
    CompactArray,
    Float32,
    Float64,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
)
from .classes import attribute_name
from .clock import decode_clock_time
from .errors import CosemValueError
from .units import Quantity, ScalerUnit, Unit

__all__ = [
    "CLOCK_CAPTURE_OBJECT",
    "DEFAULT_CAPTURE_PERIOD",
    "CaptureObject",
    "ProfileGenericSettings",
    "ProfileRow",
    "SortMethod",
    "entry_selection",
    "parse_buffer",
    "parse_capture_objects",
    "parse_sort_method",
    "range_selection",
    "selected_columns",
]

DEFAULT_CAPTURE_PERIOD: Final = datetime.timedelta(hours=1)
"""The step used for null timestamps when the capture period is 0."""


class SortMethod(IntEnum):
    """Profile generic attribute 5 ``sort_method``."""

    FIFO = 1
    """First in, first out: the oldest row first (the default)."""
    LIFO = 2
    """Last in, first out: the newest row first."""
    LARGEST = 3
    SMALLEST = 4
    NEAREST_TO_ZERO = 5
    FAREST_FROM_ZERO = 6


def parse_sort_method(value: object) -> SortMethod | int:
    """Attribute 5 as :class:`SortMethod` (an unknown code stays an int)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise CosemValueError(f"sort_method must be an enum, got {value!r}")
    return SortMethod(value) if value in SortMethod._value2member_map_ else int(value)


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CosemValueError(f"{what} must be an integer, got {value!r}")
    return int(value)


def _obis(value: object, what: str) -> Obis:
    if isinstance(value, Obis):
        return value
    if not isinstance(value, (bytes, bytearray)) or len(value) != 6:
        raise CosemValueError(f"{what} must be an octet-string of 6 bytes, got {value!r}")
    return Obis.from_bytes(value)


@dataclass(frozen=True, slots=True, order=True)
class CaptureObject:
    """One column of a profile: the attribute (and element, ``data_index``) it captures.

    ``str()`` gives ``class_id/logical_name/attribute_index`` (``/data_index`` when not 0),
    e.g. ``"3/1.0.1.8.0.255/2"``.
    """

    class_id: int
    logical_name: Obis
    attribute_index: int
    data_index: int = 0

    def __post_init__(self) -> None:
        if type(self.logical_name) is not Obis:
            object.__setattr__(self, "logical_name", Obis(self.logical_name))

    @classmethod
    def from_value(cls, value: object) -> CaptureObject:
        """Read a decoded ``capture_object_definition`` (a 4-structure; a 3-structure
        without data_index, as some meters send, reads as data_index 0)."""
        if not isinstance(value, (tuple, list)) or len(value) not in (3, 4):
            raise CosemValueError(
                f"a capture_object_definition is a structure of 4 elements, got {value!r}"
            )
        return cls(
            _int(value[0], "class_id"),
            _obis(value[1], "logical_name"),
            _int(value[2], "attribute_index"),
            _int(value[3], "data_index") if len(value) == 4 else 0,
        )

    def to_value(self) -> Structure:
        """The ``capture_object_definition`` structure to send."""
        return Structure(
            (
                LongUnsigned(self.class_id),
                OctetString(self.logical_name.to_bytes()),
                Integer(self.attribute_index),
                LongUnsigned(self.data_index),
            )
        )

    @property
    def attribute_name(self) -> str:
        """The Blue Book name of the captured attribute (``attribute_<n>`` if unknown)."""
        return attribute_name(self.class_id, self.attribute_index)

    @property
    def is_clock(self) -> bool:
        """True for the time of a Clock object (class 8, attribute 2)."""
        return self.class_id == 8 and self.attribute_index == 2

    def __str__(self) -> str:
        text = f"{self.class_id}/{self.logical_name}/{self.attribute_index}"
        return text if self.data_index == 0 else f"{text}/{self.data_index}"


CLOCK_CAPTURE_OBJECT: Final = CaptureObject(8, Obis(0, 0, 1, 0, 0, 255), 2, 0)
"""The usual restricting object of a range selection: the time of clock 0.0.1.0.0.255."""


def parse_capture_objects(value: object) -> tuple[CaptureObject, ...]:
    """Attribute 3 ``capture_objects`` as :class:`CaptureObject` values."""
    if not isinstance(value, (tuple, list)):
        raise CosemValueError(f"capture_objects must be an array, got {value!r}")
    return tuple(CaptureObject.from_value(item) for item in value)


def selected_columns(
    capture_objects: Sequence[CaptureObject],
    from_selected_value: int = 1,
    to_selected_value: int = 0,
) -> tuple[CaptureObject, ...]:
    """The columns an entry selection returns (1-based, ``to_selected_value`` 0: the last)."""
    last = len(capture_objects) if to_selected_value == 0 else to_selected_value
    return tuple(capture_objects[max(from_selected_value, 1) - 1 : last])


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One row of a profile buffer: converted values keyed by capture object.

    ``values`` are the converted values in column order (the clock column as a Python
    ``datetime``, or the :class:`~asyncdlms.types.DateTime` when it names no single instant;
    scaled columns as :class:`~asyncdlms.cosem.units.Quantity`), ``raw`` the values as
    decoded. ``row["3/1.0.1.8.0.255/2"]`` and ``row[Obis(...)]`` (the first column of that
    object) work too.
    """

    columns: tuple[CaptureObject, ...]
    values: tuple[Any, ...]
    raw: tuple[Any, ...]
    timestamp: datetime.datetime | DateTime | None = None
    timestamp_derived: bool = False
    _index: Mapping[object, int] = field(default_factory=dict, repr=False, compare=False)

    def _position(self, key: object) -> int:
        index = self._index.get(key)
        if index is not None:
            return index
        for position, column in enumerate(self.columns):
            if key == column or key == str(column) or key == column.logical_name:
                return position
        if isinstance(key, str):
            try:
                obis = Obis(key)
            except DlmsError:
                raise KeyError(key) from None
            return self._position(obis)
        raise KeyError(key)

    def __getitem__(self, key: object) -> Any:
        return self.values[self._position(key)]

    def get(self, key: object, default: Any = None) -> Any:
        """The value of a column, or ``default`` when the row has no such column."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        try:
            self._position(key)
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[CaptureObject]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def as_dict(self) -> dict[CaptureObject, Any]:
        """The row as ``{capture object: converted value}``."""
        return dict(zip(self.columns, self.values, strict=True))


def _scaler_for(
    column: CaptureObject, scaler_units: Mapping[Any, ScalerUnit | Sequence[object]]
) -> ScalerUnit | None:
    found = scaler_units.get(column)
    if found is None and column.attribute_index in (2, 3):
        found = scaler_units.get(column.logical_name)
        if found is None:
            found = scaler_units.get(str(column.logical_name))
    if found is None or isinstance(found, ScalerUnit):
        return found
    return ScalerUnit.from_value(found)


def _rows_of(buffer: object) -> Sequence[object]:
    if isinstance(buffer, CompactArray):
        return buffer.elements
    if isinstance(buffer, (tuple, list)):
        return buffer
    raise CosemValueError(f"a profile buffer is an array of structures, got {buffer!r}")


def _timestamp(value: object, sign: DeviationSign | int) -> datetime.datetime | DateTime | None:
    """The row's time, or None when it is null or names no single instant."""
    try:
        date_time = decode_clock_time(value)
    except CosemValueError:
        return None
    if date_time is None:
        return None
    try:
        return date_time.to_datetime(deviation_sign=sign)
    except DlmsError:
        return None


def parse_buffer(
    buffer: object,
    capture_objects: Sequence[CaptureObject],
    *,
    capture_period: int | datetime.timedelta = 0,
    sort_method: SortMethod | int = SortMethod.FIFO,
    scaler_units: Mapping[Any, ScalerUnit | Sequence[object]] | None = None,
    deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
    timestamp_column: int | None = None,
    fill_null_values: bool = False,
) -> tuple[ProfileRow, ...]:
    """Turn a decoded ``buffer`` into :class:`ProfileRow` values.

    ``capture_objects`` are the buffer's columns (all of attribute 3, or those a selective
    access selected). ``capture_period`` is attribute 4 (seconds) and ``sort_method``
    attribute 5; they give the timestamps of rows sent with a null one (see the module
    documentation). ``scaler_units`` maps a :class:`CaptureObject`, or the logical name of a
    register whose value (attribute 2, or 3 for a demand register's last average) is
    captured, to its scaler_unit: those columns become :class:`Quantity` values.
    ``timestamp_column`` is the index of the time column; by default the first Clock time
    (class 8, attribute 2) column, if any. ``deviation_sign`` is the meter's convention.

    Raises :class:`CosemValueError` when the buffer is not an array of structures or a row
    has another number of columns than ``capture_objects``.
    """
    columns = tuple(capture_objects)
    if timestamp_column is None:
        timestamp_column = next(
            (index for index, column in enumerate(columns) if column.is_clock), None
        )
    elif not 0 <= timestamp_column < max(len(columns), 1):
        raise CosemValueError(f"timestamp_column {timestamp_column} is not a column")
    period = (
        capture_period
        if isinstance(capture_period, datetime.timedelta)
        else datetime.timedelta(seconds=_int(capture_period, "capture_period"))
    )
    if period <= datetime.timedelta(0):
        period = DEFAULT_CAPTURE_PERIOD
    if sort_method == SortMethod.LIFO:
        period = -period
    scalers = [_scaler_for(column, scaler_units or {}) for column in columns]
    index: dict[object, int] = {}
    for position, column in enumerate(columns):
        index.setdefault(column, position)
        index.setdefault(str(column), position)
        index.setdefault(column.logical_name, position)

    # Per column, once: the scaled columns with their scaler and unit (Quantity's own checks
    # done here, so each value is one allocation), the other columns a null may be filled in.
    scaled = [
        (position, scaler.scaler, _quantity_unit(scaler.unit))
        for position, scaler in enumerate(scalers)
        if scaler is not None and position != timestamp_column
    ]
    fillable = [position for position in range(len(columns)) if position != timestamp_column]
    buffer_rows = _rows_of(buffer)
    if not fill_null_values:
        plain = _parse_plain(buffer_rows, columns, timestamp_column, scaled, deviation_sign, index)
        if plain is not None:
            return plain
    column_count = len(columns)
    rows: list[ProfileRow] = []
    append = rows.append
    previous_time: datetime.datetime | None = None
    previous_values: list[Any] = [None] * column_count
    for number, raw_row in enumerate(buffer_rows, start=1):
        if not isinstance(raw_row, (tuple, list)):
            raise CosemValueError(f"row {number} of the buffer is not a structure: {raw_row!r}")
        if len(raw_row) != column_count:
            raise CosemValueError(
                f"row {number} of the buffer has {len(raw_row)} values for "
                f"{column_count} capture objects"
            )
        values: list[Any] = list(raw_row)
        timestamp: datetime.datetime | DateTime | None = None
        derived = False
        if fill_null_values:
            for position in fillable:
                if values[position] is None:
                    values[position] = previous_values[position]
        for position, power, unit in scaled:
            raw = raw_row[position]
            if raw.__class__ in _INTEGER_CLASSES or (
                isinstance(raw, (int, float)) and not isinstance(raw, bool)
            ):
                values[position] = _quantity(raw, power, unit)
        if timestamp_column is not None:
            raw_time = raw_row[timestamp_column]
            kind = raw_time.__class__
            if kind is DateTime:
                octets = raw_time.to_bytes()
            elif (kind is OctetString or kind is bytes) and len(raw_time) == DateTime.SIZE:
                octets = raw_time
            else:
                octets = None
            if octets is not None:  # the usual capture time: straight to a datetime
                try:
                    timestamp = datetime_from_octets(octets, deviation_sign)
                except DlmsError:
                    timestamp = None
            else:
                timestamp = _timestamp(raw_time, deviation_sign)
            if timestamp is None:
                if previous_time is not None:
                    try:
                        timestamp = previous_time + period
                        derived = True
                    except OverflowError:  # a capture period that runs past year 9999 or 1
                        timestamp = None
                elif isinstance(raw_time, (bytes, bytearray, DateTime)) and raw_time:
                    # Not convertible and nothing to derive from: keep the COSEM value.
                    try:
                        timestamp = decode_clock_time(raw_time)
                    except CosemValueError:
                        timestamp = None
            values[timestamp_column] = timestamp
            previous_time = timestamp if isinstance(timestamp, datetime.datetime) else None
        previous_values = values
        row = _new(ProfileRow)
        _ROW_COLUMNS(row, columns)
        _ROW_VALUES(row, tuple(values))
        _ROW_RAW(row, tuple(raw_row))
        _ROW_TIMESTAMP(row, timestamp)
        _ROW_TIMESTAMP_DERIVED(row, derived)
        _ROW_INDEX(row, index)
        append(row)
    return tuple(rows)


def _parse_plain(
    buffer_rows: Sequence[object],
    columns: tuple[CaptureObject, ...],
    timestamp_column: int | None,
    scaled: Sequence[tuple[int, int, Unit | int]],
    deviation_sign: DeviationSign | int,
    index: Mapping[object, int],
) -> tuple[ProfileRow, ...] | None:
    """:func:`parse_buffer` column by column for the usual buffer: structures of the right
    size, every capture time an ordinary instant (nothing to derive), numbers in the scaled
    columns. ``None`` for any other buffer, which parse_buffer then reads row by row."""
    count = len(buffer_rows)
    if not count or not _ROW_CLASSES.issuperset(map(type, buffer_rows)):
        return None
    rows: Sequence[Sequence[Any]] = buffer_rows  # type: ignore[assignment]
    if set(map(len, rows)) != {len(columns)}:
        return None
    value_columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    stamps: Sequence[datetime.datetime | None] = [None] * count
    if timestamp_column is not None:
        times = value_columns[timestamp_column]
        kinds = set(map(type, times))
        if kinds.issubset(_OCTETS_CLASSES):
            octets: Sequence[bytes] = times
        elif kinds == {DateTime}:
            octets = list(map(DateTime.to_bytes, times))
        else:
            return None
        converted = datetimes_from_octets(octets, deviation_sign)
        if converted is None:
            return None
        value_columns[timestamp_column] = stamps = converted
    for position, power, unit in scaled:
        column = value_columns[position]
        if not _NUMBER_CLASSES.issuperset(map(type, column)):
            return None
        quantities = list(map(_new, repeat(Quantity, count)))
        _consume(map(_QUANTITY_RAW_VALUE, quantities, column))
        _consume(map(_QUANTITY_SCALER, quantities, repeat(power)))
        _consume(map(_QUANTITY_UNIT, quantities, repeat(unit)))
        value_columns[position] = quantities
    made = list(map(_new, repeat(ProfileRow, count)))
    _consume(map(_ROW_COLUMNS, made, repeat(columns)))
    _consume(map(_ROW_VALUES, made, zip(*value_columns, strict=True)))
    _consume(map(_ROW_RAW, made, map(tuple, rows)))
    _consume(map(_ROW_TIMESTAMP, made, stamps))
    _consume(map(_ROW_TIMESTAMP_DERIVED, made, repeat(False)))
    _consume(map(_ROW_INDEX, made, repeat(index)))
    return tuple(made)


_new = object.__new__
_consume: Callable[[Iterable[object]], None] = deque[object](maxlen=0).extend
"""Run an iterator to its end (a map of a slot setter) at C speed."""
# ProfileRow's slot setters: parse_buffer fills the rows it made itself without the frozen
# dataclass __init__ (six object.__setattr__ calls a row).
_ROW_COLUMNS = ProfileRow.__dict__["columns"].__set__
_ROW_VALUES = ProfileRow.__dict__["values"].__set__
_ROW_RAW = ProfileRow.__dict__["raw"].__set__
_ROW_TIMESTAMP = ProfileRow.__dict__["timestamp"].__set__
_ROW_TIMESTAMP_DERIVED = ProfileRow.__dict__["timestamp_derived"].__set__
_ROW_INDEX = ProfileRow.__dict__["_index"].__set__
_QUANTITY_RAW_VALUE = Quantity.__dict__["raw_value"].__set__
_QUANTITY_SCALER = Quantity.__dict__["scaler"].__set__
_QUANTITY_UNIT = Quantity.__dict__["unit"].__set__
_INTEGER_CLASSES: Final = frozenset(INTEGER_TYPES.values())
_NUMBER_CLASSES: Final = _INTEGER_CLASSES | {int, float, Float32, Float64}
_ROW_CLASSES: Final = frozenset({Structure, tuple, list})
_OCTETS_CLASSES: Final = frozenset({OctetString, bytes})


def _quantity_unit(unit: Unit | int) -> Unit | int:
    """The unit as :class:`Quantity` keeps it (a known code as a :class:`Unit`)."""
    return Quantity(0, 0, unit).unit


def _quantity(raw: int | float, scaler: int, unit: Unit | int) -> Quantity:
    """``Quantity(raw, scaler, unit)`` for a number and a unit :func:`_quantity_unit` gave."""
    quantity = _new(Quantity)
    _QUANTITY_RAW_VALUE(quantity, raw)
    _QUANTITY_SCALER(quantity, scaler)
    _QUANTITY_UNIT(quantity, unit)
    return quantity


def _bound(value: datetime.datetime | DateTime, sign: DeviationSign | int) -> DateTime:
    if isinstance(value, DateTime):
        return value
    if not isinstance(value, datetime.datetime):
        raise CosemValueError(f"a range bound is a datetime or a DateTime, got {value!r}")
    return DateTime.from_datetime(value, deviation_sign=sign)


def range_selection(
    start: datetime.datetime | DateTime,
    end: datetime.datetime | DateTime,
    *,
    restricting_object: CaptureObject = CLOCK_CAPTURE_OBJECT,
    selected_values: Sequence[CaptureObject] = (),
    deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
) -> SelectiveAccessDescriptor:
    """Selective access by range (selector 1) for ``read_profile(obis, start=, end=)``.

    Rows whose ``restricting_object`` (the clock by default) lies in ``start..end``; an
    aware bound is sent with its deviation (in the meter's ``deviation_sign``), a naive one
    with the deviation not specified (the meter's local time, which several meters assume
    anyway). ``selected_values`` picks columns (empty: all).
    """
    return range_descriptor(
        restricting_object.to_value(),
        _bound(start, deviation_sign),
        _bound(end, deviation_sign),
        [column.to_value() for column in selected_values],
    )


def entry_selection(
    from_entry: int,
    to_entry: int = 0,
    from_selected_value: int = 1,
    to_selected_value: int = 0,
) -> SelectiveAccessDescriptor:
    """Selective access by entry (selector 2): rows ``from_entry..to_entry`` (1-based, 0:
    the last) and columns ``from_selected_value..to_selected_value`` (0: the last)."""
    if from_entry < 1 and from_entry != 0:
        raise CosemValueError(f"from_entry is 1-based, got {from_entry}")
    return entry_descriptor(from_entry, to_entry, from_selected_value, to_selected_value)


@dataclass(frozen=True, slots=True)
class ProfileGenericSettings:
    """Profile generic attributes 3..8 read together; :meth:`parse` turns a buffer into
    rows with them.

    ``capture_period`` is in seconds (0: asynchronous capture); ``sort_object`` is ``None``
    when the meter gives none (class id 0, as the Blue Book's default).
    """

    capture_objects: tuple[CaptureObject, ...] = ()
    capture_period: int = 0
    sort_method: SortMethod | int = SortMethod.FIFO
    sort_object: CaptureObject | None = None
    entries_in_use: int | None = None
    profile_entries: int | None = None

    @classmethod
    def from_values(cls, values: Mapping[int, object]) -> ProfileGenericSettings:
        """Read ``{attribute number: decoded value}`` (missing attributes keep defaults)."""
        sort_object: CaptureObject | None = None
        raw_sort_object = values.get(6)
        if raw_sort_object is not None:
            sort_object = CaptureObject.from_value(raw_sort_object)
            if sort_object.class_id == 0:
                sort_object = None
        method = values.get(5)
        entries_in_use, profile_entries = values.get(7), values.get(8)
        return cls(
            parse_capture_objects(values.get(3, ())),
            _int(values.get(4, 0), "capture_period"),
            SortMethod.FIFO if method is None else parse_sort_method(method),
            sort_object,
            None if entries_in_use is None else _int(entries_in_use, "entries_in_use"),
            None if profile_entries is None else _int(profile_entries, "profile_entries"),
        )

    @property
    def clock_column(self) -> CaptureObject | None:
        """The first Clock time column (the usual restricting object of a range read)."""
        return next((column for column in self.capture_objects if column.is_clock), None)

    def parse(
        self,
        buffer: object,
        *,
        columns: Sequence[CaptureObject] | None = None,
        scaler_units: Mapping[Any, ScalerUnit | Sequence[object]] | None = None,
        deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
        fill_null_values: bool = False,
    ) -> tuple[ProfileRow, ...]:
        """:func:`parse_buffer` with these settings; ``columns`` are the selected columns
        when a selective access picked some (all capture objects by default)."""
        return parse_buffer(
            buffer,
            self.capture_objects if columns is None else columns,
            capture_period=self.capture_period,
            sort_method=self.sort_method,
            scaler_units=scaler_units,
            deviation_sign=deviation_sign,
            fill_null_values=fill_null_values,
        )
